"""What every study shares: trial keys, the per-trial `Setting` of the paper, image transforms,
and metric records (the configurations are in `_config`; trials are batched by
`bridge_jax.map_trials`)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np

import bridge_jax as bj
from bridge_jax import store, summarize
from bridge_jax.studies._config import Config


def trial_keys(config: Config, stream: int):
    """One key per trial. `stream` separates experiments, so each draws its own randomness."""
    base = jr.fold_in(jr.key(config.seed), stream)
    return jax.vmap(lambda t: jr.fold_in(base, t))(jnp.arange(config.trials))


def hash_label(label: str) -> int:
    """A stable small integer for a label (Python's hash() is salted per process)."""
    return int(store.digest({"label": label}, code=False)[:6], 16)


def name_key(key, name: str):
    """The key of the unit or method called `name` under `key`: from the name itself, so it does
    not depend on the order of any tuple of names (adding or reordering names changes no other
    unit's draws)."""
    return jr.fold_in(key, hash_label(name))


def output_folder(config: Config, out: str) -> str:
    """DIR for the paper's setting, DIR/VARIANT (e.g. DIR/digits) for other data/operators."""
    import os

    return os.path.join(out, config.variant) if config.variant else out


@functools.lru_cache(maxsize=1)
def digits_array() -> np.ndarray:
    """The digits as a NumPy array (1797, 64) in [0, 1], loaded once per process."""
    with jax.ensure_compile_time_eval():  # may be first called while tracing a trial
        x, _ = bj.load_digits(dtype=jnp.float32)
    return np.asarray(x)


def image_transform(config: Config, *, crop: bool = True):
    """`(x, *, key) -> x`: the configured image augmentation without noise (crop of at least
    `image_crop` of each side, rotation, shift); `crop=False` keeps rotations and shifts only
    (the transform group used by EI and the equivariance measurement)."""
    return functools.partial(
        bj.random_image_augmentation,
        max_angle=config.image_angle,
        max_shift=config.image_shift,
        min_crop=config.image_crop if crop else 1.0,
        shape=config.image_shape,
    )


def make_operator(key, config: Config) -> lx.AbstractLinearOperator:
    """The trial's measurement operator A (m x n) for `config.operator`."""
    c = config
    if c.operator == "gaussian":
        return bj.GaussianSensing(c.n, c.m, key=key)
    pixels = jnp.sort(jr.permutation(key, c.n)[: c.m])
    keep = bj.Subsample(pixels, c.n)
    if c.operator == "inpainting":
        return keep
    blur = bj.Blur.gaussian(c.blur_sigma, shape=c.image_shape)
    return keep @ bj.Reshaped(blur, in_shape=(c.n,), out_shape=(c.n,))


def signal_source(config: Config, *, replace: bool = False) -> bj.AbstractSource:
    """The configured signals: s-sparse vectors of length n, or the digits data set (drawn
    without replacement by default, so one `draw` gives distinct images)."""
    if config.data == "sparse":
        return bj.SparseSource(config.n, config.s)
    return bj.DatasetSource(digits_array(), replace=replace)


def measure_all(op, signals, sigma, *, key):
    """`bj.measure` of every signal (axis 0) through `op` with Gaussian noise of level `sigma`,
    each with its own noise key."""
    noise = bj.GaussianNoise(sigma)
    keys = jr.split(key, signals.shape[0])
    return jax.vmap(lambda x, k: bj.measure(op, x, noise, key=k))(signals, keys)


class Setting:
    """The per-trial objects of section 3.1, drawn from one trial key (unbatched).

    `problem`: the trial's `bj.Problem` (the configured signal source and the trial's operator
    `op`; the noise level is chosen per measurement); `x`: the N test signals; `train`: N
    training signals (for digits, from one draw of 2N: disjoint from `x`); `prior_mean` and
    `prior_cov`: the first two moments of the signal distribution (exact for sparse signals,
    the whole data set's for digits, from which each trial samples).
    """

    def __init__(self, key, config: Config):
        k_op, k_x, k_rot, k_view, k_noise, k_train = jr.split(key, 6)
        c = config
        self.problem = bj.Problem(signal_source(c), make_operator(k_op, c))
        self.op = self.problem.operator
        source = self.problem.source
        if c.data == "sparse":  # independent draws
            self.x = source.draw(c.signals, key=k_x)
            self.train = source.draw(c.signals, key=k_train)
            self.prior_mean = jnp.zeros(c.n)
            self.prior_cov = (c.s / c.n) * jnp.eye(c.n)
        else:  # one draw without replacement: disjoint test and training images
            signals = source.draw(2 * c.signals, key=k_x)
            self.x, self.train = signals[: c.signals], signals[c.signals :]
            data = source.data
            self.prior_mean = data.mean(0)
            self.prior_cov = jnp.cov(data.T, bias=True)
        self.k_rot, self.k_view, self.k_noise, self.k_train = k_rot, k_view, k_noise, k_train
        self.config = c

    def _transform(self, x, *, key):
        """One random augmentation (without noise) of one signal, for `key`."""
        c = self.config
        if c.data == "sparse":
            return bj.rotate(x, c.angle, key=key)
        return image_transform(c)(x, key=key)

    def shared_transforms(self):
        """The paper's T_1..T_K as (K, n, n) matrices, drawn once per trial and applied to every
        signal: rotations (sparse signals) or image augmentations (digits)."""
        c = self.config
        keys = jr.split(self.k_rot, c.k)
        if c.data == "sparse":
            return jax.vmap(lambda k: bj.random_rotation(c.n, c.angle, key=k))(keys)
        return jax.vmap(lambda k: bj.transform_matrix(lambda v: self._transform(v, key=k), c.n))(
            keys
        )

    def bank(self) -> bj.ViewBank:
        """The trial's `ViewBank`: the shared T_1..T_K and the views' noise level."""
        return bj.ViewBank.from_transforms(self.shared_transforms(), sigma=self.config.aug_noise)

    def views(self, signals, key=None):
        """Views T_k(x_i) = Q_k x_i + sigma_aug * eps_ik, shape (N, K, n) (shared Q_k)."""
        return self.bank().views(signals, key=self.k_view if key is None else key)

    def per_view_views(self, signals, key=None):
        """Alternative reading: an independent random transform for every (signal, view)."""
        key = self.k_view if key is None else key
        c = self.config
        if c.data == "sparse":
            one = lambda kk, x: bj.augmentations(x, c.k, key=kk, angle=c.angle, sigma=c.aug_noise)  # noqa: E731
            return jax.vmap(one)(jr.split(key, signals.shape[0]), signals)

        def one_signal(kk, x):
            k_t, k_e = jr.split(kk)
            views = jax.vmap(lambda k: self._transform(x, key=k))(jr.split(k_t, c.k))
            return views + c.aug_noise * jr.normal(k_e, views.shape)

        return jax.vmap(one_signal)(jr.split(key, signals.shape[0]), signals)

    def ssrl_mean(self, signals, key=None):
        """The SSRL augmentation mean xbar_i = (1/K) sum_k T_k(signals_i), shape (N, n).

        With `signals = self.x` this is the paper's literal reading (it needs the clean x_i);
        with a reconstruction in place of x_i (e.g. A^+ y_i) it is realisable from data.
        """
        return self.views(signals, key).mean(axis=1)

    def measure(self, sigma, signals=None, key=None):
        """y_i = A x_i + sigma * e_i for each signal (`bj.measure`), shape (N, m)."""
        signals = self.x if signals is None else signals
        key = self.k_noise if key is None else key
        return measure_all(self.op, signals, sigma, key=key)


def metric(samples, *, paper, definition: str, null=None, **extra) -> dict[str, Any]:
    """A results.json entry: summary over trials, the paper's value, definition and null.

    A statistic that is undefined in every trial (NaN, e.g. a correlation with a constant
    spectrum: an inpainting operator's A^T A has only 0s and 1s) is recorded with mean, std
    and ci95 null and `undefined` saying why; NaN in only some trials is an error.
    """
    values = np.asarray(samples, dtype=np.float64).ravel()
    if values.size and np.all(np.isnan(values)):
        out = {"mean": None, "std": None, "ci95": [None, None], "n_trials": int(values.size)}
        out["undefined"] = "not defined in any trial (a constant input to a correlation)"
    else:
        out = summarize(samples)
    out["paper"] = paper
    out["definition"] = definition
    if null is not None:
        null_arr = np.asarray(null, dtype=np.float64).ravel()
        if np.all(np.isnan(null_arr)):
            out["null"], out["null_std"] = None, None
        else:
            out["null"] = float(null_arr.mean())
            # One trial has no spread: None, and the verdict says so instead of a z-score.
            out["null_std"] = float(null_arr.std(ddof=1)) if null_arr.size > 1 else None
    out.update(extra)
    return out


def curve(values) -> dict[str, list]:
    """Mean, standard deviation and 16th/84th percentiles over trials (axis 0) of a curve."""
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": v.mean(0).tolist(),
        "std": v.std(0, ddof=1 if v.shape[0] > 1 else 0).tolist(),
        "p16": np.percentile(v, 16, axis=0).tolist(),
        "p84": np.percentile(v, 84, axis=0).tolist(),
    }


def to_numpy(tree):
    return jax.tree_util.tree_map(np.asarray, tree)
