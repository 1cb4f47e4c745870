"""The paper's spectral and subspace analyses (Figures 1 and 4) at image scale.

Question: on real images (MNIST 28 x 28, 64 x 64 patches of scikit-image's pictures) with
image augmentations, do the paper's statistics relating C_SSRL to A^T A carry information,
i.e. differ from their nulls, for the imaging operators (MRI, CT, super-resolution, blur,
inpainting, compressed sensing), and is it the operators whose structure resembles the
augmentations' for which they do?

Definitions (those of `fig1_spectrum` and `fig4_transfer`, computed matrix-free):
- Signals: per trial N random images of the data set, in [0, 1], flattened (n = H W).
- Views: K image augmentations T_k drawn once per trial and shared by all signals (the paper's
  reading): a resized crop of at least `min_crop` of each side, a rotation by U(-a, a) degrees,
  a shift by U(-s, s) pixels (s = `max_shift` times the side), a left-right flip with
  probability 1/2; plus fresh N(0, `aug_noise`^2) noise per view.
- C_SSRL = D^T D / (NK), D the NK x n centred views (each signal's views around their mean):
  its eigenpairs exactly from the NK x NK Gram D D^T / (NK) (NK = 640 < n; no n x n matrix;
  exact, and ~30x faster than LOBPCG on the operator). A^T A: `gram(A)`, its k leading
  eigenpairs by LOBPCG (`leading_eigenpairs(..., method="lobpcg")`), matrix-free.
- Operators: one per trial, the same for all signals: `mri` (Cartesian,
  acceleration 4, 8% centre), `ct` (parallel-beam Radon, `ct_angles` angles at 64 x 64, in
  proportion to the side at other sizes), `sr` (2 x 2 average pooling), `blur` (Gaussian of
  width `blur_sigma`, circular), `inpainting` (half of the pixels), `cs` (`StructuredSensing`,
  m = n/4). No n x n matrix is formed.
- spectral_correlation: Pearson r of the top k eigenvalues of C_SSRL and of A^T A. Null: the
  same with C_SSRL replaced by the sample covariance of NK isotropic Gaussian vectors.
  Undefined when A^T A is flat over its top k (a projection: MRI, SR, inpainting, CS).
- subspace_alignment, grassmann_distance: mean cosine and 2-norm of the principal angles
  between the leading k-dim eigenspaces of C_SSRL and of A^T A. Null: the same between random
  k-dim subspaces (`random_subspace_baseline`). Undefined when A^T A is flat over its top k (its
  leading k-dim eigenspace is then an arbitrary part of a larger eigenspace).
- measured_energy: tr(U^T A^T A U) / (k ||A||^2) for U the leading k-dim eigenspace of C_SSRL:
  how much of the augmentations' main directions the measurements see (for a projection A^T A,
  the mean squared cosine of the principal angles to the row space). Defined for every
  operator. Null: the same for a random k-dim subspace U.
- effective_rank: exp of the entropy of the whole spectrum of C_SSRL. Null: the same for the
  isotropic Gaussian sample covariance.
- Summary: mean and 95% t-interval over the T trials where the statistic is defined
  (`summarize`; `n_trials` counts them); the null's mean and interval over the same kind of
  trials; "differs" when the statistic's interval (over at least 2 trials) excludes the null's
  mean, "direction" above or below it.

Why a command of its own and not `bridge-jax reproduce --data mnist --operator ...`: reproduce's
setting is built on dense n x n matrices at n = 64 (exact eigendecompositions, dense views);
here n = 4096 and everything is matrix-free, so the pipeline differs.

    bridge-jax spectra --out DIR [--quick] [--data mnist,patches] [--operators mri,ct,...]
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import store
from bridge_jax.studies._common import name_key
from bridge_jax.studies._config import (
    Recorded,
    number,
    positive_int,
    seed_value,
    setting,
    tuple_of,
)
from bridge_jax.studies._report import write_section
from bridge_jax.studies._runner import (
    UserError,
    check_writable,
    load_or_compute,
    progress_printer,
    write_timing,
)
from bridge_jax.studies._runner import unit_digest as _unit_digest

NAME = "spectra"
FORMAT = "bridge_jax.spectra/1"
UNIT_FORMAT = "bridge_jax.spectra_unit/1"
BEGIN = "<!-- bridge-jax spectra: begin -->"
END = "<!-- bridge-jax spectra: end -->"
DATA = ("mnist", "patches")
OPERATORS = ("mri", "ct", "sr", "blur", "inpainting", "cs")
DETERMINISTIC = ("ct", "sr", "blur")  # the same operator in every trial
STATISTICS = {
    "spectral_correlation": "Pearson r, top-k eigenvalues of C_SSRL vs A^T A",
    "subspace_alignment": "mean cos of principal angles, leading k-dim eigenspaces",
    "grassmann_distance": "2-norm of the same principal angles",
    "measured_energy": "tr(U^T A^T A U) / (k ||A||^2), U leading k-dim eigenspace of C_SSRL",
    "effective_rank": "exp entropy of the whole spectrum of C_SSRL",
}
NULLS = {
    "spectral_correlation": "isotropic Gaussian sample covariance in place of C_SSRL",
    "subspace_alignment": "random k-dim subspaces",
    "grassmann_distance": "random k-dim subspaces",
    "measured_energy": "random k-dim subspace U",
    "effective_rank": "isotropic Gaussian sample covariance",
}
FLAT_RTOL = 1e-3  # A^T A "flat" / degenerate when eigenvalues differ by less than this


def _flag(value) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


@dataclasses.dataclass(frozen=True)
class SpectraConfig(Recorded):
    """The image-scale spectra study's settings (see the module docstring)."""

    data: tuple[str, ...] = setting(DATA, tuple_of(None, allowed=DATA))
    operators: tuple[str, ...] = setting(OPERATORS, tuple_of(None, allowed=OPERATORS))
    signals: int = setting(64, positive_int)
    views: int = setting(10, positive_int)
    k: int = setting(32, positive_int)
    trials: int = setting(5, positive_int)
    seed: int = setting(0, seed_value)
    patch_size: int = setting(64, positive_int)
    max_angle: float = setting(10.0, number(0, 90))
    max_shift: float = setting(0.05, number(0, 0.5))
    min_crop: float = setting(0.8, number(0, 1, low_open=True))
    flip: bool = setting(True, _flag)
    aug_noise: float = setting(0.05, number(0))
    ct_angles: int = setting(45, positive_int)
    blur_sigma: float = setting(1.5, number(0, low_open=True))
    null_samples: int = setting(8, positive_int)
    eig_iters: int = setting(200, positive_int)

    @classmethod
    def quick(cls, **overrides) -> SpectraConfig:
        """A tiny setting (16 x 16 patches, few signals and trials): seconds, for smoke tests."""
        small = dict(signals=12, views=4, k=4, trials=3, patch_size=16, null_samples=2)
        return cls(**{**small, "eig_iters": 60, **overrides})

    def relations(self):
        if self.k < 2:
            yield f"k must be >= 2 (a correlation over the top k), got {self.k}."
        if self.views < 2:
            yield f"views must be >= 2 (a covariance of views needs two), got {self.views}."
        if self.patch_size < 8 or self.patch_size % 2:
            yield f"patch_size must be even and >= 8, got {self.patch_size}."
        n = min(self.sides().values())
        if 5 * self.k >= n * n:
            yield f"k must be < n/5 = {n * n / 5:g} (LOBPCG), got {self.k}."
        if self.k >= self.signals * (self.views - 1):
            yield (
                f"k must be < N(K-1) = {self.signals * (self.views - 1)} (the rank of C_SSRL "
                f"without noise), got {self.k}."
            )

    def sides(self) -> dict[str, int]:
        return {"mnist": 28, "patches": self.patch_size}


