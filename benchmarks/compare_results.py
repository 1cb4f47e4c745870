"""Compare the numbers of two runs of one study (before and after a change): two result JSON
files, or two results folders (every JSON file found under both, by relative path).

For each file: how many numbers differ, the largest relative differences with their paths
(timings, digests and code records skipped), and with `--intervals` a Markdown table of every
summary over trials (an entry with a scalar `mean` and a `ci95` pair) in both runs: the old and
new means with their 95% intervals, whether the new mean lies inside the old interval, and
d = (new mean - old mean) / sqrt(h_old^2 + h_new^2), h the intervals' half-widths:
|d| <= 1 is a difference within the 95% interval of a difference of two independent means,
what re-drawing the random numbers alone gives (a new mean outside the old interval happens
for about one summary in six from re-drawing alone).
Use it to state "the same numbers up to rounding" with the largest difference (as
benchmarks/RESULTS.md does), or, for a study whose random draws changed, which means moved
outside the old interval.

    python -m benchmarks.compare_results OLD.json NEW.json [--top 8]
    python -m benchmarks.compare_results OLD_DIR NEW_DIR --intervals > compare.md
"""

from __future__ import annotations

import argparse
import json
import math
import os

SKIP = {"seconds", "elapsed", "timing", "timings", "code", "digest", "created", "wall_s"}


def leaves(tree, path=""):
    """(path, number) for every number in a JSON tree, skipping the keys in SKIP."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key not in SKIP:
                yield from leaves(value, f"{path}/{key}")
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from leaves(value, f"{path}[{i}]")
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        yield path, float(tree)


def compare(old, new) -> tuple[int, int, list[tuple[float, str, float, float]]]:
    """(numbers in both, numbers in one only, [(relative difference, path, old, new)])."""
    a, b = dict(leaves(old)), dict(leaves(new))
    both = a.keys() & b.keys()
    diffs = []
    for key in both:
        x, y = a[key], b[key]
        if x == y or (math.isnan(x) and math.isnan(y)):
            continue
        diffs.append((abs(x - y) / max(abs(x), abs(y), 1e-30), key, x, y))
    return len(both), len(a.keys() ^ b.keys()), sorted(diffs, reverse=True)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def summaries(tree, path=""):
    """(path, mean, (low, high)) for every summary over trials: a dict with a finite scalar
    `mean` and a finite `ci95` pair."""
    if isinstance(tree, dict):
        ci = tree.get("ci95")
        mean = tree.get("mean")
        if _number(mean) and isinstance(ci, list) and len(ci) == 2 and all(map(_number, ci)):
            yield path, float(mean), (float(ci[0]), float(ci[1]))
            return
        for key, value in tree.items():
            if key not in SKIP:
                yield from summaries(value, f"{path}/{key}")
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from summaries(value, f"{path}[{i}]")


def distance(m0, c0, m1, c1) -> float:
    """The difference of two means over the half-width of its 95% interval (see the module
    docstring); 0 for two equal means, infinite for different means with no spread."""
    width = math.hypot((c0[1] - c0[0]) / 2, (c1[1] - c1[0]) / 2)
    if m1 == m0:
        return 0.0
    return (m1 - m0) / width if width > 0 else math.copysign(math.inf, m1 - m0)


def intervals(old, new) -> list[tuple[str, float, tuple, float, tuple, bool]]:
    """(path, old mean, old ci95, new mean, new ci95, new mean inside the old ci95) for every
    summary in both trees, in the old tree's order."""
    b = {p: (m, ci) for p, m, ci in summaries(new)}
    rows = []
    for path, mean, ci in summaries(old):
        if path in b:
            m, c = b[path]
            rows.append((path, mean, ci, m, c, ci[0] <= m <= ci[1]))
    return rows


def pairs(old: str, new: str) -> list[tuple[str, str, str]]:
    """(name, old file, new file): the two files, or every JSON file under both folders."""
    if not (os.path.isdir(old) and os.path.isdir(new)):
        return [(os.path.basename(new), old, new)]
    found = []
    for root, _, files in os.walk(old):
        for f in sorted(files):
            if f.endswith(".json"):
                rel = os.path.relpath(os.path.join(root, f), old)
                if os.path.exists(os.path.join(new, rel)):
                    found.append((rel, os.path.join(old, rel), os.path.join(new, rel)))
    return sorted(found)


def _fmt(mean, ci) -> str:
    return f"{mean:.4g} [{ci[0]:.4g}, {ci[1]:.4g}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="a result JSON file or a results folder")
    parser.add_argument("new", help="the same file or folder of the other run")
    parser.add_argument("--top", type=int, default=8, help="largest differences to list")
    parser.add_argument(
        "--intervals", action="store_true", help="tabulate old and new means with 95%% intervals"
    )
    args = parser.parse_args(argv)
    files = pairs(args.old, args.new)
    if not files:
        parser.error(f"no JSON file is under both {args.old} and {args.new}.")
    inside_all = total_all = far_all = 0
    for name, old_path, new_path in files:
        with open(old_path) as f, open(new_path) as g:
            old, new = json.load(f), json.load(g)
        both, one_only, diffs = compare(old, new)
        print(f"## {name}\n\n{both} numbers in both, {one_only} in one only, {len(diffs)} differ\n")
        for rel, key, x, y in diffs[: args.top]:
            print(f"- {rel:.3g}  `{key}`  {x!r} -> {y!r}")
        rows = intervals(old, new) if args.intervals else []
        if rows:
            inside = sum(r[5] for r in rows)
            inside_all, total_all = inside_all + inside, total_all + len(rows)
            far_all += sum(abs(distance(*r[1:5])) > 1 for r in rows)
            print(f"\n{inside} of {len(rows)} new means inside the old 95% interval\n")
            far = sum(abs(distance(*r[1:5])) > 1 for r in rows)
            print(f"{far} of {len(rows)} with |d| > 1\n")
            print("| summary | old: mean [95% CI] | new: mean [95% CI] | inside | d |")
            print("|---|---|---|---|---|")
            for path, m0, c0, m1, c1, ok in rows:
                d = distance(m0, c0, m1, c1)
                print(
                    f"| `{path}` | {_fmt(m0, c0)} | {_fmt(m1, c1)} | {'yes' if ok else 'NO'} "
                    f"| {d:+.2f} |"
                )
        print()
    if args.intervals:
        print(
            f"In all: {inside_all} of {total_all} new means inside the old 95% interval; "
            f"{far_all} with |d| > 1."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
