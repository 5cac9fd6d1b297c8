"""CPython ThreadPoolExecutor figures for the concur thread benches.

Usage: python3 thread_pool.py roundtrip|submit_many|primes [n]

Prints one JSON object on stdout, with the median in nanoseconds per
operation ("median_ns") and what was measured, e.g.
{"bench": "roundtrip", "median_ns": 66000.0, "samples": 15, ...}
"""

import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor



# `cargo xtask bench --quick` sets CONCUR_BENCH_QUICK: fewer samples.
QUICK = bool(__import__("os").environ.get("CONCUR_BENCH_QUICK"))


def _samples(full, quick):
    return quick if QUICK else full

def noop():
    return None


def roundtrip(samples=_samples(15, 5), iters=2000):
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(200):  # warm up: start the worker
            pool.submit(noop).result()
        per_op = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            for _ in range(iters):
                pool.submit(noop).result()
            per_op.append((time.perf_counter_ns() - t0) / iters)
    return {"bench": "roundtrip", "median_ns": statistics.median(per_op),
            "samples": samples, "iters": iters}


def submit_many(n=100_000, samples=_samples(3, 1)):
    per_op = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            futs = [pool.submit(noop) for _ in range(n)]
            for f in futs:
                f.result()
            per_op.append((time.perf_counter_ns() - t0) / n)
    return {"bench": "submit_many", "median_ns": statistics.median(per_op),
            "n": n, "samples": samples}


def count_primes(job, limit, jobs=4):
    """Primes k < limit with k % (2 * jobs) == 2 * job + 1, plus 2 for job
    0: one residue class of odd numbers each, so equal work per job."""
    count = 1 if job == 0 else 0
    for k in range(2 * job + 1, limit, 2 * jobs):
        if k < 3:
            continue
        d = 3
        prime = True
        while d * d <= k:
            if k % d == 0:
                prime = False
                break
            d += 2
        if prime:
            count += 1
    return count


def primes(limit=100_000, samples=_samples(3, 1)):
    seq, par = [], []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            total_seq = sum(count_primes(j, limit) for j in range(4))
            seq.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            futs = [pool.submit(count_primes, j, limit) for j in range(4)]
            total_par = sum(f.result() for f in futs)
            par.append(time.perf_counter_ns() - t0)
            assert total_seq == total_par
    s, p = statistics.median(seq), statistics.median(par)
    return {"bench": "primes", "median_ns": p, "sequential_ns": s,
            "speedup": s / p, "limit": limit, "primes": total_par,
            "samples": samples}


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "roundtrip"
    if what == "roundtrip":
        out = roundtrip()
    elif what == "submit_many":
        out = submit_many(int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
    elif what == "primes":
        out = primes(int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
    else:
        sys.exit(f"unknown bench {what!r}")
    out["python"] = sys.version.split()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
