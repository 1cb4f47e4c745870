"""Phase retrieval (issue 7, beyond the paper): how often does amplitude flow recover x from
y = |Ax|^2, against the number of measurements m/n and the noise, from each initialisation?

Question: the paper's linear analysis says an SSRL-informed start helps Landweber only early
(it converges anyway). Phase retrieval is non-convex: the start decides whether gradient
descent finds x at all. Does an SSRL-informed start change the success rate, and does it
need the ground truth to do so?

Definitions (all stated in phase.json too):
- Signals x in R^64: 8-sparse with N(0, 1) amplitudes, or one 8x8 digit of scikit-learn per
  trial (drawn from digits not used for training).
- Measurements y = |A x|^2 + sigma ||x||^2 e, e ~ N(0, I_m): sigma is the noise relative to
  the mean measurement E|a_i^* x|^2 = ||x||^2. A is m x n, N(0, 1) (real) or CN(0, 1)
  (complex) entries, drawn per trial; m = round(ratio n).
- Solver: amplitude flow (gradient descent on (1/2m) sum (|a_i^* x| - sqrt(y_i))^2), step 0.6,
  `num_steps` steps, from each initialisation:
  spectral: leading eigenvector of (1/m) sum_i y_i a_i a_i^* (100 power iterations), scaled to
  sqrt(mean y) (an estimate of ||x||); random: a Gaussian direction (complex Gaussian for
  complex A) at the same scale; zero: x0 = 0, where the amplitude gradient vanishes, so the
  iterates never move (reported to show that, not to be fixed); ssrl_oracle [uses x]: the mean
  of K views of the clean x, the paper's "SSRL augmentation mean" of Fig. 3; ssrl_spectral
  (realisable): the mean of K views of the spectral estimate; ssrl_subspace (realisable): the
  spectral estimate projected onto the leading n/4-dimensional eigenspace of the second-moment
  matrix of K views of N unlabelled training signals (the subspace a linear SSRL encoder
  trained on augmented data keeps), rescaled to sqrt(mean y); blur_spectral (control): the
  spectral estimate blurred by a 1-pixel Gaussian on the 8x8 grid and rescaled, to tell an
  SSRL effect from that of any low-pass filter (the mean of K crops, rotations and shifts is
  itself a low-pass filter).
  Views: K = 10 transforms drawn once per trial (rotations of RMS angle 0.1 rad for sparse
  signals; image crops, rotations and shifts for digits, as in `reproduce --data digits`) plus
  N(0, 0.1^2) noise.
- Success: relative error min_phi ||xhat - e^{i phi} x|| / ||x|| < `threshold` (1e-2) after
  the last step. Per (data, field, m/n, noise, init): the success rate over trials with its 95%
  Wilson interval, and the median relative error.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from typing import ClassVar

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import store, summarize_success
from bridge_jax.studies._common import (
    Recorded,
    digits_array,
    number,
    positive_int,
    seed_value,
    tuple_of,
)
from bridge_jax.studies._report import fmt, write_section
from bridge_jax.studies._runner import (
    OneLineParser,
    UserError,
    check_writable,
    load_cached,
    progress_printer,
    require_scikit_learn,
)

FORMAT = "bridge_jax.phase/1"
UNIT_FORMAT = "bridge_jax.phase-unit/1"
BEGIN, END = "<!-- phase:begin -->", "<!-- phase:end -->"
INITS = {
    "spectral": "leading eigenvector of (1/m) sum y_i a_i a_i^*, scaled to sqrt(mean y)",
    "random": "Gaussian direction scaled to sqrt(mean y)",
    "zero": "x0 = 0 (a stationary point of the amplitude loss)",
    "ssrl_oracle": "mean of K views of the clean x [uses ground truth]",
    "ssrl_spectral": "mean of K views of the spectral estimate (realisable)",
    "ssrl_subspace": "spectral estimate projected onto the leading n/4-dim eigenspace of "
    "training views (realisable)",
    "blur_spectral": "control: the spectral estimate blurred (Gaussian, 1 px, 8x8 grid), "
    "rescaled to sqrt(mean y)",
}
DATA = ("sparse", "digits")
FIELDS = ("real", "complex")


@dataclasses.dataclass(frozen=True)
class PhaseConfig(Recorded):
    """The phase-retrieval study's setting; see the module docstring for every definition."""

    n: int = 64
    s: int = 8
    ratios: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
    noise_levels: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
    data: tuple[str, ...] = DATA
    fields: tuple[str, ...] = FIELDS
    trials: int = 100
    seed: int = 42
    num_steps: int = 1000
    step_size: float = 0.6
    power_iters: int = 100
    k: int = 10
    angle: float = 0.1
    aug_noise: float = 0.1
    train_signals: int = 500
    threshold: float = 1e-2

    QUICK: ClassVar[dict] = dict(
        ratios=(2.0, 6.0), noise_levels=(0.0, 0.01), trials=6, num_steps=100, train_signals=50
    )

    @classmethod
    def quick(cls, **overrides) -> PhaseConfig:
        return cls(**{**cls.QUICK, **overrides})

    RULES: ClassVar[dict] = {
        **dict.fromkeys(
            ("n", "s", "trials", "num_steps", "power_iters", "k", "train_signals"), positive_int
        ),
        "seed": seed_value,
        "ratios": tuple_of(number(0, low_open=True), nonempty=True),
        "noise_levels": tuple_of(number(0), nonempty=True),
        "data": tuple_of(None, allowed=DATA),
        "fields": tuple_of(None, allowed=FIELDS),
        **dict.fromkeys(("step_size", "threshold"), number(0, low_open=True)),
        **dict.fromkeys(("angle", "aug_noise"), number(0)),
    }

    def relations(self):
        if math.isqrt(self.n) ** 2 != self.n:
            yield f"n must be a square (signals on a side x side grid), got {self.n}."
        if "digits" in self.data and self.n != 64:
            yield f"digits are 8x8 images: n must be 64, got {self.n}."
        if self.s > self.n:
            yield f"s must be <= n, got s={self.s}, n={self.n}."
        if any(round(r * self.n) < 1 for r in self.ratios):
            yield f"every ratio must give m = round(ratio n) >= 1, got {self.ratios}."
        if "digits" in self.data and self.train_signals > 1797 - self.trials:
            yield (
                f"digits: train_signals + trials must be <= 1797, got {self.train_signals} + "
                f"{self.trials}."
            )


