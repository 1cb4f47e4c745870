"""Units (MOI: one number of operators G, every m and trial in one compiled program; EI: one
(group, operator kind)), saved as they finish and resumed; summaries; the command line."""

from __future__ import annotations

import functools
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import scipy.stats

import bridge_jax as bj
from bridge_jax import store
from bridge_jax.studies._common import name_key
from bridge_jax.studies._config import MOI_INITS, MOI_LEARNERS, TheoremsConfig
from bridge_jax.studies._report import write_section
from bridge_jax.studies._runner import (
    UserError,
    check_writable,
    load_or_compute,
    progress_printer,
    study_config,
    write_timing,
)
from bridge_jax.studies._runner import unit_digest as _unit_digest
from bridge_jax.studies.theorems.plot import BEGIN, END, plot, section
from bridge_jax.studies.theorems.trial import ei_trial, moi_trial

FORMAT = "bridge_jax.theorems/1"
UNIT_FORMAT = "bridge_jax.theorems-unit/1"
STATISTICS = ("spectral_correlation", "subspace_alignment")


@functools.lru_cache(maxsize=64)
def _alignment_null(n: int, r: int, seed: int) -> float:
    if r >= n:
        return 1.0
    base = bj.random_subspace_baseline(n, r, key=jr.key(seed), num=200)
    return float(np.mean(np.asarray(base.alignment)))


@functools.partial(jax.jit, static_argnums=3)
def _statistics(cov, null, gram, r: int):
    """The paper's statistics with r = the stacked rank (static: one compilation per r)."""
    spec_g = bj.eigenspectrum(gram)
    top = max(2, r)
    return {
        "spectral_correlation": bj.spectral_correlation(bj.eigenspectrum(cov), spec_g, k=top),
        "spectral_correlation_null": bj.spectral_correlation(bj.eigenspectrum(null), spec_g, k=top),
        "subspace_alignment": bj.subspace_alignment(
            bj.leading_subspace(cov, max(1, r)), bj.leading_subspace(gram, max(1, r))
        ),
    }


def _finite(v):
    v = float(v)
    return v if np.isfinite(v) else None


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def _cell_statistics(c: TheoremsConfig, out: dict, i: int, t: int, rank: int) -> dict:
    """The paper's statistics for one (m, trial): C_SSRL against the stacked Gram matrix."""
    r = min(rank, c.n)
    stats = _statistics(out["c_ssrl"][i, t], out["c_null"][i, t], out["gram"][i, t], r)
    return {
        # A flat spectrum (a projection: the blur's Gram) has no correlation: None.
        **{name: _finite(v) for name, v in stats.items()},
        "subspace_alignment_null": _alignment_null(c.n, max(1, r), c.seed),
    }


def _unit_key(c: TheoremsConfig, part: str, spec: tuple):
    """The unit's key depends on the part, G or (group, kind) and the model only, not on k or
    R: every k and R sees the same draws (paired comparisons; operators and restart 0's
    initialisation alike), and the subspace model's keys are the single-start study's."""
    model, _, _, *rest = spec
    label = f"moi_G{rest[0]}" if part == "moi" else f"ei_{rest[0]}_{rest[1]}"
    if model != "subspace":
        label = f"{model}_{label}"
    return name_key(jr.fold_in(jr.key(c.seed), ("moi", "ei").index(part)), label)


def run_unit(c: TheoremsConfig, part: str, spec: tuple) -> dict:
    """Every (m, trial) of one unit; per (m, trial): errors, rank, identifiability, statistics."""
    ms = c.moi_m if part == "moi" else c.ei_m
    model, k, restarts = spec[:3]
    if part == "moi":
        g = spec[3]
        m_max = max(ms)
        fn = lambda kk, m: moi_trial(c, model, k, restarts, g, m_max, kk, m)  # noqa: E731
    else:
        group, kind = spec[3:]
        m_max = c.n if kind == "blur" else max(ms)
        fn = lambda kk, m: ei_trial(c, model, k, restarts, group, kind, m_max, kk, m)  # noqa: E731
    keys = jr.split(_unit_key(c, part, spec), c.trials)
    batched = jax.jit(jax.vmap(jax.vmap(fn, (0, None)), (None, 0)))
    out = jax.tree_util.tree_map(np.asarray, batched(keys, jnp.asarray(ms)))
    cells = []
    for i, m in enumerate(ms):
        for t in range(c.trials):
            if part == "moi":
                mats = out["a"][i, t]
                rank = bj.stacked_rank(mats)
                ident = (
                    bj.identifiable_dimension(out["bases"][i, t, 0], mats) == k
                    if model == "subspace" and c.num_subspaces == 1 and m >= k
                    else None
                )
            else:
                rank = bj.group_rank(out["a"][i, t].astype(np.float32), spec[3])
                ident = None
            cells.append(
                {
                    "m": int(m),
                    "trial": t,
                    "learned": float(out["learned"][i, t]),
                    "oracle": float(out["oracle"][i, t]),
                    "pinv": float(out["pinv"][i, t]),
                    "final_loss": float(out["final_loss"][i, t]),
                    "train_loss": float(out["train_loss"][i, t]),
                    "stacked_rank": int(rank),
                    "identifiable": ident,
                    **_cell_statistics(c, out, i, t, rank),
                }
            )
    return {"cells": cells}


