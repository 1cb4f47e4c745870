"""Compare the numbers of two result JSON files (two runs of one study before and after a
change): how many differ, and the largest relative differences with their paths.

Timings, digests and code records are skipped. Use it to state "the same numbers up to
rounding" with the largest difference, as benchmarks/RESULTS.md does.

    python -m benchmarks.compare_results OLD.json NEW.json [--top 8]
"""

from __future__ import annotations

import argparse
import json
import math

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--top", type=int, default=8, help="largest differences to list")
    args = parser.parse_args(argv)
    with open(args.old) as f, open(args.new) as g:
        both, one_only, diffs = compare(json.load(f), json.load(g))
    print(f"{both} numbers in both, {one_only} in one only, {len(diffs)} differ")
    for rel, key, x, y in diffs[: args.top]:
        print(f"  {rel:.3g}  {key}  {x!r} -> {y!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
