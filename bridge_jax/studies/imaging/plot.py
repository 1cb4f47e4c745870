"""The figure of reconstructions per task and the report section."""

from __future__ import annotations

import os

import numpy as np

from bridge_jax.studies._report import undefined

BEGIN, END = "<!-- imaging:begin -->", "<!-- imaging:end -->"
REFERENCE = "pinv"


def plot(result: dict, examples: dict, shown: dict, fig_dir: str) -> list[str]:
    """One figure per task: ground truth, measurement, reference, each trained method (the
    first test image, seed 0)."""
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    paths = []
    for task, rows in result["results"].items():
        methods = [m for m in rows if m != REFERENCE]
        panels = [
            ("ground truth", shown[task]["truth"]),
            ("measurement", shown[task]["measurement"]),
        ]
        panels.append((f"{REFERENCE} (reference)", examples[task][REFERENCE]))
        panels += [(m, examples[task][m]) for m in methods]
        fig, axes = plt.subplots(1, len(panels), figsize=(1.7 * len(panels), 2.1), squeeze=False)
        for ax, (title, image) in zip(axes[0], panels, strict=True):
            image = np.asarray(image)
            clim = (None, None) if title == "measurement" else (0.0, 1.0)
            ax.imshow(image, cmap="gray", vmin=clim[0], vmax=clim[1])
            ax.set_title(title, fontsize=8)
            if title in rows:
                ax.set_xlabel(f"{rows[title]['psnr']['mean']:.1f} dB", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(result["definitions"]["tasks"][task], fontsize=9)
        paths.append(save(fig, fig_dir, f"imaging_{task}.png"))
    return paths


def _cell(m: dict, digits: int) -> str:
    lo, hi = m["ci95"]
    if undefined(lo) or undefined(hi):
        n = m.get("n_seeds")
        return f"{m['mean']:.{digits}f} (no interval: {n} seed{'s' if n != 1 else ''})"
    return f"{m['mean']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _gap(row) -> str:
    g = row["gap_closed"]["psnr"]
    return "-" if g is None else f"{g:.2f}"


def _above(a: dict, b: dict) -> bool:
    """a's 95% interval lies above b's (PSNR)."""
    lo, hi = a["psnr"]["ci95"][0], b["psnr"]["ci95"][1]
    return not (undefined(lo) or undefined(hi)) and lo > hi


def expectations(result: dict) -> list[str]:
    """The report's expectations, each with what this run shows (or why it cannot say)."""
    r = result["results"]
    lines = []
    for task in ("mnist_inpaint", "ct"):
        rows = r.get(task, {})
        if "mc" not in rows:
            lines.append(f"- mc on {task}: not run.")
            continue
        g = rows["mc"]["gap_closed"]["psnr"]
        held = g is not None and g < 0.25
        lines.append(
            f"- mc cannot learn what {task} hides: {'held' if held else 'did not hold'} (mc "
            f"closes {'-' if g is None else f'{g:.2f}'} of the PSNR gap; threshold 0.25)."
        )
        for m in ("moi", "ei"):
            if m not in rows:
                lines.append(f"- {m} on {task}: not run.")
                continue
            better = _above(rows[m], rows["mc"])
            paired = rows[m].get("psnr_minus_mc")
            line = (
                f"- {m} learns beyond mc on {task}: {'held' if better else 'did not hold'} "
                f"({_cell(rows[m]['psnr'], 2)} dB against mc {_cell(rows['mc']['psnr'], 2)}; "
                "held = 95% intervals apart)"
            )
            if paired is not None:
                seeds_above = not undefined(paired["ci95"][0]) and paired["ci95"][0] > 0
                line += (
                    f"; paired by seed, {m} - mc = {_cell(paired, 2)} dB over "
                    f"{paired['n_seeds']} seeds: {'above 0' if seeds_above else 'not above 0'}"
                )
            lines.append(line + ".")
    rows = r.get("deblur", {})
    if "ei" in rows and "mc" in rows:
        apart = _above(rows["ei"], rows["mc"])
        lines.append(
            "- EI with circular shifts, to which the circular blur is equivariant, gains nothing "
            f"over mc on deblur: {'did not hold' if apart else 'held'} (ei "
            f"{_cell(rows['ei']['psnr'], 2)} dB, mc {_cell(rows['mc']['psnr'], 2)} dB; held = "
            "ei's interval not above mc's)."
        )
    else:
        lines.append("- EI with a group the operator is equivariant to (deblur): not run.")
    return lines


def section(result: dict, figures: list[str], out: str, *, elapsed: float) -> str:
    c, d = result["config"], result["definitions"]
    lines = [
        BEGIN,
        "## Self-supervised imaging benchmark",
        "",
        f"{d['network']}, trained {c['train_steps']} Adam steps (lr {c['learning_rate']:g}, "
        f"minibatch {c['batch_size']}) on measurements only (supervised: on pairs), "
        f"{c['seeds']} seeds (operator draw, noise, initialisation, minibatches). {d['metrics']}. "
        f"Reference 'pinv' = the lower reference of each task; gap = {d['gap_closed']} (PSNR). "
        "All numbers with intervals in imaging.json.",
        "",
    ]
    for task, rows in result["results"].items():
        lines += [
            f"**{task}**: {d['tasks'][task]}; pinv = {d['reference'][task]}; EI group: "
            f"{d['ei_group'][task]}.",
            "",
            "| method | PSNR (dB) [95%] | SSIM [95%] | gap closed |",
            "|---|---|---|---|",
        ]
        for m, row in rows.items():
            lines.append(
                f"| {m} | {_cell(row['psnr'], 2)} | {_cell(row['ssim'], 3)} | {_gap(row)} |"
            )
        for m, why in result["not_run"].get(task, {}).items():
            lines.append(f"| {m} | not run: {why} | | |")
        lines.append("")
    lines += ["Expectations from the theory:", "", *expectations(result), ""]
    for path in figures:
        lines += [f"![{os.path.basename(path)}]({os.path.relpath(path, out)})", ""]
    lines += [f"Run time: {elapsed:.0f} s (this run; DIR/timings.json).", END]
    return "\n".join(lines)