# --------------------------------------------------------------------------- one trial


def pool(config: SpectraConfig, data: str):
    """All images of data set `data`, shape (num, H, W), in [0, 1]."""
    if data == "mnist":
        return bj.load_mnist()[0]
    patches = bj.load_image_patches(config.patch_size)
    return jnp.concatenate([patches.train, patches.test])


def operator(config: SpectraConfig, name: str, side: int, *, key):
    """The operator `name` on (side, side) images; random ones drawn from `key`."""
    shape, n = (side, side), side * side
    if name == "mri":
        return bj.MRI(bj.cartesian_mask(shape, 4, center_fraction=0.08, key=key))
    if name == "ct":
        return bj.Radon(shape, max(4, round(config.ct_angles * side / 64)))
    if name == "sr":
        return bj.Downsample(shape, 2)
    if name == "blur":
        return bj.Blur(bj.gaussian_kernel(config.blur_sigma), shape=shape)
    if name == "inpainting":
        return bj.Mask(bj.random_mask(shape, 0.5, key=key))
    return bj.StructuredSensing(shape, n // 4, key=key)


def make_views(x, *, key, config: SpectraConfig, shape):
    """Views (N, K, n) of flat images x (N, n): K augmentations drawn once from `key` and
    applied to every image, plus fresh Gaussian noise per view."""
    k_t, k_noise = jr.split(key)

    def augment(k, xi):
        return bj.random_image_augmentation(
            xi,
            key=k,
            max_angle=config.max_angle,
            max_shift=config.max_shift * shape[0],
            min_crop=config.min_crop,
            flip=config.flip,
            shape=shape,
        )

    transforms = jr.split(k_t, config.views)
    views = jax.vmap(lambda xi: jax.vmap(lambda k: augment(k, xi))(transforms))(x)
    return views + config.aug_noise * jr.normal(k_noise, views.shape, views.dtype)


@functools.partial(jax.jit, static_argnums=1)
def covariance_eigenpairs(d, k: int):
    r"""All eigenvalues (decreasing) of $C = D^\top D / r$ for $D$ the $r \times n$ rows `d`,
    and its `k` leading eigenvectors as an `(n, k)` basis, from the $r \times r$ Gram
    $D D^\top / r$ (the same non-zero eigenvalues; $u = D^\top w / \sqrt{\lambda r}$): exact,
    and no $n \times n$ matrix."""
    r = d.shape[0]
    lam, w = jnp.linalg.eigh(d @ d.T / r)
    lam, w = jnp.maximum(lam[::-1], 0.0), w[:, ::-1]
    tiny = jnp.finfo(d.dtype).tiny
    return lam, d.T @ w[:, :k] / jnp.sqrt(jnp.maximum(lam[:k], tiny) * r)


_baseline = jax.jit(bj.random_subspace_baseline, static_argnums=(0, 1), static_argnames="num")


@eqx.filter_jit
def _energy(op, u, top):
    """tr(U^T A^T A U) / (k top) for an (n, k) basis U."""
    shape, k = op.in_structure().shape, u.shape[1]
    gram_op = bj.gram(op)
    g = jax.vmap(gram_op.mv)(u.T.reshape(k, *shape)).reshape(k, -1)
    return jnp.sum(g * u.T) / (k * top)


def statistics(views, op, k: int, *, key, num_iters=200, op_eig=None, baseline=None, null=8):
    """One trial's statistics and their nulls (the module docstring's definitions).

    `views` (N, K, n) flat views; `op` an operator on `shape` images (its `in_structure`);
    `op_eig` the `(values, vectors)` of `leading_eigenpairs(gram(op), k)` when already known
    (otherwise computed here by LOBPCG with `num_iters` iterations at most); `baseline` a
    `random_subspace_baseline(n, k)` sample for the subspace nulls (otherwise `null` pairs
    drawn here: it depends only on n and k, so a caller with many trials draws it once). Returns
    {name: value} and {"null_" + name: value} (NaN: undefined), and the two top-k spectra.
    """
    num, kv, n = views.shape
    k_null, k_a, k_sub, k_u = jr.split(key, 4)
    d = (views - views.mean(axis=1, keepdims=True)).reshape(num * kv, n)
    spec_c, u_c = covariance_eigenpairs(d, k)
    spec_null, _ = covariance_eigenpairs(jr.normal(k_null, d.shape, d.dtype), k)
    lam_c, lam_null = spec_c[:k], spec_null[:k]
    if op_eig is None:
        op_eig = bj.leading_eigenpairs(
            bj.gram(op), k, method="lobpcg", num_iters=num_iters, key=k_a
        )
    lam_a, vec_a = op_eig
    u_a = vec_a.reshape(k, n).T
    # A flat top k: the leading k-dim eigenspace of A^T A is an arbitrary k-dim part of a
    # larger eigenspace. (A tie only at lambda_k = lambda_{k+1}, as the symmetric pairs of a
    # circular blur give, leaves a few of the k directions arbitrary: accepted.)
    flat = float(lam_a[0] - lam_a[-1]) <= FLAT_RTOL * float(lam_a[0])
    nan = float("nan")
    out = {}
    out["spectral_correlation"] = nan if flat else float(bj.spectral_correlation(lam_c, lam_a))
    out["null_spectral_correlation"] = (
        nan if flat else float(bj.spectral_correlation(lam_null, lam_a))
    )
    base = _baseline(n, k, key=k_sub, num=null) if baseline is None else baseline
    out["subspace_alignment"] = nan if flat else float(bj.subspace_alignment(u_c, u_a))
    out["grassmann_distance"] = nan if flat else float(bj.grassmann_distance(u_c, u_a))
    out["null_subspace_alignment"] = float(jnp.mean(base.alignment))
    out["null_grassmann_distance"] = float(jnp.mean(base.grassmann))
    out["measured_energy"] = float(_energy(op, u_c, lam_a[0]))
    out["null_measured_energy"] = float(_energy(op, bj.random_subspace(n, k, key=k_u), lam_a[0]))
    out["effective_rank"] = float(bj.effective_rank(spec_c, "entropy"))
    out["null_effective_rank"] = float(bj.effective_rank(spec_null, "entropy"))
    out["spectrum_c"] = np.asarray(lam_c).tolist()
    out["spectrum_a"] = np.asarray(lam_a).tolist()
    return out


# --------------------------------------------------------------------------- units


def unit_key(config: SpectraConfig, data: str, name: str):
    """The key of the unit (data, operator): from the two names (not their places in DATA
    and OPERATORS), so a unit's draws do not depend on which other units exist or their
    order."""
    return name_key(name_key(jr.key(config.seed), data), name)


def run_unit(config: SpectraConfig, data: str, name: str, images) -> dict:
    """All trials of one (data, operator): per-trial statistics, nulls and spectra."""
    c = config
    side = images.shape[-1]
    shape = (side, side)
    flat = images.reshape(images.shape[0], -1)
    root = unit_key(c, data, name)
    views_fn = jax.jit(lambda x, key: make_views(x, key=key, config=c, shape=shape))
    trials, op_eig = [], None
    n = side * side
    subspaces = _baseline(n, c.k, key=jr.fold_in(root, 2**20), num=c.null_samples * c.trials)
    for t in range(c.trials):
        k_x, k_v, k_op, k_s = jr.split(jr.fold_in(root, t), 4)
        null = slice(t * c.null_samples, (t + 1) * c.null_samples)
        x = bj.DatasetSource(flat, replace=False).draw(c.signals, key=k_x)
        op = operator(c, name, side, key=k_op)
        if op_eig is None or name not in DETERMINISTIC:
            op_eig = bj.leading_eigenpairs(
                bj.gram(op), c.k, method="lobpcg", num_iters=c.eig_iters, key=k_op
            )
        trials.append(
            statistics(
                views_fn(x, k_v),
                op,
                c.k,
                key=k_s,
                num_iters=c.eig_iters,
                op_eig=op_eig,
                baseline=jax.tree.map(lambda v, null=null: v[null], subspaces),
            )
        )
    # NaN (undefined) is saved as null: JSON has no NaN.
    plain = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
    return {key: [plain(tr[key]) for tr in trials] for key in trials[0]}


def unit_digest(c: SpectraConfig, data: str, operator: str) -> str:
    """Identifies one saved unit: the configuration, the unit's (data, operator) and all of
    the package's code."""
    return _unit_digest(c, NAME, data=data, operator=operator)


def _summary(values) -> dict:
    """{mean, ci95, n_trials} over the trials where the statistic is defined (a random MRI
    mask can leave A^T A flat over its top k in some trials and not in others)."""
    v = np.asarray(values, dtype=np.float64)
    defined = v[~np.isnan(v)]
    if defined.size == 0:
        return {"mean": None, "ci95": [None, None], "n_trials": 0}
    out = bj.summarize(defined)
    out.pop("std")
    return out


def summarize_unit(unit: dict) -> dict:
    """Each statistic's {mean, ci95, n_trials}, its null's, and whether they differ."""
    out = {}
    for stat in STATISTICS:
        entry, null = _summary(unit[stat]), _summary(unit[f"null_{stat}"])
        if entry["mean"] is None:
            entry["undefined"] = (
                "A^T A is flat over its top k (a projection)"
                if stat == "spectral_correlation"
                else "A^T A is flat over its top k: its leading k-dim eigenspace is not unique"
            )
            entry["differs"], entry["direction"] = None, None
        elif entry["n_trials"] < 2:
            entry["differs"], entry["direction"] = None, None
            entry["undefined"] = "defined in fewer than 2 trials: no interval"
        else:
            lo, hi = entry["ci95"]
            entry["differs"] = bool(not lo <= null["mean"] <= hi)
            above = entry["mean"] > null["mean"]
            entry["direction"] = ("above" if above else "below") if entry["differs"] else None
        entry["null"] = null
        out[stat] = entry
    return out


def _check_size(c: SpectraConfig) -> None:
    """Refuse, before any work, a run whose null subspaces (drawn for all trials at once:
    null_samples x trials orthonormal n x k bases, float32) would not fit in the device."""
    limit = bj.device_memory()
    for data, side in c.sides().items():
        if data not in c.data:
            continue
        need = 2 * 4 * c.null_samples * c.trials * side * side * c.k  # with their QR
        if need > limit:
            most = max(1, limit // (8 * c.null_samples * side * side * c.k))
            raise UserError(
                f"--trials {c.trials} needs about {need / 2**30:.1f} GiB at once for the {data} "
                f"null subspaces ({c.null_samples} per trial, {side * side} x {c.k} each), "
                f"more than the {limit / 2**30:.1f} GiB of {jax.devices()[0]}; use --trials "
                f"{most} or fewer."
            )


def spectra(config: SpectraConfig, out: str, *, fresh: bool = False) -> dict:
    """Run (or resume) every (data, operator) unit; write DIR/spectra.json,
    DIR/figures/spectra.png and a section of DIR/report.md."""
    c = config.validate()
    _check_size(c)
    check_writable(out)
    t0 = time.perf_counter()
    units = [(d, o) for d in c.data for o in c.operators]
    say = progress_printer(len(units))
    pools, results = {}, {}

    def compute(data, name):
        if data not in pools:
            pools[data] = pool(c, data)
        return run_unit(c, data, name, pools[data])

    for i, (data, name) in enumerate(units, 1):
        label = f"{data}_{name}"
        unit = load_or_compute(
            os.path.join(out, "spectra", f"{label}.json"),
            unit_digest(c, data, name),
            functools.partial(compute, data, name),
            fmt=UNIT_FORMAT,
            writer="bridge-jax spectra",
            required=("spectrum_c", "spectrum_a", *STATISTICS, *(f"null_{s}" for s in STATISTICS)),
            say=lambda status, i=i, label=label: say(i, label, status),
            fresh=fresh,
        )
        results.setdefault(data, {})[name] = {
            **summarize_unit(unit),
            "spectrum_c": np.mean(unit["spectrum_c"], axis=0).tolist(),
            "spectrum_a": np.mean(unit["spectrum_a"], axis=0).tolist(),
        }
    result = {
        "format": FORMAT,
        "config": c.as_dict(),
        "definitions": {
            **STATISTICS,
            "nulls": NULLS,
            "differs": "95% interval (>= 2 trials) excludes the null's mean",
            "direction": "above or below the null's mean, when it differs",
        },
        "results": results,
    }
    store.write_json(os.path.join(out, "spectra.json"), result)
    figure = plot(result, os.path.join(out, "figures"))
    elapsed = time.perf_counter() - t0
    write_timing(out, NAME, elapsed)
    write_section(out, section(result, figure, out, elapsed=elapsed), BEGIN, END)
    return result


# --------------------------------------------------------------------------- figure, report


def plot(result: dict, fig_dir) -> str:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    res = result["results"]
    data = list(res)
    ops = list(next(iter(res.values())))
    stats = list(STATISTICS)
    fig, axes = plt.subplots(1, len(stats), figsize=(3.3 * len(stats), 3.6))
    width = 0.8 / len(data)
    for ax, stat in zip(axes, stats, strict=True):
        for j, d in enumerate(data):
            xs = np.arange(len(ops)) + (j - (len(data) - 1) / 2) * width
            for x, o in zip(xs, ops, strict=True):
                e = res[d][o][stat]
                if e["mean"] is None:
                    ax.text(x, 0, "n/a", ha="center", va="bottom", fontsize=6, rotation=90)
                    continue
                lo, hi = e["ci95"]
                err = [[e["mean"] - lo], [hi - e["mean"]]] if e["differs"] is not None else None
                ax.bar(x, e["mean"], width, color=f"C{j}", yerr=err, capsize=2)
                ax.hlines(
                    e["null"]["mean"],
                    x - width / 2,
                    x + width / 2,
                    colors="k",
                    lw=1.2,
                    linestyles="--",
                )
        ax.set_xticks(np.arange(len(ops)), ops, rotation=45, fontsize=8)
        ax.set_title(stat.replace("_", " "), fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=f"C{j}") for j in range(len(data))]
    handles.append(plt.Line2D([], [], color="k", linestyle="--"))
    labels = [f"{d} (mean, 95% interval)" for d in data] + ["null (mean)"]
    fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=len(labels))
    fig.suptitle("C_SSRL vs A^T A at image scale (matrix-free)", fontsize=10, x=0.2)
    return save(fig, fig_dir, "spectra.png")


