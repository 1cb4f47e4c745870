"""The figure of reconstructions per task and the report section."""

from __future__ import annotations

import os
import textwrap

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
        fig.suptitle(_title(result["definitions"]["tasks"][task]), fontsize=9)
        paths.append(save(fig, fig_dir, f"imaging_{task}.png"))
    return paths + plot_curves(result, fig_dir)


def _test_psnr_points(seed: dict) -> list[tuple[int, float]]:
    """A seed's recorded (step, test PSNR) pairs (a resumed run may lack some values)."""
    p = seed["test_psnr_curve"]
    return [(a, b) for a, b in zip(p["steps"], p["psnr"], strict=True) if b is not None]


def _title(text: str, width: int = 110) -> str:
    """A task's description wrapped to the figure's width (long ones ran off its edges)."""
    return textwrap.fill(text, width)


def plot_curves(result: dict, fig_dir: str) -> list[str]:
    """One figure per task: each method's validation value (relative to its start) and test
    PSNR against the training step, every seed (the test PSNR is recorded, never used)."""
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    paths = []
    for task, methods in result.get("curves", {}).items():
        fig, (ax_val, ax_psnr) = plt.subplots(1, 2, figsize=(9, 3.4))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, (method, seeds) in enumerate(methods.items()):
            color = colors[i % len(colors)]
            for s, sd in enumerate(seeds):
                label = method if s == 0 else None
                v = np.asarray(sd["validation_curve"]["loss"], np.float64)
                rel = v / v[0] if v.size and v[0] > 0 else v
                ax_val.plot(sd["validation_curve"]["steps"], rel, color=color, lw=0.9, label=label)
                pts = _test_psnr_points(sd)
                if pts:
                    ax_psnr.plot(*zip(*pts, strict=True), color=color, lw=0.9, label=label)
        ax_val.set_yscale("log")
        ax_val.set_xlabel("training step")
        ax_val.set_ylabel("validation loss / its start")
        ax_val.set_title("held-out measurements (stops training)", fontsize=9)
        ax_psnr.set_xlabel("training step")
        ax_psnr.set_ylabel("test PSNR (dB)")
        ax_psnr.set_title("test images (recorded only)", fontsize=9)
        ax_psnr.legend(fontsize=7, ncol=2)
        fig.suptitle(_title(result["definitions"]["tasks"][task]), fontsize=9)
        fig.tight_layout()
        paths.append(save(fig, fig_dir, f"imaging_curves_{task}.png"))
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


# The published expectations, each a one-sided claim on a paired PSNR difference a - b (dB,
# per seed; b "pinv" is the lower reference) against a threshold fixed before any run.
EXPECTATIONS = (
    ("mc stays at the zero-filled A^+ y on inpainting", "mnist_inpaint", "mc", "pinv", "<", 1.0),
    ("mc stays at A^+ y on compressed sensing", "mnist_cs", "mc", "pinv", "<", 1.0),
    ("EI learns beyond mc (inpainting: a null space)", "mnist_inpaint", "ei", "mc", ">", 0.0),
    ("EI learns beyond mc (compressed sensing)", "mnist_cs", "ei", "mc", ">", 0.0),
    ("EI learns beyond mc (sparse-view CT)", "ct", "ei", "mc", ">", 0.0),
    ("MOI learns beyond mc (inpainting)", "mnist_inpaint", "moi", "mc", ">", 0.0),
    ("MOI learns beyond mc (compressed sensing)", "mnist_cs", "moi", "mc", ">", 0.0),
    ("MOI learns beyond mc (sparse-view CT)", "ct", "moi", "mc", ">", 0.0),
    (
        "EI with circular shifts gains nothing over mc on the circular blur",
        "deblur",
        "ei",
        "mc",
        "<",
        0.5,
    ),
    (
        "plain EI learns nothing beyond y on denoising (A = I: no null space)",
        "mnist_denoise",
        "ei",
        "pinv",
        "<",
        0.5,
    ),
    (
        "robust EI (SURE + EI) learns on Gaussian denoising",
        "mnist_denoise",
        "rei",
        "pinv",
        ">",
        0.0,
    ),
    (
        "SURE within 0.5 dB of supervised on Gaussian denoising",
        "mnist_denoise",
        "supervised",
        "sure",
        "<",
        0.5,
    ),
    (
        "R2R within 0.5 dB of supervised on Gaussian denoising",
        "mnist_denoise",
        "supervised",
        "r2r",
        "<",
        0.5,
    ),
    ("Noise2Self reaches the lower reference on CT", "ct", "noise2self", "pinv", ">", 0.0),
    ("SSDU reaches the lower reference on CT", "ct", "ssdu", "pinv", ">", 0.0),
    (
        "Noise2Self reaches the lower reference on deblurring",
        "deblur",
        "noise2self",
        "pinv",
        ">",
        0.0,
    ),
    ("SSDU reaches the lower reference on deblurring", "deblur", "ssdu", "pinv", ">", 0.0),
)
BOOTSTRAP = 2000  # resamples of the test images


