"""Phase diagrams with the theoretical lines, the transition table and the report section."""

from __future__ import annotations

import os

import numpy as np

from bridge_jax.studies._report import fmt

BEGIN, END = "<!-- theorems:begin -->", "<!-- theorems:end -->"


def plot(result: dict, fig_dir: str) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    c = result["config"]
    paths = []
    if result["moi"]:
        gs = c["moi_operators"]
        ms = sorted({r["m"] for r in result["moi"]})
        grid = np.full((len(ms), len(gs)), np.nan)
        for r in result["moi"]:
            grid[ms.index(r["m"]), gs.index(r["G"])] = r["success"]["mean"]
        fig, ax = plt.subplots(figsize=(5.2, 4.2))
        im = ax.imshow(
            grid, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
            extent=(-0.5, len(gs) - 0.5, -0.5, len(ms) - 0.5),
        )  # fmt: skip
        xs = np.arange(len(gs))
        pos = lambda v: np.interp(v, ms, np.arange(len(ms)))  # noqa: E731 - m -> row position
        n, k = c["n"], c["k"]
        g = np.asarray(gs, float)
        for values, style, label in (
            (n / g, "w--", "necessary m = n/G"),
            (k + (n - k) / g, "w:", "one subspace m = k + (n-k)/G"),
            (k + n / g, "r-", "sufficient m = k + n/G"),
        ):
            ax.plot(xs, pos(values), style, lw=2, label=label)
        ax.set_xticks(xs, [str(v) for v in gs])
        ax.set_yticks(np.arange(len(ms)), [str(v) for v in ms])
        ax.set_xlabel("operators G")
        ax.set_ylabel("measurements per operator m")
        ax.legend(fontsize=7, loc="upper right")
        fig.colorbar(im, ax=ax, label="success rate")
        ax.set_title(
            f"MOI, n={n}, k={k}: success (rel. MSE < {c['threshold']:g}), {c['trials']} trials",
            fontsize=9,
        )
        paths.append(save(fig, fig_dir, "theorems_moi.png"))
    if result["ei"]:
        kinds = c["ei_kinds"]
        fig, axes = plt.subplots(
            1, len(kinds), figsize=(3.6 * len(kinds), 3.2), squeeze=False, sharey=True
        )
        for a, kind in enumerate(kinds):
            ax = axes[0][a]
            for q, group in enumerate(c["ei_groups"]):
                recs = sorted(
                    (r for r in result["ei"] if r["kind"] == kind and r["group"] == group),
                    key=lambda r: r["m"],
                )
                xs = [r["m"] for r in recs]
                ax.plot(xs, [r["success"]["mean"] for r in recs], "o-", ms=3, color=f"C{q}",
                        label=group)  # fmt: skip
                ax.fill_between(xs, [r["success"]["ci95"][0] for r in recs],
                                [r["success"]["ci95"][1] for r in recs], color=f"C{q}",
                                alpha=0.15, lw=0)  # fmt: skip
                b = recs[0]["bounds"]
                ax.axvline(b["necessary"], color=f"C{q}", ls="--", lw=1)
                if b["sufficient"] <= c["n"]:
                    ax.axvline(b["sufficient"], color=f"C{q}", ls=":", lw=1.5)
            ax.set_title(f"EI, {kind} operator", fontsize=9)
            ax.set_xlabel("m (rank of A)")
            ax.set_ylim(-0.03, 1.03)
        axes[0][0].set_ylabel("success rate")
        axes[0][0].legend(fontsize=7, title="group", title_fontsize=7)
        fig.suptitle(
            "EI with one operator: dashed = necessary max c_j/s_j, dotted = sufficient "
            "2k + max c_j + 1 (per group colour)",
            fontsize=9,
        )
        paths.append(save(fig, fig_dir, "theorems_ei.png"))
    return paths


def _curve_name(t):
    return f"MOI, G={t['G']}" if t["part"] == "moi" else f"EI, {t['group']}, {t['kind']}"


def section(result: dict, figures: list[str], out: str) -> str:
    c = result["config"]
    lines = [
        BEGIN,
        "## When can a model be learned from measurements alone? (sensing theorems, issue 16)",
        "",
        f"Signals: one (or a union of {c['num_subspaces']}) k={c['k']}-dimensional subspace(s) "
        f"of R^{c['n']}; the learner is `SubspaceUnion` (f(A, y) = U (AU)^+ y), trained by MOI "
        f"(G Gaussian operators) or EI (one operator, a group) for {c['num_steps']} Adam steps; "
        f"success = test relative MSE < {c['threshold']:g}; {c['trials']} trials per cell. "
        "Definitions: the docstring of bridge_jax/studies/theorems/ and theorems.json. The "
        "bounds are our reading of Tachella, Chen & Davies (NeurIPS 2022; JMLR 2023), not "
        "checked against the papers' text.",
        "",
        "Where the empirical transition (smallest m with success rate >= 0.5) sits against each "
        "bound:",
        "",
        "| curve | transition m | oracle succeeds from | exactly identifiable from | necessary "
        "| one subspace | sufficient |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in result["transitions"]:
        b = t["bounds"]
        one = f"{b['one_subspace']:.2f}" if "one_subspace" in b else "-"
        m_t, m_o, m_i = (
            "-" if t[key] is None else str(t[key])
            for key in ("m_transition", "m_oracle", "m_identifiable")
        )
        lines.append(
            f"| {_curve_name(t)} | {m_t} | {m_o} | {m_i} | m >= {b['necessary']:.2f} | {one} | "
            f"m > {b['sufficient']:.2f}{' (operator commutes with the group)' if b.get('operator_equivariant') else ''} |"  # noqa: E501
        )
    lines += ["", "Success rate [95% interval] (MOI; rows m, columns G):", ""]
    gs = c["moi_operators"]
    if result["moi"]:
        lines += ["| m | " + " | ".join(f"G={g}" for g in gs) + " |", "|---|" + "---|" * len(gs)]
        for m in sorted({r["m"] for r in result["moi"]}):
            cells = []
            for g in gs:
                (r,) = [r for r in result["moi"] if r["m"] == m and r["G"] == g]
                s = r["success"]
                cells.append(
                    f"{fmt(s['mean'], 2)} [{fmt(s['ci95'][0], 2)}, {fmt(s['ci95'][1], 2)}]"
                )
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Do the paper's statistics predict success? Spearman's rho over the cells between each "
        "statistic's cell mean and the success rate; `_minus_null`: the statistic minus its "
        "null (what C_SSRL adds beyond the operators); the rank condition and m as references:",
        "",
        "| part | statistic | rho | p | cells |",
        "|---|---|---|---|---|",
    ]
    for part, stats in result["rank_correlation"].items():
        for name, v in stats.items():
            rho = "constant" if v["rho"] is None else fmt(v["rho"], 3)
            p = "-" if v["p"] is None else f"{v['p']:.2g}"
            lines.append(f"| {part} | {name} | {rho} | {p} | {v['cells']} |")
    lines.append("")
    for path in figures:
        lines += [f"![{os.path.basename(path)}]({os.path.relpath(path, out)})", ""]
    lines += [f"Run time: {result['elapsed_s']:.0f} s.", END]
    return "\n".join(lines)
