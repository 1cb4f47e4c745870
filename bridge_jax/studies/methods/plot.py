"""Figures and the report section."""

from __future__ import annotations

import os

import numpy as np

from bridge_jax.studies._report import fmt
from bridge_jax.studies.methods.config import AXES, BASELINE_STYLES, BEGIN, END


def plot(result: dict, fig_dir: str) -> list[str]:
    from bridge_jax.studies._plotting import plt, save

    paths = []
    labels = result["settings"]
    groups = [
        ("cs", "Gaussian CS: noise level sigma", "sigma", "log"),
        ("inpaint", "Inpainting: masking ratio rho", "rho", "linear"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, (prefix, title, xlabel, scale) in zip(axes, groups, strict=True):
        cols = [lab for lab in labels if lab.startswith(prefix)]
        if not cols:
            ax.set_visible(False)
            continue
        xs = [float(lab.split("sigma" if prefix == "cs" else "rho")[1]) for lab in cols]
        for i, (name, entry) in enumerate(result["methods"].items()):
            mean = [entry["mse"][lab]["mean"] for lab in cols]
            lo = [entry["mse"][lab]["ci95"][0] for lab in cols]
            hi = [entry["mse"][lab]["ci95"][1] for lab in cols]
            style = "--" if entry["domain"] == "ssrl" else "-"
            ax.plot(xs, mean, style, marker="o", ms=3, color=f"C{i}", label=name)
            ax.fill_between(xs, lo, hi, color=f"C{i}", alpha=0.15, lw=0)
        for b, style in BASELINE_STYLES.items():
            mean = [result["baselines"][b][lab]["mean"] for lab in cols]
            label = f"{b} (baseline)"
            ax.plot(xs, mean, linestyle=style, color="k", lw=1.3, alpha=0.75, label=label)
        ax.set_xscale(scale)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test MSE (95% CI over trials)")
    axes[0].legend(fontsize=7, ncol=2)
    paths.append(save(fig, fig_dir, "methods_mse.png"))

    if "taxonomy" in result:
        tax = result["taxonomy"]
        fig, axes = plt.subplots(1, 4, figsize=(20, 4.8))
        panels = [
            (tax["measured_vectors"], "measured axes", tax["axes"], (0, 1), "viridis"),
            (tax["measured_similarity"], "measured cosine similarity", None, (0, 1), "viridis"),
            (
                tax["measured_centred_similarity"],
                "measured, axes centred over methods",
                None,
                (-1, 1),
                "coolwarm",
            ),
            (tax["hand_similarity"], "hand-scored cosine similarity", None, (0, 1), "viridis"),
        ]
        for ax, (mat, title, cols, lim, cmap) in zip(axes, panels, strict=True):
            mat = np.asarray(mat)
            im = ax.imshow(mat, vmin=lim[0], vmax=lim[1], cmap=cmap)
            ax.set_yticks(range(len(tax["methods"])), tax["methods"])
            ticks = cols if cols is not None else tax["methods"]
            ax.set_xticks(range(len(ticks)), ticks, rotation=45, ha="right")
            mid = 0.5 * (lim[0] + lim[1])
            for (r, col), v in np.ndenumerate(mat):
                dark = v < mid if cmap == "viridis" else abs(v) > 0.6
                color = "w" if dark else "k"
                ax.text(col, r, f"{v:.2f}", ha="center", va="center", fontsize=6, color=color)
            ax.set_title(title)
            fig.colorbar(im, ax=ax, fraction=0.046)
        paths.append(save(fig, fig_dir, "methods_taxonomy.png"))

    fig, ax = plt.subplots(figsize=(7, 4.4))
    label = labels[min(1, len(labels) - 1)]
    for i, (name, entry) in enumerate(result["methods"].items()):
        curve = np.asarray(entry["learning_curve"][label])
        loss = curve[:, 1]
        span = np.ptp(loss) if np.ptp(loss) > 0 else 1.0
        ax.plot(curve[:, 0], (loss - loss.min()) / span, color=f"C{i}", label=name)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("training loss (rescaled to [0, 1])")
    ax.set_title(f"Learning curves, {label} (mean loss over trials)")
    ax.legend(fontsize=7, ncol=2)
    paths.append(save(fig, fig_dir, "methods_learning_curves.png"))
    return paths


def _ci(m: dict) -> str:
    return f"{fmt(m['mean'])} [{fmt(m['ci95'][0])}, {fmt(m['ci95'][1])}]"


def section(result: dict, figures: list[str], out: str, elapsed: float) -> str:
    labels = result["settings"]
    lines = [
        BEGIN,
        "## Eight methods, one interface",
        "",
        "Test MSE, mean [95% CI] over trials (definitions: the docstring of "
        "bridge_jax/studies/methods/__init__.py). "
        "SSRL rows: linear probe (fitted with labels) then Landweber; `probe` rows: the probe "
        "alone.",
        "",
        "| method | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for name, entry in result["methods"].items():
        lines.append(f"| {name} | " + " | ".join(_ci(entry["mse"][lab]) for lab in labels) + " |")
        if "probe_mse" in entry:
            cells = " | ".join(_ci(entry["probe_mse"][lab]) for lab in labels)
            lines.append(f"| {name} (probe) | {cells} |")
    for b, per in result["baselines"].items():
        lines.append(f"| *{b}* | " + " | ".join(_ci(per[lab]) for lab in labels) + " |")
    lines += ["", "Measured axes (mean over trials and settings):", ""]
    lines += ["| method | " + " | ".join(AXES) + " |", "|---|" + "---|" * len(AXES)]
    for name, entry in result["methods"].items():
        lines.append(f"| {name} | " + " | ".join(fmt(entry["axes"][a], 3) for a in AXES) + " |")
    if "taxonomy" in result:
        tax = result["taxonomy"]
        lines += [
            "",
            "| claim (paper) | hand scores | measured | measured, centred |",
            "|---|---|---|---|",
        ]
        h, m, mc = tax["hand_claims"], tax["measured_claims"], tax["measured_centred_claims"]
        rows = [
            ("SSRL methods in I-M (of 4)", "ssrl_in_im"),
            ("imaging methods in E-P (of 4)", "imaging_in_ep"),
            ("DINO-Noise2Self similarity (paper 0.67)", "dino_noise2self"),
            ("its rank among 16 cross-domain pairs", "dino_noise2self_rank"),
        ]
        for text, key in rows:
            lines.append(f"| {text} | {fmt(h[key], 3)} | {fmt(m[key], 3)} | {fmt(mc[key], 3)} |")
        tops = [
            f"{c['top_cross_domain_pair'][0]}-{c['top_cross_domain_pair'][1]} "
            f"({c['top_cross_domain_pair'][2]:.2f})"
            for c in (h, m, mc)
        ]
        lines.append(f"| most similar cross-domain pair | {tops[0]} | {tops[1]} | {tops[2]} |")
        lines += [
            "",
            f"Agreement of the measured and hand similarity matrices (Pearson over off-diagonal "
            f"entries): {tax['agreement']:.3f}. Centred: each axis minus its mean over the eight "
            "methods, so that similarity reflects where a method differs from the others.",
        ]
    lines.append("")
    for path in figures:
        lines += [f"![{os.path.basename(path)}]({os.path.relpath(path, out)})", ""]
    lines += [f"Run time: {elapsed:.0f} s.", END]
    return "\n".join(lines)
