"""report.md: paper value | ours (mean, 95% interval) | null | verdict, and the readings."""

from __future__ import annotations

import contextlib
import os
import sys

from bridge_jax import store

HEADLINE = (
    "spectral_correlation",
    "effective_rank_augmentation",
    "effective_rank_operator",
    "masking_mse_physics_at_0.5",
    "masking_mse_meanfill_at_0.5",
    "masking_reduction_pct_at_0.5",
    "subspace_alignment",
    "grassmann_distance",
    "taxonomy_dino_noise2self",
)
MATCH_RTOL = 0.05  # "matches" when the paper's value is in our 95% interval or within 5%
NULL_Z = 2.0  # "at null level" when |ours - null mean| < 2 null standard deviations

MEANING = {
    "spectral_correlation": "Pearson r of the two sorted spectra over the top m eigenvalues.",
    "effective_rank_augmentation": "Numerical rank of C_SSRL: the augmentations perturb every "
    "direction.",
    "effective_rank_operator": "Numerical rank of A^T A, i.e. m: a Gaussian A has full row rank.",
    "masking_mse_physics_at_0.5": "Pseudoinverse of the entry subsampling = keep visible entries, "
    "zero the hidden ones.",
    "masking_mse_meanfill_at_0.5": "Hidden entries filled with the mean of the visible ones.",
    "masking_reduction_pct_at_0.5": "Relative MSE reduction of physics over mean-fill; see the "
    "readings table for how it depends on the definitions.",
    "subspace_alignment": "Mean cosine of principal angles, leading m-dim eigenspace of C_SSRL "
    "vs row space of A.",
    "grassmann_distance": "2-norm of the same principal angles.",
    "taxonomy_dino_noise2self": "Cosine similarity of our hand-scored DINO and Noise2Self vectors.",
}


def undefined(v) -> bool:
    """A value that a run could not estimate: None (as saved) or NaN (as computed)."""
    return v is None or (isinstance(v, float) and v != v)


def interval_text(mean, ci95, digits=4, *, n=None) -> str:
    """'mean [lo, hi]', or 'mean (no interval: 1 trial)' when the interval is undefined."""
    if undefined(ci95[0]) or undefined(ci95[1]):
        trials = "fewer than 2 trials" if n is None else f"{n} trial{'s' if n != 1 else ''}"
        return f"{fmt(mean, digits)} (no interval: {trials})"
    return f"{fmt(mean, digits)} [{fmt(ci95[0], digits)}, {fmt(ci95[1], digits)}]"


def fmt(v, digits=4):
    if undefined(v):
        return "-"
    if isinstance(v, float) and abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}g}"


def ci_text(m: dict) -> str:
    """'mean [lo, hi]', or 'undefined' for a statistic that no trial defines."""
    if m.get("mean") is None:
        return "undefined"
    return interval_text(m["mean"], m["ci95"], n=m.get("n_trials"))


def verdict(m: dict) -> str:
    if m.get("mean") is None:
        return m.get("undefined", "undefined")
    parts = []
    paper, (lo, hi), mean = m.get("paper"), m["ci95"], m["mean"]
    if paper is not None:
        inside = not (undefined(lo) or undefined(hi)) and lo <= paper <= hi
        close = inside or abs(mean - paper) <= MATCH_RTOL * abs(paper)
        parts.append("matches the paper" if close else "differs from the paper")
    if m.get("null") is not None:
        spread = m.get("null_std")
        if undefined(spread):
            parts.append("null spread unknown (fewer than 2 trials): no z-score")
        elif spread == 0:
            same = mean == m["null"]
            parts.append("at null level" if same else "differs from a constant null")
        else:
            z = abs(mean - m["null"]) / spread
            parts.append(
                f"at null level (z = {z:.1f})" if z < NULL_Z else f"differs from null (z = {z:.1f})"
            )
    return "; ".join(parts) or "-"


def _row(name, m, meaning=""):
    ci = ci_text(m)
    has_sd = not undefined(m.get("null_std"))
    null = fmt(m.get("null")) + (f" ± {fmt(m['null_std'], 2)}" if has_sd else "")
    return f"| `{name}` | {fmt(m.get('paper'))} | {ci} | {null} | {verdict(m)} | {meaning} |"


