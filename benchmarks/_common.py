"""What the small benchmarks share: how a call is timed, and what they write with their numbers."""

from __future__ import annotations

import os
import platform
import statistics
import time


def median_time(fn, *args, repeat: int) -> tuple[float, float]:
    """`(median, first)`: the median wall time of `repeat` calls of `fn(*args)` after a first
    one, and that first call's time (compilation included), each up to its results being
    ready."""
    import jax

    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), first


def write_record(path: str, args, **numbers) -> None:
    """`numbers` as JSON at `path`, with the command's arguments (`args`, an argparse
    namespace), the machine and the load average when the run ended."""
    from bridge_jax import store

    for name in ("args", "loadavg", "machine"):
        if name in numbers:
            raise ValueError(f"{name!r} is written by write_record; name the numbers otherwise.")
    record = {"args": vars(args), **numbers, "loadavg": os.getloadavg()}
    record["machine"] = platform.processor() or platform.machine()
    store.write_json(path, record)