def _cell(e: dict) -> str:
    if e["mean"] is None:
        return "n/a"
    if e["differs"] is None:
        return f"({e['mean']:.3g}, {e['n_trials']} trial)"
    mark = "**" if e["differs"] else ""
    arrow = {"above": " >", "below": " <"}.get(e["direction"], "")
    return (
        f"{mark}{e['mean']:.3g}{mark} [{e['ci95'][0]:.3g}, {e['ci95'][1]:.3g}]{arrow} "
        f"null {e['null']['mean']:.3g}"
    )


def table(result: dict) -> str:
    """The markdown table: operator x data, each statistic with its interval and null."""
    head = "| data | operator | " + " | ".join(STATISTICS) + " |"
    lines = [head, "|" + " --- |" * (len(STATISTICS) + 2)]
    for d, per_op in result["results"].items():
        for o, entry in per_op.items():
            cells = " | ".join(_cell(entry[s]) for s in STATISTICS)
            lines.append(f"| {d} | {o} | {cells} |")
    return "\n".join(lines)


def section(result: dict, figure: str, out: str, *, elapsed: float) -> str:
    c = result["config"]
    differ = [
        f"{d}/{o}: "
        + (", ".join(f"{s} ({e[s]['direction']})" for s in STATISTICS if e[s]["differs"]) or "-")
        for d, per_op in result["results"].items()
        for o, e in per_op.items()
    ]
    return "\n".join(
        [
            BEGIN,
            "## The paper's statistics at image scale (bridge-jax spectra)",
            "",
            f"N = {c['signals']} images, K = {c['views']} views, top k = {c['k']}, "
            f"{c['trials']} trials; mean [95% interval] and null mean; **bold**: the interval "
            "excludes the null (> above it, < below it); n/a: undefined (A^T A flat over its "
            "top k); (value, 1 trial): defined in one trial only. "
            f"Wall time {elapsed:.0f} s.",
            "",
            table(result),
            "",
            "Statistics that differ from their null: " + "; ".join(differ) + ". C_SSRL, and so "
            "its effective rank, does not depend on the operator: that row differs from the "
            "isotropic null because image views are low-dimensional, not because of A.",
            "",
            f"![spectra]({os.path.relpath(figure, out)})",
            END,
        ]
    )


# --------------------------------------------------------------------------- command line


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    parser.add_argument("--quick", action="store_true", help="a tiny setting (smoke test)")
    parser.add_argument("--data", help=f"comma-separated subset of {','.join(DATA)} (default: all)")
    parser.add_argument(
        "--operators", help=f"comma-separated subset of {','.join(OPERATORS)} (default: all)"
    )
    parser.add_argument("--trials", type=int, help="trials per (data, operator) (default 5)")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--fresh", action="store_true", help="recompute saved units")


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def run_from_args(args) -> int:
    overrides = {k: getattr(args, k) for k in ("trials", "seed") if getattr(args, k) is not None}
    for k in ("data", "operators"):
        if getattr(args, k) is not None:
            overrides[k] = _names(getattr(args, k))
    config = (SpectraConfig.quick if args.quick else SpectraConfig)(**overrides)
    config.validate()
    result = spectra(config, args.out, fresh=args.fresh)
    print(f"wrote {os.path.join(args.out, 'spectra.json')}", file=sys.stderr)
    print(table(result))
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.spectra") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("spectra", argv, prog)


if __name__ == "__main__":
    raise SystemExit(main())
