"""CPython ProcessPoolExecutor figures for the concur process benches.

Usage: python3 process_pool.py roundtrip|map|primes|startup [arg]

  roundtrip          submit -> result of a tiny function, one at a time
  map CHUNKSIZE      executor.map over 20000 (chunksize 1) or 200000 inputs
  primes WORKERS     count primes below 2_000_000 in 8 equal jobs
  startup            create a pool and wait until 2 workers answered
  payload MODE       a 100 MB bytes object as argument or as result

Prints one JSON object with "median_ns" (per operation / per item / per
run) and what was measured.
"""

import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor



# `cargo xtask bench --quick` sets CONCUR_BENCH_QUICK: fewer samples.
QUICK = bool(__import__("os").environ.get("CONCUR_BENCH_QUICK"))


def _samples(full, quick):
    return quick if QUICK else full

def square(x):
    return x * x


def count_primes(job, limit=2_000_000, jobs=8):
    count = 1 if job == 2 else 0
    for k in range(job, limit, jobs):
        if k < 3 or k % 2 == 0:
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


def roundtrip(samples=_samples(11, 5), iters=300):
    with ProcessPoolExecutor(max_workers=1) as pool:
        for _ in range(100):
            pool.submit(square, 3).result()
        per_op = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            for i in range(iters):
                pool.submit(square, i).result()
            per_op.append((time.perf_counter_ns() - t0) / iters)
    return {"bench": "roundtrip", "median_ns": statistics.median(per_op)}


def map_(chunksize, samples=_samples(3, 1)):
    n = 20_000 if chunksize == 1 else 200_000
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(square, range(1000), chunksize=chunksize))
        per_item = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            total = sum(pool.map(square, range(n), chunksize=chunksize))
            per_item.append((time.perf_counter_ns() - t0) / n)
            assert total == sum(x * x for x in range(n))
    return {"bench": "map", "chunksize": chunksize, "n": n,
            "median_ns": statistics.median(per_item)}


def primes(workers, samples=_samples(3, 1)):
    runs = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(square, range(workers * 4)))
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            total = sum(pool.map(count_primes, range(8)))
            runs.append(time.perf_counter_ns() - t0)
    return {"bench": "primes", "workers": workers, "count": total,
            "median_ns": statistics.median(runs)}


def startup(samples=_samples(7, 3)):
    runs = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        with ProcessPoolExecutor(max_workers=2) as pool:
            futs = [pool.submit(square, i) for i in range(2)]
            for f in futs:
                f.result()
            runs.append(time.perf_counter_ns() - t0)
    return {"bench": "startup", "median_ns": statistics.median(runs)}


PAYLOAD = 100 << 20


def make_bytes(n):
    return b"\x07" * n


def payload(mode, samples=_samples(7, 3)):
    data = b"\x07" * PAYLOAD
    with ProcessPoolExecutor(max_workers=1) as ex:
        ex.submit(square, 1).result()
        runs = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            if mode == "argument":
                assert ex.submit(len, data).result() == PAYLOAD
            else:
                assert len(ex.submit(make_bytes, PAYLOAD).result()) == PAYLOAD
            runs.append(time.perf_counter_ns() - t0)
    return {"bench": f"payload {mode}", "median_ns": statistics.median(runs)}


if __name__ == "__main__":
    what = sys.argv[1]
    arg = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else None
    if what == "roundtrip":
        out = roundtrip()
    elif what == "map":
        out = map_(arg or 1)
    elif what == "primes":
        out = primes(arg or 2)
    elif what == "startup":
        out = startup()
    elif what == "payload":
        out = payload(sys.argv[2])
    else:
        sys.exit(f"unknown bench {what!r}")
    print(json.dumps(out))
    print(f"median_ns={out['median_ns']}")
