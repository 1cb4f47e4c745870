"""report.md: paper value | ours (mean, 95% interval) | null | verdict, and the readings."""

from __future__ import annotations

import os

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


def fmt(v, digits=4):
    if v is None:
        return "-"
    if isinstance(v, float) and abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}g}"


def verdict(m: dict) -> str:
    parts = []
    paper, (lo, hi), mean = m.get("paper"), m["ci95"], m["mean"]
    if paper is not None:
        close = lo <= paper <= hi or abs(mean - paper) <= MATCH_RTOL * abs(paper)
        parts.append("matches the paper" if close else "differs from the paper")
    if "null" in m:
        spread = m.get("null_std", 0.0)
        z = abs(mean - m["null"]) / spread if spread > 0 else float("inf")
        parts.append(
            f"at null level (z = {z:.1f})" if z < NULL_Z else f"differs from null (z = {z:.1f})"
        )
    return "; ".join(parts) or "-"


def _row(name, m, meaning=""):
    ci = f"{fmt(m['mean'])} [{fmt(m['ci95'][0])}, {fmt(m['ci95'][1])}]"
    null = fmt(m.get("null")) + (f" ± {fmt(m['null_std'], 2)}" if "null_std" in m else "")
    return f"| `{name}` | {fmt(m.get('paper'))} | {ci} | {null} | {verdict(m)} | {meaning} |"


def write_report(results: dict, figures: list[str], out: str, *, timings: dict, elapsed: float):
    cfg = results["config"]
    metrics = results["metrics"]
    lines = [
        "# Reproduction report: Bridging SSRL and Imaging Inverse Problems",
        "",
        f"Setting: N = {cfg['signals']} signals in R^{cfg['n']}, s = {cfg['s']}, A Gaussian "
        f"{cfg['m']}x{cfg['n']}, K = {cfg['k']} views, seed {cfg['seed']}, {cfg['trials']} "
        f"trials; augmentation angle {cfg['angle']} rad, noise {cfg['aug_noise']}; "
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
            ci = f"{fmt(r['mean'])} [{fmt(r['ci95'][0])}, {fmt(r['ci95'][1])}]"
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
            ci = f"{fmt(m['mean'])} [{fmt(m['ci95'][0])}, {fmt(m['ci95'][1])}]"
            lines.append(f"| `{name}` | {ci} | {m['definition']} |")
    lines += ["", "## Figures", ""]
    for path in figures:
        rel = os.path.relpath(path, out)
        lines += [f"![{os.path.basename(path)}]({rel})", ""]
    lines += ["## Run time", "", "| experiment | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    lines += [f"| total (incl. figures) | {elapsed:.1f} |", ""]
    path = os.path.join(out, "report.md")
    # Keep the sections that other commands (learn, methods) added to an earlier report.
    kept = _marked_sections(open(path).read()) if os.path.exists(path) else []
    with open(path, "w") as f:
        f.write("\n".join(lines + kept))


def _marked_sections(text: str) -> list[str]:
    """The `<!-- NAME:begin --> ... <!-- NAME:end -->` blocks of a report, in order."""
    import re

    return [
        "\n" + m.group(0) + "\n"
        for m in re.finditer(r"<!-- ([\w-]+):begin -->.*?<!-- \1:end -->", text, re.S)
    ]


def write_section(out: str, section: str, begin: str, end: str) -> None:
    """Put `section` (which starts with `begin` and ends with `end`) into DIR/report.md.

    An earlier version of the same section is replaced; otherwise the section is appended
    (to the reproduction report when one is there).
    """
    path = os.path.join(out, "report.md")
    text = open(path).read() if os.path.exists(path) else "# bridge_jax report\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)