def unit_label(part: str, spec: tuple) -> str:
    """`moi_subspace_k4_R4_G2`, `ei_sparse_k2_R1_shift_gaussian`: one file per unit."""
    model, k, restarts, *rest = spec
    return "_".join(
        [part, model, f"k{k}", f"R{restarts}"] + ([f"G{rest[0]}"] if part == "moi" else list(rest))
    )


def _units(c: TheoremsConfig) -> list[tuple[str, tuple]]:
    """MOI units (model, k, R, G), then EI units (model, k, R, group, kind)."""
    heads = [(model, k, r) for model in c.models for k in c.k for r in c.restarts]
    return [("moi", (*h, g)) for h in heads for g in c.moi_operators] + [
        ("ei", (*h, grp, kind)) for h in heads for grp in c.ei_groups for kind in c.ei_kinds
    ]


def _summary(c: TheoremsConfig, part: str, spec: tuple, cells: list[dict]) -> list[dict]:
    records = []
    for m in sorted({r["m"] for r in cells}):
        rows = [r for r in cells if r["m"] == m]
        learned = np.asarray([r["learned"] for r in rows])
        rec = {"part": part, "m": m, **_spec_fields(part, spec)}
        rec["success"] = bj.summarize_success(learned < c.threshold)
        rec["learned_rel_mse"] = bj.summarize(learned)
        rec["learned_median"] = float(np.median(learned))
        for name in ("oracle", "pinv"):
            rec[f"{name}_rel_mse"] = bj.summarize(np.asarray([r[name] for r in rows]))
        rec["oracle_success"] = bj.summarize_success(
            np.asarray([r["oracle"] for r in rows]) < c.threshold
        )
        rec["rank_condition"] = float(np.mean([r["stacked_rank"] == c.n for r in rows]))
        idents = [r["identifiable"] for r in rows if r["identifiable"] is not None]
        rec["identifiable"] = float(np.mean(idents)) if idents else None
        for s in STATISTICS:
            rec[s] = _mean([r[s] for r in rows])
            rec[f"{s}_null"] = _mean([r[f"{s}_null"] for r in rows])
        rec["bounds"] = _bounds(c, part, spec, m)
        records.append(rec)
    return records


def _spec_fields(part, spec):
    model, k, restarts, *rest = spec
    head = {"model": model, "k": k, "restarts": restarts}
    return {**head, "G": rest[0]} if part == "moi" else {**head, "group": rest[0], "kind": rest[1]}


def _bounds(c: TheoremsConfig, part: str, spec: tuple, m: int) -> dict:
    k = spec[1]
    if part == "moi":
        b = bj.moi_bounds(c.n, k, spec[3])
        # One subspace's exact threshold; the sparse set (a union) has no such line.
        if spec[0] != "subspace":
            b.pop("one_subspace")
        return b
    b = bj.group_bounds(spec[3], c.n, k)
    if spec[4] == "blur":
        # A circulant commutes with every shift and reflection: rank [A T_g] = rank A, so
        # only a full-rank blur (m = n) meets the necessary condition.
        b = {**b, "operator_equivariant": True}
    return b


def _spearman(records: list[dict], value) -> dict:
    # Cells where the statistic is undefined (a flat spectrum) are left out.
    used = [r for r in records if value(r) is not None]
    v = np.asarray([value(r) for r in used], float)
    succ = np.asarray([r["success"]["mean"] for r in used])
    if len(used) < 3 or np.ptp(v) == 0 or np.ptp(succ) == 0:
        return {"rho": None, "p": None, "cells": len(used), "note": "constant or < 3 cells"}
    rho, p = scipy.stats.spearmanr(v, succ)
    return {"rho": float(rho), "p": float(p), "cells": len(used)}


def rank_correlations(records: list[dict]) -> dict:
    """Spearman's rho between each statistic's cell mean and the success rate, over cells;
    also of the statistic minus its null (what C_SSRL adds beyond the operators' shape)."""
    out = {name: _spearman(records, lambda r, name=name: r[name]) for name in STATISTICS}
    for name in STATISTICS:

        def excess(r, name=name):
            if r[name] is None or r.get(f"{name}_null") is None:
                return None
            return r[name] - r[f"{name}_null"]

        out[f"{name}_minus_null"] = _spearman(records, excess)
    out["rank_condition"] = _spearman(records, lambda r: r["rank_condition"])
    out["m"] = _spearman(records, lambda r: r["m"])
    return out


