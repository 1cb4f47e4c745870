"""Phase diagrams with the theoretical lines, the transition table and the report section."""

from __future__ import annotations

import os

import numpy as np

from bridge_jax.studies._report import fmt

BEGIN, END = "<!-- theorems:begin -->", "<!-- theorems:end -->"


def _combos(records: list[dict]) -> list[tuple]:
    """The (model, k, restarts) settings present, in order."""
    return sorted({(r["model"], r["k"], r["restarts"]) for r in records}, key=str)


def _combo_name(combo) -> str:
    model, k, restarts = combo
    return f"{model}, k={k}, R={restarts}"


def plot(result: dict, fig_dir: str) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    c = result["config"]
    paths = []
    if result["moi"]:
        combos = _combos(result["moi"])
        fig, axes = plt.subplots(1, len(combos), figsize=(5.2 * len(combos), 4.2), squeeze=False)
        for ax, combo in zip(axes[0], combos, strict=True):
            recs = [r for r in result["moi"] if (r["model"], r["k"], r["restarts"]) == combo]
            gs = c["moi_operators"]
            ms = sorted({r["m"] for r in recs})
            grid = np.full((len(ms), len(gs)), np.nan)
            for r in recs:
                grid[ms.index(r["m"]), gs.index(r["G"])] = r["success"]["mean"]
            im = ax.imshow(
                grid, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                extent=(-0.5, len(gs) - 0.5, -0.5, len(ms) - 0.5),
            )  # fmt: skip
            xs = np.arange(len(gs))
            pos = lambda v, ms=ms: np.interp(v, ms, np.arange(len(ms)))  # noqa: E731 - m -> row
            n, k = c["n"], combo[1]
            g = np.asarray(gs, float)
            lines = [(n / g, "w--", "necessary m = n/G")]
            if combo[0] == "subspace":
                lines.append((k + (n - k) / g, "w:", "one subspace m = k + (n-k)/G"))
            lines.append((k + n / g, "r-", "sufficient m = k + n/G"))
            for values, style, label in lines:
                if len(gs) == 1:  # one column: a line across it, not a point
                    ax.axhline(pos(values)[0], color=style[0], ls=style[1:], lw=2, label=label)
                else:
                    ax.plot(xs, pos(values), style, lw=2, label=label)
            ax.set_xticks(xs, [str(v) for v in gs])
            ax.set_yticks(np.arange(len(ms)), [str(v) for v in ms])
            ax.set_xlabel("operators G")
            ax.set_ylabel("measurements per operator m")
            ax.legend(fontsize=7, loc="upper right")
            fig.colorbar(im, ax=ax, label="success rate")
            ax.set_title(
                f"MOI, n={n}, {_combo_name(combo)}: success (rel. MSE < {c['threshold']:g}), "
                f"{c['trials']} trials",
                fontsize=8,
            )
        paths.append(save(fig, fig_dir, "theorems_moi.png"))
    if result["ei"]:
        kinds = c["ei_kinds"]
        combos = _combos(result["ei"])
        fig, axes = plt.subplots(
            len(combos), len(kinds), figsize=(3.6 * len(kinds), 3.2 * len(combos)),
            squeeze=False, sharey=True,
        )  # fmt: skip
        for row, combo in enumerate(combos):
            for a, kind in enumerate(kinds):
                ax = axes[row][a]
                for q, group in enumerate(c["ei_groups"]):
                    recs = sorted(
                        (
                            r
                            for r in result["ei"]
                            if r["kind"] == kind
                            and r["group"] == group
                            and (r["model"], r["k"], r["restarts"]) == combo
                        ),
                        key=lambda r: r["m"],
                    )
                    xs = [r["m"] for r in recs]
                    ax.plot(xs, [r["success"]["mean"] for r in recs], "o-", ms=3,
                            color=f"C{q}", label=group)  # fmt: skip
                    ax.fill_between(xs, [r["success"]["ci95"][0] for r in recs],
                                    [r["success"]["ci95"][1] for r in recs], color=f"C{q}",
                                    alpha=0.15, lw=0)  # fmt: skip
                    b = recs[0]["bounds"]
                    ax.axvline(b["necessary"], color=f"C{q}", ls="--", lw=1)
                    if b["sufficient"] <= c["n"]:
                        ax.axvline(b["sufficient"], color=f"C{q}", ls=":", lw=1.5)
                ax.set_title(f"EI, {kind} operator, {_combo_name(combo)}", fontsize=8)
                ax.set_xlabel("m (rank of A)")
                ax.set_ylim(-0.03, 1.03)
            axes[row][0].set_ylabel("success rate")
        axes[0][0].legend(fontsize=7, title="group", title_fontsize=7)
        fig.suptitle(
            "EI with one operator: dashed = necessary max c_j/s_j,\ndotted = sufficient "
            "2k + max c_j + 1 (per group colour)",
            fontsize=9,
        )
        paths.append(save(fig, fig_dir, "theorems_ei.png"))
    return paths


def _curve_name(t):
    head = f"{t['model']}, k={t['k']}, R={t['restarts']}"
    if t["part"] == "moi":
        return f"MOI, G={t['G']}, {head}"
    return f"EI, {t['group']}, {t['kind']}, {head}"


def _moi_learner(c: dict) -> str:
    if c.get("moi_learner", "gradient") == "varpro":  # results before it existed: gradient
        return (
            f"{c['varpro_steps']} Levenberg-Marquardt steps on the variable-projection "
            f"objective for the subspace model, {c['num_steps']} Adam steps for the sparse one"
        )
    return f"{c['num_steps']} Adam steps"


def section(result: dict, figures: list[str], out: str, *, elapsed: float) -> str:
    c = result["config"]
    lines = [
        BEGIN,
        "## When can a model be learned from measurements alone? (sensing theorems)",
        "",
        f"Signals in R^{c['n']} of dimension k = {c['k']}: models {c['models']} (subspace: one "
        f"(or a union of {c['num_subspaces']}) k-dim subspace(s), learned by `SubspaceUnion`, "
        "f(A, y) = U (AU)^+ y; sparse: k-sparse in a basis, learned by `SparseInBasis`), "
        f"trained by MOI (G Gaussian operators; {_moi_learner(c)}) or EI (one operator, a "
        f"group; {c['num_steps']} Adam steps) from R = {c['restarts']} initialisations (the "
        f"lowest training loss kept; MOI's first one {c.get('moi_init', 'random')}); "
        f"success = test relative MSE < {c['threshold']:g}; "
        f"{c['trials']} trials per cell. "
        "Definitions: the docstring of bridge_jax/studies/theorems/ and theorems.json. The "
        "bounds: Tachella, Chen & Davies, JMLR 24(39), 2023, Proposition 3 and Theorem 4 "
        "(G operators), Proposition 8 and Theorem 9 (one operator, a cyclic group).",
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
        cols = [(combo, g) for combo in _combos(result["moi"]) for g in gs]
        many = len(cols) > len(gs)
        names = [f"{_combo_name(combo)}, G={g}" if many else f"G={g}" for combo, g in cols]
        lines += ["| m | " + " | ".join(names) + " |", "|---|" + "---|" * len(cols)]
        for m in sorted({r["m"] for r in result["moi"]}):
            cells = []
            for combo, g in cols:
                (r,) = [
                    r
                    for r in result["moi"]
                    if r["m"] == m and r["G"] == g and (r["model"], r["k"], r["restarts"]) == combo
                ]
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
    lines += [f"Run time: {elapsed:.0f} s.", END]
    return "\n".join(lines)