def write_report(results: dict, figures: list[str], out: str, *, timings: dict, elapsed: float):
    cfg = results["config"]
    metrics = results["metrics"]
    lines = [
        "# Reproduction report: Bridging SSRL and Imaging Inverse Problems",
        "",
        f"Setting: {describe_setting(cfg)}, K = {cfg['k']} views, seed {cfg['seed']}, "
        f"{cfg['trials']} trials; augmentation noise {cfg['aug_noise']}; "
        f"{cfg['num_steps']} Landweber steps. Intervals are 95% Student-t intervals of the mean "
        f"over trials. A value *matches* the paper when the paper's number lies in our interval "
        f"or within {MATCH_RTOL:.0%} of our mean. *At null level* means our mean is within "
        f"{NULL_Z:g} standard deviations of the null distribution (values a random, unrelated "
        f"input gives), so it carries no information.",
        "",
        "## Headline numbers",
        "",
        "| metric | paper | ours: mean [95% CI] | null (mean ± sd) | verdict | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for name in HEADLINE:
        if name in metrics:
            lines.append(_row(name, metrics[name], MEANING.get(name, "")))
    lines += [
        "",
        "## How each number moves under the other readings",
        "",
        "Readings marked [uses x] need the ground truth; [unequal] compares MSEs over "
        "different sets of entries.",
        "",
    ]
    for name, m in metrics.items():
        if "readings" not in m:
            continue
        lines += [
            f"### `{name}`",
            "",
            "| reading | ours: mean [95% CI] | null | definition |",
            "|---|---|---|---|",
        ]
        for rname, r in m["readings"].items():
            ci = ci_text(r)
            lines.append(f"| {rname} | {ci} | {fmt(r.get('null'))} | {r['definition']} |")
        extra = {k: v for k, v in m.items() if k.startswith(("most_", "fraction_"))}
        for k, v in extra.items():
            lines.append(f"\n- {k.replace('_', ' ')}: {v}")
        lines.append("")
    lines += [
        "## Other measured values",
        "",
        "| metric | ours: mean [95% CI] | definition |",
        "|---|---|---|",
    ]
    for name, m in metrics.items():
        if name not in HEADLINE:
            ci = ci_text(m)
            lines.append(f"| `{name}` | {ci} | {m['definition']} |")
    lines += ["", "## Figures", ""]
    for path in figures:
        rel = os.path.relpath(path, out)
        lines += [f"![{os.path.basename(path)}]({rel})", ""]
    lines += ["## Run time", "", "| experiment | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    lines += [f"| total (incl. figures) | {elapsed:.1f} |", ""]
    path = os.path.join(out, "report.md")
    with report_lock(out):
        # Keep the sections that other commands (learn, methods) added to an earlier report.
        earlier = _earlier_report(path)
        kept = _marked_sections(earlier) if earlier is not None else []
        store.atomic_write(path, "\n".join(lines + kept))


def describe_setting(cfg: dict) -> str:
    """One phrase for the signals, augmentations and operator of a results.json config."""
    data = cfg.get("data", "sparse")
    if data in ("sparse", "synthetic"):  # "synthetic": the name before the two were one
        signals = (
            f"N = {cfg['signals']} {cfg['s']}-sparse signals in R^{cfg['n']}, rotations of RMS "
            f"angle {cfg['angle']} rad"
        )
    else:
        signals = (
            f"N = {cfg['signals']} 8x8 digits (and N others for training), image augmentations "
            f"(crop >= {cfg['image_crop']:g} of each side, rotation up to "
            f"{cfg['image_angle']:g} deg, shift up to {cfg['image_shift']:g} px)"
        )
    operator = {
        "gaussian": f"A Gaussian {cfg['m']}x{cfg['n']}",
        "inpainting": f"A = {cfg['m']} of {cfg['n']} pixels observed",
        "blur": f"A = Gaussian blur (width {cfg.get('blur_sigma', 1.0):g} px), then {cfg['m']} "
        f"of {cfg['n']} pixels observed",
    }[cfg.get("operator", "gaussian")]
    return f"{signals}; {operator}"


VARIANT_ROWS = (
    ("spectral_correlation", None),
    ("spectral_correlation", "direction_matched"),
    ("effective_rank_augmentation", "entropy"),
    ("masking_reduction_pct_at_0.5", None),
    ("subspace_alignment", None),
    ("subspace_alignment", "null_space"),
    ("grassmann_distance", None),
    ("convergence_loss_at_0_ssrl_pinv", None),
    ("convergence_loss_at_0_zero", None),
    ("transfer_mse_imaging_sigma_0.1", None),
    ("transfer_mse_ssrl_pinv_sigma_0.1", None),
    ("transfer_mse_lmmse_exact_sigma_0.1", None),
)


def _lookup(metrics: dict, name: str, reading: str | None):
    m = metrics.get(name)
    if m is None or reading is None:
        return m
    for rname, r in m.get("readings", {}).items():
        if rname.split(" ")[0] == reading:
            return r
    return None


def write_variants_section(out: str) -> str | None:
    """A "Synthetic vs real data" section in DIR/report.md comparing DIR/results.json with every
    DIR/VARIANT/results.json (e.g. `reproduce --data digits`); None when there is no variant."""
    import glob
    import json

    candidates = {"paper setting": os.path.join(out, "results.json")}
    for path in sorted(glob.glob(os.path.join(out, "*", "results.json"))):
        candidates[os.path.basename(os.path.dirname(path))] = path
    runs = {}
    for name, path in candidates.items():
        if not os.path.exists(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                res = json.load(f)
            if res.get("format") != "bridge_jax.results/1":
                continue
            if not (isinstance(res.get("metrics"), dict) and isinstance(res.get("config"), dict)):
                raise ValueError("no metrics or config")
            describe_setting(res["config"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            # A damaged variant must not end a run that has saved everything else.
            print(
                f"bridge-jax: warning: left {path} out of the comparison in report.md: it is "
                f"not a complete results file ({type(e).__name__}: {e}); rerun that variant "
                "(same --out and options) to rebuild it.",
                file=sys.stderr,
            )
            continue
        runs[name] = res
    if not set(runs) - {"paper setting"}:
        return None
    begin, end = "<!-- variants:begin -->", "<!-- variants:end -->"
    names = list(runs)
    lines = [
        begin,
        "## The five experiments on other data and operators",
        "",
        "Each column is one `bridge-jax reproduce` run; its full report is in its folder. "
        "Cells: mean [95% CI] over trials, and the null's mean where the metric has one "
        "(`~` marks a value within 2 null standard deviations of it: no information).",
        "",
    ]
    lines += [f"- **{n}**: {describe_setting(r['config'])}" for n, r in runs.items()]
    lines += ["", "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for name, reading in VARIANT_ROWS:
        cells = []
        for n in names:
            m = _lookup(runs[n]["metrics"], name, reading)
            if m is None:
                cells.append("-")
                continue
            cell = ci_text(m)
            if m.get("null") is not None and m.get("mean") is not None:
                sd = m.get("null_std") or 0.0
                near = sd > 0 and abs(m["mean"] - m["null"]) < NULL_Z * sd
                cell += f" (null {fmt(m['null'])}{' ~' if near else ''})"
            cells.append(cell)
        label = f"`{name}`" + (f" ({reading})" if reading else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", end]
    write_section(out, "\n".join(lines), begin, end)
    return os.path.join(out, "report.md")


def _marked_sections(text: str) -> list[str]:
    """The `<!-- NAME:begin --> ... <!-- NAME:end -->` blocks of a report, in order."""
    import re

    return [
        "\n" + m.group(0) + "\n"
        for m in re.finditer(r"<!-- ([\w-]+):begin -->.*?<!-- \1:end -->", text, re.S)
    ]


def _earlier_report(path: str) -> str | None:
    """The text of an earlier report.md, or None; a symbolic link there is not read (a rerun
    would copy what it points to into the report) and is replaced by the new report."""
    if os.path.islink(path) or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        # Everything in a report is rebuilt from the saved results: keep the damaged file for
        # the user to look at and start a new report (its other commands' sections come back
        # when those commands are rerun, from their saved results).
        aside, i = path + ".unreadable", 1
        while os.path.lexists(aside):  # never over an earlier one
            aside, i = f"{path}.unreadable.{i}", i + 1
        os.replace(path, aside)
        print(
            f"bridge-jax: warning: {path} was not UTF-8 text; moved it to {aside} and wrote a "
            "new report (rerun the other commands to add their sections back).",
            file=sys.stderr,
        )
        return None


def write_section(out: str, section: str, begin: str, end: str) -> None:
    """Put `section` (which starts with `begin` and ends with `end`) into DIR/report.md.

    An earlier version of the same section is replaced; otherwise the section is appended
    (to the reproduction report when one is there).
    """
    path = os.path.join(out, "report.md")
    with report_lock(out):
        text = _earlier_report(path)
        if text is None:
            text = "# bridge_jax report\n"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + section + rest.split(end, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        store.atomic_write(path, text)


@contextlib.contextmanager
def report_lock(out: str):
    """Hold DIR/.report.md.lock (an exclusive `fcntl` lock) while report.md is read, changed
    and replaced: two commands that finish at once into one folder keep both sections.
    Where `fcntl` is missing (Windows) there is no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    os.makedirs(out, exist_ok=True)
    fd = os.open(os.path.join(out, ".report.md.lock"), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
