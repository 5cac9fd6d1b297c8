"""CPython asyncio figure for the concur async benches.

Usage: python3 async_roundtrip.py

Times `await loop.run_in_executor(pool, noop)` round trips on a
ThreadPoolExecutor(max_workers=1) from an asyncio event loop, and prints
`median_ns=<float>` (nanoseconds per round trip, median of the samples).
"""

import asyncio
import statistics
import time
from concurrent.futures import ThreadPoolExecutor



# `cargo xtask bench --quick` sets CONCUR_BENCH_QUICK: fewer samples.
QUICK = bool(__import__("os").environ.get("CONCUR_BENCH_QUICK"))


def _samples(full, quick):
    return quick if QUICK else full

def noop():
    return None


async def main(samples=_samples(15, 5), iters=2000):
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as pool:
        for _ in range(200):  # warm up: start the worker
            await loop.run_in_executor(pool, noop)
        per_op = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            for _ in range(iters):
                await loop.run_in_executor(pool, noop)
            per_op.append((time.perf_counter_ns() - t0) / iters)
    print(f"median_ns={statistics.median(per_op)}")


if __name__ == "__main__":
    asyncio.run(main())