def transitions(c: TheoremsConfig, records: list[dict]) -> list[dict]:
    """Per curve: the smallest m with success rate >= 0.5 (and where the oracle succeeds,
    and where the model is exactly identifiable in half the trials), beside each bound."""
    rows = []
    fields = ("part", "model", "k", "restarts", "G", "group", "kind")
    curve = lambda r: tuple(r.get(f) for f in fields)  # noqa: E731
    for key in sorted({curve(r) for r in records}, key=str):
        recs = sorted((r for r in records if curve(r) == key), key=lambda r: r["m"])
        m_star = next((r["m"] for r in recs if r["success"]["mean"] >= 0.5), None)
        m_oracle = next((r["m"] for r in recs if r["oracle_success"]["mean"] >= 0.5), None)
        m_ident = next((r["m"] for r in recs if (r["identifiable"] or 0.0) >= 0.5), None)
        rows.append(
            {
                **dict(zip(fields, key, strict=True)),
                "m_transition": m_star,
                "m_oracle": m_oracle,
                "m_identifiable": m_ident
                if any(r["identifiable"] is not None for r in recs)
                else None,
                "bounds": recs[0]["bounds"],
            }
        )
    return rows


def unit_digest(c: TheoremsConfig, part: str, spec: tuple) -> str:
    """Identifies one saved unit: the configuration, the unit's part and parameters, and all
    of the package's code."""
    return _unit_digest(c, "theorems", part=part, spec=list(spec))