def _verdict(lo, hi, relation: str, threshold: float) -> str:
    """held / failed / undecided for the claim `diff relation threshold` from its interval."""
    if undefined(lo) or undefined(hi):
        return "undecided"
    above, below = lo > threshold, hi < threshold
    if relation == ">":
        return "held" if above else "failed" if below else "undecided"
    return "held" if below else "failed" if above else "undecided"


def _bootstrap(per_image_diff, seed: int = 0) -> list[float]:
    """95% percentile interval of the mean over test images, resampling the images."""
    d = np.asarray(per_image_diff, np.float64)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, (BOOTSTRAP, d.size))].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def paired(a, b) -> dict:
    """The paired difference a - b of per-image PSNR arrays `(seeds, images)`: over seeds
    (mean and 95% t-interval of the per-seed means) and over test images (bootstrap)."""
    import bridge_jax as bj

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    s = bj.summarize((a - b).mean(axis=1))
    return {
        "mean": s["mean"],
        "ci95": s["ci95"],
        "n_seeds": s["n_trials"],
        "bootstrap_ci95": _bootstrap((a - b).mean(axis=0)),
        "n_images": int(a.shape[1]),
    }


def expectations(per_image: dict) -> dict:
    """Each expectation of `EXPECTATIONS` on this run: the paired difference, its intervals
    and the verdicts (from the seed interval; from the test-image bootstrap beside it); and
    per task, where the supervised reference is not the best method."""
    claims = []
    for text, task, a, b, relation, threshold in EXPECTATIONS:
        rows = per_image.get(task, {})
        claim = {
            "claim": text,
            "task": task,
            "a": a,
            "b": b,
            "relation": relation,
            "threshold_db": threshold,
        }
        if a not in rows or b not in rows:
            claim["verdict"] = "not run"
        else:
            d = paired(rows[a], rows[b])
            claim.update(d)
            claim["verdict"] = _verdict(*d["ci95"], relation, threshold)
            claim["verdict_bootstrap"] = _verdict(*d["bootstrap_ci95"], relation, threshold)
        claims.append(claim)
    supervised = {}
    for task, rows in per_image.items():
        if "supervised" not in rows:
            continue
        beats = {}
        for m, v in rows.items():
            if m != "supervised":
                d = paired(v, rows["supervised"])
                if d["mean"] > 0:
                    beats[m] = d
        supervised[task] = beats
    return {"claims": claims, "above_supervised": supervised}


def _diff(d: dict) -> str:
    lo, hi = d["ci95"]
    seeds = "no interval" if undefined(lo) else f"[{lo:+.2f}, {hi:+.2f}]"
    b_lo, b_hi = d["bootstrap_ci95"]
    return f"{d['mean']:+.2f} dB, seeds {seeds}, test images [{b_lo:+.2f}, {b_hi:+.2f}]"


def expectation_lines(conclusions: dict) -> list[str]:
    lines = [
        "| expectation | task | difference | threshold | verdict (seeds) | (test images) |",
        "|---|---|---|---|---|---|",
    ]
    for c in conclusions["claims"]:
        what = f"{c['a']} - {c['b']} {c['relation']} {c['threshold_db']:g} dB"
        if c["verdict"] == "not run":
            lines.append(f"| {c['claim']} | {c['task']} | not run | {what} | - | - |")
            continue
        lines.append(
            f"| {c['claim']} | {c['task']} | {_diff(c)} | {what} | {c['verdict']} | "
            f"{c['verdict_bootstrap']} |"
        )
    lines.append("")
    for task, beats in conclusions["above_supervised"].items():
        if not beats:
            lines.append(f"- {task}: supervised is the best method (on the mean).")
        for m, d in beats.items():
            lines.append(f"- {task}: {m} is above supervised by {_diff(d)}.")
    return lines


def _steps(row) -> str:
    if "steps" not in row:
        return "-"
    reasons = row["stopped_by"]
    capped = sum(r == "num_steps" for r in reasons)
    return f"{row['steps']['mean']:.0f} ({capped}/{len(reasons)} at the cap)"