# ----------------------------------------------------------------------------------------------
# One trial (unbatched); vmapped over trials.


def _transforms(key, c: PhaseConfig, data: str):
    """K augmentation matrices (K, n, n), drawn once from `key`."""
    keys = jr.split(key, c.k)
    if data == "sparse":
        return jax.vmap(lambda k: bj.random_rotation(c.n, c.angle, key=k))(keys)
    return jax.vmap(
        lambda k: bj.transform_matrix(
            lambda v: bj.random_image_augmentation(v, key=k, min_crop=0.75), c.n
        )
    )(keys)


def _view_mean(key, x, c: PhaseConfig, data: str):
    """(1/K) sum_k (T_k x + noise_k), the SSRL augmentation mean of one signal."""
    k_t, k_e = jr.split(key)
    bank = bj.ViewBank.from_transforms(_transforms(k_t, c, data), noise=c.aug_noise)
    return bank.views(x, key=k_e).mean(0)


def training_subspace(c: PhaseConfig, data: str, train, key):
    """Leading n/4-dim eigenspace of the second moment of K views of the training signals."""
    k_t, k_e = jr.split(key)
    bank = bj.ViewBank.from_transforms(_transforms(k_t, c, data), noise=c.aug_noise)
    views = bank.views(train, key=k_e).reshape(-1, c.n)
    return bj.leading_subspace(views.T @ views / views.shape[0], max(c.n // 4, 1))


def one_trial(c: PhaseConfig, data: str, field: str, m: int, x, subspace, key):
    """Relative errors (noise levels, inits) for one signal x and one A drawn from `key`."""
    k_a, k_e, k_spec, k_rand, k_v1, k_v2 = jr.split(key, 6)
    op = bj.PhaseRetrieval.gaussian(c.n, m, key=k_a, complex=field == "complex")
    dtype = op.matrix.dtype
    side = (math.isqrt(c.n),) * 2
    x = x.astype(jnp.float32)
    clean = op(x)
    e = jr.normal(k_e, clean.shape)
    if field == "complex":
        direction = (jr.normal(k_rand, (c.n,)) + 1j * jr.normal(jr.fold_in(k_rand, 1), (c.n,))) / (
            jnp.sqrt(2.0)
        )
    else:
        direction = jr.normal(k_rand, (c.n,))

    def at_noise(sigma):
        y = clean + sigma * jnp.sum(x**2) * e
        scale = jnp.sqrt(jnp.maximum(jnp.mean(y), 0.0))
        spec = bj.spectral_init(op, y, num_iters=c.power_iters, key=k_spec)
        proj = subspace @ (subspace.T @ spec)
        blurred = bj.image_blur(spec.real, 1.0, shape=side)
        if field == "complex":
            blurred = blurred + 1j * bj.image_blur(spec.imag, 1.0, shape=side)
        inits = {
            "spectral": spec,
            "random": direction * scale / jnp.linalg.norm(direction),
            "zero": jnp.zeros(c.n, dtype),
            "ssrl_oracle": _view_mean(k_v1, x, c, data).astype(dtype),
            "ssrl_spectral": _view_mean(k_v2, spec, c, data),
            "ssrl_subspace": proj * scale / jnp.maximum(jnp.linalg.norm(proj), 1e-12),
            "blur_spectral": blurred * scale / jnp.maximum(jnp.linalg.norm(blurred), 1e-12),
        }
        x0 = jnp.stack([inits[name].astype(dtype) for name in INITS])
        solve = lambda z: bj.amplitude_flow(  # noqa: E731
            op, y, x0=z, step_size=c.step_size, num_steps=c.num_steps
        )[0]
        xs = jax.vmap(solve)(x0)
        return jax.vmap(lambda xh: bj.relative_error(xh, x))(xs)

    return jax.vmap(at_noise)(jnp.asarray(c.noise_levels, jnp.float32))


# ----------------------------------------------------------------------------------------------
# Units: one (data, field, m/n) with all trials, noise levels and inits in one compiled program.


def signals(c: PhaseConfig, data: str):
    """(trials test signals, train_signals training signals) for `data`, fixed by the seed."""
    key = jr.fold_in(jr.key(c.seed), DATA.index(data))
    k_test, k_train = jr.split(key)
    if data == "sparse":
        test = jax.vmap(lambda k: bj.sparse_signal(c.n, c.s, key=k))(jr.split(k_test, c.trials))
        train = bj.sparse_signals(c.train_signals, c.n, c.s, key=k_train)
        return test, train
    pool = jnp.asarray(digits_array())
    order = jr.permutation(k_test, pool.shape[0])
    train = pool[order[: c.train_signals]]
    return pool[order[c.train_signals : c.train_signals + c.trials]], train


def run_unit(c: PhaseConfig, data: str, field: str, ratio: float) -> dict:
    m = int(round(ratio * c.n))
    test, train = signals(c, data)
    base = jr.fold_in(jr.key(c.seed), 1000 + DATA.index(data))
    subspace = training_subspace(c, data, train, jr.fold_in(base, 1))
    unit_key = jr.fold_in(jr.fold_in(base, 2 + FIELDS.index(field)), m)
    keys = jax.vmap(lambda t: jr.fold_in(unit_key, t))(jnp.arange(c.trials))
    fn = jax.jit(jax.vmap(lambda x, k: one_trial(c, data, field, m, x, subspace, k)))
    errors = np.asarray(fn(test, keys), dtype=np.float64)  # (trials, noise, inits)
    return {"m": m, "errors": errors.tolist()}


def unit_digest(c: PhaseConfig) -> str:
    """Identifies saved units: the configuration and all of the package's code."""
    return store.digest(c, "phase")


def phase(config: PhaseConfig, out: str, *, fresh: bool = False) -> dict:
    """Run (or resume) every unit; write DIR/phase.json, DIR/figures/phase_*.png and a section
    of DIR/report.md."""
    c = config.validate()
    check_writable(out)
    t0 = time.perf_counter()
    digest = unit_digest(c)
    units = [(d, f, r) for d in c.data for f in c.fields for r in c.ratios]
    say = progress_printer(len(units))
    records = []
    for i, (data, field, ratio) in enumerate(units, 1):
        label = f"{data}_{field}_{ratio:g}"
        path = os.path.join(out, "phase", f"{label}.json")
        unit = (
            None if fresh else load_cached(path, digest, fmt=UNIT_FORMAT, writer="bridge-jax phase")
        )
        if unit is None:
            say(i, label, "running")
            t_unit = time.perf_counter()
            unit = run_unit(c, data, field, ratio)
            store.save_result(path, unit, fmt=UNIT_FORMAT, digest=digest)
            say(i, label, f"done in {time.perf_counter() - t_unit:.1f}s")
        else:
            say(i, label, "loaded from an earlier run")
        errors = np.asarray(unit["errors"])
        for j, sigma in enumerate(c.noise_levels):
            for q, init in enumerate(INITS):
                err = errors[:, j, q]
                records.append(
                    {
                        "data": data,
                        "field": field,
                        "m_over_n": ratio,
                        "m": unit["m"],
                        "noise": sigma,
                        "init": init,
                        **summarize_success(err < c.threshold),
                        "median_error": float(np.median(err)),
                    }
                )
    result = {
        "format": FORMAT,
        "config": c.as_dict(),
        "definitions": {
            "success": f"relative error up to global sign/phase < {c.threshold:g} after "
            f"{c.num_steps} amplitude-flow steps; mean = success rate over trials, ci95 = "
            "95% Wilson score interval",
            "noise": "y = |Ax|^2 + noise * ||x||^2 * e, e ~ N(0, I)",
            "inits": INITS,
        },
        "success": records,
        "elapsed_s": time.perf_counter() - t0,
    }
    store.write_json(os.path.join(out, "phase.json"), result)
    figures = plot(result, os.path.join(out, "figures"))
    write_section(out, section(result, figures, out), BEGIN, END)
    return result


# ----------------------------------------------------------------------------------------------
# Figures and the report section.


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


def section(result: dict, figures: list[str], out: str) -> str:
    c = result["config"]
    lines = [
        BEGIN,
        "## Phase retrieval: success rate against m/n, noise and initialisation (issue 7)",
        "",
        f"Amplitude flow ({c['num_steps']} steps of {c['step_size']:g}) on y = |Ax|^2 + noise "
        f"||x||^2 e; success = relative error up to global sign/phase < {c['threshold']:g}; "
        f"{c['trials']} trials per cell (a new A per trial). Definitions in "
        "bridge_jax/studies/phase.py and phase.json; every cell with its 95% Wilson interval and "
        "median error is in phase.json.",
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
    lines += [f"Run time: {result['elapsed_s']:.0f} s.", END]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Command line.


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    parser.add_argument("--trials", type=int, help="trials per cell (default 100)")
    parser.add_argument("--seed", type=int, help="random seed (default 42)")
    parser.add_argument("--steps", type=int, help="amplitude-flow steps (default 1000)")
    parser.add_argument(
        "--data",
        help=f"comma-separated subset of {','.join(DATA)} (default: both; digits need "
        "pip install 'bridge_jax[data]')",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny setting (smoke test)")
    parser.add_argument("--fresh", action="store_true", help="recompute saved units")


def run_from_args(args) -> int:
    try:
        overrides = {}
        for name, field in (("trials", "trials"), ("seed", "seed"), ("steps", "num_steps")):
            if getattr(args, name) is not None:
                overrides[field] = getattr(args, name)
        if args.data is not None:
            overrides["data"] = tuple(d.strip() for d in args.data.split(",") if d.strip())
        config = (PhaseConfig.quick if args.quick else PhaseConfig)(**overrides)
        config.validate()
        if "digits" in config.data:
            require_scikit_learn(", or pass --data sparse")
        phase(config, args.out, fresh=args.fresh)
    except (ValueError, UserError) as e:
        print(f"bridge-jax: error: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {os.path.join(args.out, 'phase.json')} and a section of "
        f"{os.path.join(args.out, 'report.md')}",
        file=sys.stderr,
    )
    with open(os.path.join(args.out, "report.md")) as f:
        text = f.read()
    print(text.split(BEGIN, 1)[1].split("Success rate", 1)[0].strip())
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.phase") -> int:
    parser = OneLineParser(prog=prog, description=__doc__)
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
