"""Does this jaxlib hang? One `reproduce --quick --data digits` run after another in one process.

jaxlib 0.9.1-0.11.1 run a batched SVD on the CPU as one task per matrix on XLA's intra-op pool
and block their pool thread until the tasks finish; when every pool thread blocks that way the
process sleeps for ever (see `bridge_jax/_compat.py`). fig4 of the digits run has several
independent batched SVDs in one program, which is enough on a 2-core machine.

A child process runs `--runs` reproduce runs (one persistent compilation cache, as the tests
use) and prints a line after each; this process watches it and calls it hung when no line
comes for `--timeout` seconds (a run takes about 4 s warm, 15 s cold, on 2 cores), then kills
it. Prints, and with `--out` writes as JSON: the jax/jaxlib versions, XLA_FLAGS, runs done,
seconds per run, and whether it hung. Not a test: a hang costs `--timeout` seconds.

    python benchmarks/lapack_hang.py [--runs 25] [--timeout 120] [--out FILE]
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python benchmarks/lapack_hang.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

_CHILD = r"""
import os, sys, tempfile, time
import warnings
warnings.simplefilter("ignore", RuntimeWarning)  # the deadlock warning is what is tested
from bridge_jax._cli import main
cache = tempfile.mkdtemp()
for i in range(int(sys.argv[1])):
    t = time.time()
    rc = main(["reproduce", "--quick", "--data", "digits", "--out", tempfile.mkdtemp(),
               "--cache", cache])
    print("RUN", i, rc, round(time.time() - t, 2), flush=True)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds without a run")
    parser.add_argument("--out", help="JSON file for the outcome (default: print only)")
    args = parser.parse_args(argv)
    import jax
    import jaxlib

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(args.runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seconds: list[float] = []
    last = [time.monotonic()]

    def read():
        for line in child.stdout:
            if line.startswith("RUN "):
                _, i, rc, s = line.split()
                seconds.append(float(s))
                last[0] = time.monotonic()
                print(f"run {int(i) + 1}/{args.runs}: exit {rc}, {s} s", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    hung = False
    while child.poll() is None:
        time.sleep(1.0)
        if time.monotonic() - last[0] > args.timeout:
            hung = True
            child.kill()
            break
    child.wait()
    reader.join(timeout=5)
    result = {
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "cpu_count": os.cpu_count(),
        "runs_requested": args.runs,
        "runs_done": len(seconds),
        "seconds_per_run": seconds,
        "hung": hung,
        "timeout_s": args.timeout,
        "exit_code": None if hung else child.returncode,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "seconds_per_run"}))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return 1 if hung or child.returncode else 0


if __name__ == "__main__":
    raise SystemExit(main())