def equal_budget(result: dict) -> dict:
    """Each method's test PSNR at an equal budget of network forward passes per training image:
    the budget is what a one-pass method spends at the cap (`max_steps` passes), reached by a
    method with p passes per image-step at step `max_steps / p` (on the evaluation grid).

    Read off the recorded test-PSNR curve of the same run (mean over seeds; a seed that
    stopped earlier counts with its last evaluation), so a method with p > 1 is seen
    mid-schedule, its learning rate not yet decayed: not what a run given that budget from the
    start would reach. `{task: {method: {"passes_per_step", "step", "psnr", "final"}}}`."""
    cap = result["config"]["max_steps"]
    every = result["config"]["eval_every"]
    out = {}
    for task, methods in result.get("curves", {}).items():
        rows = result["results"][task]
        for method, seeds in methods.items():
            passes = rows[method].get("forward_passes_per_step") or 1
            step = max(every, int(cap / passes) // every * every)
            psnrs = []
            for sd in seeds:
                curve = [(a, b) for a, b in _test_psnr_points(sd) if a <= step]
                if curve:
                    psnrs.append(curve[-1][1])
            if psnrs:
                out.setdefault(task, {})[method] = {
                    "passes_per_step": passes,
                    "step": step,
                    "psnr": float(np.mean(psnrs)),
                    "final": rows[method]["psnr"]["mean"],
                }
    return out


def equal_budget_lines(result: dict) -> list[str]:
    """The report's table of `equal_budget`, or nothing when no method needs more than one
    forward pass per step."""
    budget = equal_budget(result)
    cap = result["config"]["max_steps"]
    rows = [
        f"| {task} | {m} | {b['passes_per_step']} | {b['step']} | {b['psnr']:.2f} | "
        f"{b['final']:.2f} |"
        for task, methods in budget.items()
        for m, b in methods.items()
        if b["passes_per_step"] > 1
    ]
    if not rows:
        return []
    return [
        f"At an equal budget of {cap} network forward passes per training image (a one-pass "
        "method's cap), read off the same runs' test-PSNR curves (mid-schedule: a run given "
        "that budget from the start would have decayed its learning rate by then):",
        "",
        "| task | method | passes / image-step | step at the budget | PSNR at the budget | "
        "PSNR reported |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def section(result: dict, figures: list[str], out: str, *, elapsed: float) -> str:
    c, d = result["config"], result["definitions"]
    lines = [
        BEGIN,
        "## Self-supervised imaging benchmark",
        "",
        f"{d['network']}; training: {d['training']} (cap {c['max_steps']} steps, at least "
        f"{c.get('min_steps', 0)}, evaluation "
        f"every {c['eval_every']}, patience {c['patience']}, peak learning rate "
        f"{c['learning_rate']:g}, minibatch {c['batch_size']}). {c['seeds']} seeds (operator "
        f"draw, noise, initialisation, minibatches). {d['metrics']}. Reference 'pinv' = the "
        f"lower reference of each task; gap = {d['gap_closed']} (PSNR). Inference: "
        f"{d['rule_choice']}. All numbers with intervals in imaging.json.",
        "",
    ]
    for task, rows in result["results"].items():
        sources = d["test_sources"][task]
        lines += [
            f"**{task}**: {d['tasks'][task]}; pinv = {d['reference'][task]}; EI group: "
            f"{d['ei_group'][task]}.",
            "",
            "| method | rule | PSNR (dB) [95%] | SSIM [95%] | steps (at cap) | forward "
            "passes / image-step | gap closed | other rules (PSNR) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m, row in rows.items():
            others = ", ".join(
                f"{rule} {v['psnr']['mean']:.2f}"
                for rule, v in row["rules"].items()
                if rule != row["rule"]
            )
            lines.append(
                f"| {m} | {row['rule']} | {_cell(row['psnr'], 2)} | {_cell(row['ssim'], 3)} | "
                f"{_steps(row)} | {row.get('forward_passes_per_step', '-')} | {_gap(row)} | "
                f"{others or '-'} |"
            )
        for m, why in result["not_run"].get(task, {}).items():
            lines.append(f"| {m} | not run: {why} | | | | | | |")
        lines.append("")
        if len(sources) > 1:
            lines += [
                "PSNR per test source image (mean over seeds and the source's test images):",
                "",
                "| method | " + " | ".join(sources) + " |",
                "|---|" + "---|" * len(sources),
            ]
            for m, row in rows.items():
                ps = row["per_source_psnr"]
                lines.append(
                    f"| {m} | "
                    + " | ".join(f"{ps[n]:.2f}" if n in ps else "-" for n in sources)
                    + " |"
                )
            lines.append("")
    lines += equal_budget_lines(result)
    lines += [
        "Expectations from the literature at convergence (paired per-seed differences with "
        "their 95% t-interval, and a bootstrap interval over the test images; undecided when "
        "the interval contains the threshold):",
        "",
        *expectation_lines(result["conclusions"]),
        "",
    ]
    for path in figures:
        lines += [f"![{os.path.basename(path)}]({os.path.relpath(path, out)})", ""]
    lines += [f"Run time: {elapsed:.0f} s (this run; DIR/timings.json).", END]
    return "\n".join(lines)
