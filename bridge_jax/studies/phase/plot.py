"""Figures and the report section."""

from __future__ import annotations

import os

from bridge_jax.studies._report import fmt
from bridge_jax.studies.phase.config import BEGIN, END, INITS


def _select(result, **where):
    return [r for r in result["success"] if all(r[k] == v for k, v in where.items())]


def plot(result: dict, fig_dir: str) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    c = result["config"]
    paths = []
    for field in c["fields"]:
        rows, cols = len(c["data"]), len(c["noise_levels"])
        fig, axes = plt.subplots(
            rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False, sharex=True, sharey=True
        )
        for a, data in enumerate(c["data"]):
            for b, sigma in enumerate(c["noise_levels"]):
                ax = axes[a][b]
                for q, init in enumerate(INITS):
                    recs = _select(result, data=data, field=field, noise=sigma, init=init)
                    xs = [r["m_over_n"] for r in recs]
                    ax.plot(
                        xs, [r["mean"] for r in recs], marker="o", ms=3, color=f"C{q}", label=init
                    )
                    ax.fill_between(
                        xs,
                        [r["ci95"][0] for r in recs],
                        [r["ci95"][1] for r in recs],
                        color=f"C{q}",
                        alpha=0.15,
                        lw=0,
                    )
                ax.set_title(f"{data}, noise {sigma:g}", fontsize=9)
                ax.set_ylim(-0.03, 1.03)
                if a == rows - 1:
                    ax.set_xlabel("m / n")
                if b == 0:
                    ax.set_ylabel("success rate")
        axes[0][0].legend(fontsize=6)
        fig.suptitle(
            f"Phase retrieval, {field} Gaussian A: success (rel. error < {c['threshold']:g}) "
            f"with 95% Wilson bands, {c['trials']} trials",
            fontsize=10,
        )
        paths.append(save(fig, fig_dir, f"phase_{field}.png"))
    return paths


def _transition(recs, level=0.9):
    """Smallest m/n whose success rate is >= `level`, as text."""
    for r in sorted(recs, key=lambda r: r["m_over_n"]):
        if r["mean"] >= level:
            return f"{r['m_over_n']:g}"
    return f"> {max(r['m_over_n'] for r in recs):g}"


def section(result: dict, figures: list[str], out: str, *, elapsed: float) -> str:
    c = result["config"]
    lines = [
        BEGIN,
        "## Phase retrieval: success rate against m/n, noise and initialisation",
        "",
        f"Amplitude flow (at most {c['num_steps']} steps of {c['step_size']:g}) on "
        f"y = |Ax|^2 + noise ||x||^2 e; success = relative error up to global sign/phase "
        f"< {c['threshold']:g}; "
        f"{c['trials']} trials per cell (a new A per trial). Definitions in "
        "the docstring of bridge_jax/studies/phase/__init__.py and phase.json; every cell "
        "with its 95% Wilson interval and median error is in phase.json.",
        "",
        "Smallest m/n with success rate >= 0.9 (columns: noise level):",
        "",
        "| data | A | init | " + " | ".join(f"{s:g}" for s in c["noise_levels"]) + " |",
        "|---|---|---|" + "---|" * len(c["noise_levels"]),
    ]
    for data in c["data"]:
        for field in c["fields"]:
            for init in INITS:
                cells = [
                    _transition(_select(result, data=data, field=field, noise=s, init=init))
                    for s in c["noise_levels"]
                ]
                lines.append(f"| {data} | {field} | {init} | " + " | ".join(cells) + " |")
    sigma0 = c["noise_levels"][0]
    for field in c["fields"]:
        lines += [
            "",
            f"Success rate [95% interval], {field} A, noise {sigma0:g}:",
            "",
            "| data | init | " + " | ".join(f"m/n={r:g}" for r in c["ratios"]) + " |",
            "|---|---|" + "---|" * len(c["ratios"]),
        ]
        for data in c["data"]:
            for init in INITS:
                recs = _select(result, data=data, field=field, noise=sigma0, init=init)
                cells = [
                    f"{fmt(r['mean'], 2)} [{fmt(r['ci95'][0], 2)}, {fmt(r['ci95'][1], 2)}]"
                    for r in recs
                ]
                lines.append(f"| {data} | {init} | " + " | ".join(cells) + " |")
    lines.append("")
    for path in figures:
        lines += [f"![{os.path.basename(path)}]({os.path.relpath(path, out)})", ""]
    lines += [f"Run time: {elapsed:.0f} s (this run; DIR/timings.json).", END]
    return "\n".join(lines)
