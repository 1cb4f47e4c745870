"""Run time of single `phase` units at the study's default setting (100 trials, 1,000 steps),
and the comparison of two such runs (before and after a change to the flow).

    PYTHONPATH=CHECKOUT python -m benchmarks.phase_units run OUT.json
    python -m benchmarks.phase_units compare OLD.json NEW.json

`run` times `run_unit` twice per unit (the first call compiles; "run s" is the second);
`compare` prints, per unit, the run times, whether every success rate (error < 1e-2) is the
same, and the largest differences of the median errors and of single errors.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

UNITS = [
    ("sparse", "real", 1.0),
    ("sparse", "real", 2.0),
    ("sparse", "real", 6.0),
    ("sparse", "complex", 3.0),
    ("sparse", "complex", 8.0),
]


def run(path: str) -> None:
    from bridge_jax.studies.phase import PhaseConfig
    from bridge_jax.studies.phase import run as phase_run

    c, out = PhaseConfig(), {}
    for unit in UNITS:
        t0 = time.perf_counter()
        phase_run.run_unit(c, *unit)
        t1 = time.perf_counter()
        result = phase_run.run_unit(c, *unit)
        t2 = time.perf_counter()
        out["_".join(map(str, unit))] = {
            "first_s": t1 - t0,
            "run_s": t2 - t1,
            "errors": result["errors"],
        }
        print(unit, f"first {t1 - t0:.2f} s, run {t2 - t1:.2f} s", file=sys.stderr, flush=True)
    with open(path, "w") as f:
        json.dump(out, f)


def compare(old_path: str, new_path: str) -> None:
    with open(old_path) as f, open(new_path) as g:
        old, new = json.load(f), json.load(g)
    for unit in old:
        a, b = np.asarray(old[unit]["errors"]), np.asarray(new[unit]["errors"])
        t_old, t_new = old[unit]["run_s"], new[unit]["run_s"]
        same = np.array_equal((a < 1e-2).mean(0), (b < 1e-2).mean(0))
        median = np.abs(np.median(a, 0) - np.median(b, 0)).max()
        print(
            f"{unit}: run {t_old:.2f} -> {t_new:.2f} s ({t_old / t_new:.1f}x); success rates "
            f"identical: {same}; max |median diff| {median:.1e}; max error diff "
            f"{np.abs(a - b).max():.1e}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        run(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