def _check_size(c: TheoremsConfig) -> None:
    """Refuse, before any work, a size whose dense n x n matrices (one per trial and
    measurement count m, float32) cannot fit in the device at once: the study's programs
    build stacked Gram matrices and their eigendecompositions at every (trial, m)."""
    cells = c.trials * max(len(c.moi_m), len(c.ei_m))
    need = 4 * c.n * c.n * cells
    limit = bj.device_memory()
    if need > limit:
        most = math.isqrt(limit // (4 * cells))
        raise UserError(
            f"n = {c.n} needs about {need / 2**30:.1f} GiB at once ({cells} dense {c.n} x {c.n} "
            f"matrices: trials x measurement counts), more than the {limit / 2**30:.1f} GiB of "
            f"{jax.devices()[0]}; use n <= {most}, or fewer trials or m values."
        )


def theorems(config: TheoremsConfig, out: str, *, fresh: bool = False) -> dict:
    """Run (or resume) every unit; write DIR/theorems.json, figures and a report section."""
    c = config.validate()
    _check_size(c)
    check_writable(out)
    t0 = time.perf_counter()
    units = _units(c)
    say = progress_printer(len(units))
    moi, ei = [], []
    for i, (part, spec) in enumerate(units, 1):
        label = unit_label(part, spec)
        path = os.path.join(out, "theorems", f"{label}.json")
        unit = load_or_compute(
            path,
            unit_digest(c, part, spec),
            functools.partial(run_unit, c, part, spec),
            fmt=UNIT_FORMAT,
            writer="bridge-jax theorems",
            required=("cells",),
            say=lambda status, i=i, label=label: say(i, label, status),
            fresh=fresh,
        )
        (moi if part == "moi" else ei).extend(_summary(c, part, spec, unit["cells"]))
    result = {
        "format": FORMAT,
        "config": c.as_dict(),
        "definitions": DEFINITIONS,
        "moi": moi,
        "ei": ei,
        "transitions": transitions(c, moi + ei),
        "rank_correlation": {
            "moi": rank_correlations(moi) if moi else {},
            "ei": rank_correlations(ei) if ei else {},
        },
    }
    store.write_json(os.path.join(out, "theorems.json"), result)
    figures = plot(result, os.path.join(out, "figures"))
    elapsed = time.perf_counter() - t0
    write_timing(out, "theorems", elapsed)
    write_section(out, section(result, figures, out, elapsed=elapsed), BEGIN, END)
    return result


DEFINITIONS = {
    "success": "relative MSE sum ||f(A,y) - x||^2 / sum ||x||^2 over the test signals < "
    "threshold; mean = success rate over trials, ci95 = 95% Wilson interval",
    "oracle": "the learner's reconstructor with the true model (SubspaceUnion with the true "
    "bases, SparseInBasis with the true basis)",
    "pinv": "A^+ y (minimum norm)",
    "rank_condition": "fraction of trials with rank of the stacked operators (MOI: [A_g]; EI: "
    "[A T_g]) = n",
    "restarts": "R: initialisations per trial trained at once; kept: the lowest final training "
    "loss (train_loss, the measurement-only loss after the last step); final_loss: that "
    "run's loss before its last update",
    "moi_init": "MOI's first initialisation: random (Haar), or spectral: the k leading "
    "eigenvectors of (1/N) sum_i A_i^T y_i y_i^T A_i (measurements only); restarts 2..R random",
    "moi_learner": "how MOI fits the subspace model: varpro (varpro_steps Levenberg-Marquardt "
    "steps on the variable-projection objective sum min_l ||(I - P_{A U_l}) y||^2, "
    "fit_subspaces) or gradient (num_steps Adam steps on moi_loss); the sparse model and EI "
    "always gradient",
    "identifiable": "MOI, one subspace: fraction of trials with dim cap_g (S + ker A_g) = k "
    "(exact, identifiable_dimension)",
    "spectral_correlation": "Pearson r of the sorted spectra of C_SSRL (K views of the "
    "back-projections A^+ y) and of the stacked Gram sum_g A_g^T A_g (EI: mean_g T_g^T A^T A "
    "T_g), top r = stacked rank; null: C_SSRL replaced by the covariance of isotropic noise",
    "subspace_alignment": "mean cosine of the principal angles between the leading r-dim "
    "eigenspaces of C_SSRL and of the stacked Gram; null: random r-dim subspaces",
}


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    parser.add_argument("--trials", type=int, help="trials per cell (default 8)")
    parser.add_argument("--seed", type=int, help="random seed (default 42)")
    parser.add_argument("--steps", type=int, help="training steps (default 1500)")
    parser.add_argument("--n", type=int, help="signal dimension n (default 32)")
    parser.add_argument(
        "--moi-init",
        choices=MOI_INITS,
        help="MOI's first initialisation: random (default) or spectral (the leading "
        "eigenvectors of the back-projected measurements' second moment; subspace model only)",
    )
    parser.add_argument(
        "--moi-learner",
        choices=MOI_LEARNERS,
        help="how MOI fits the subspace model: varpro (default; Levenberg-Marquardt on the "
        "variable-projection objective, fit_subspaces) or gradient (Adam on the MOI loss); "
        "the sparse model and EI always use gradient",
    )
    parser.add_argument(
        "--varpro-steps", type=int, help="steps of the varpro learner (default 100)"
    )
    for option, field, default in LIST_OPTIONS:
        parser.add_argument(f"--{option}", help=f"comma-separated {field} (default {default})")
    parser.add_argument("--quick", action="store_true", help="a tiny setting (smoke test)")
    parser.add_argument("--fresh", action="store_true", help="recompute saved units")


# Swept lists settable from the command line: (option, field, default shown in --help).
LIST_OPTIONS = (
    ("k", "k", "4: model dimensions"),
    ("restarts", "restarts", "4: initialisations per trial, the lowest training loss kept"),
    ("models", "models", "subspace; also: sparse"),
    ("operators", "moi_operators", "1,2,4,8: numbers of operators G"),
    ("moi-m", "moi_m", "2,...,32"),
    ("ei-m", "ei_m", "1,...,31"),
    ("groups", "ei_groups", "identity,shift,reflection"),
    ("kinds", "ei_kinds", "gaussian,mask,blur"),
)
_TEXT_FIELDS = ("models", "ei_groups", "ei_kinds")


def _list_option(option: str, field: str, text: str) -> tuple:
    items = tuple(v.strip() for v in text.split(",") if v.strip())
    if field in _TEXT_FIELDS:
        return items
    try:
        return tuple(int(v) for v in items)
    except ValueError:
        raise UserError(f"--{option} must be comma-separated integers, got {text!r}.") from None


def run_from_args(args) -> int:
    flags = {
        "trials": "trials",
        "seed": "seed",
        "steps": "num_steps",
        "n": "n",
        "moi_init": "moi_init",
        "moi_learner": "moi_learner",
        "varpro_steps": "varpro_steps",
    }
    overrides = {
        field: _list_option(option, field, getattr(args, option.replace("-", "_")))
        for option, field, _ in LIST_OPTIONS
        if getattr(args, option.replace("-", "_")) is not None
    }
    config = study_config(TheoremsConfig, args, flags, **overrides)
    theorems(config, args.out, fresh=args.fresh)
    print(
        f"wrote {os.path.join(args.out, 'theorems.json')} and a section of "
        f"{os.path.join(args.out, 'report.md')}",
        file=sys.stderr,
    )
    with open(os.path.join(args.out, "report.md")) as f:
        text = f.read()
    print(text.split(BEGIN, 1)[1].split(END, 1)[0].split("![", 1)[0].strip())
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.theorems") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("theorems", argv, prog)
