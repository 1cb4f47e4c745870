"""One trial (unbatched; vmapped over trials): a signal, an operator, every noise level
and initialisation."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import jax.random as jr

import bridge_jax as bj
from bridge_jax.studies.phase.config import INITS, PhaseConfig


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


def _streams(key):
    """One trial's keys: operator, measurement noise, spectral and random starts, and the view
    means of x and of the spectral estimate."""
    return jr.split(key, 6)


def view_transforms(c: PhaseConfig, data: str, key):
    """The (2, K, n, n) transforms of one trial's two view means (of x, of the spectral
    estimate), drawn from the trial's `key` as `one_trial` draws them. Their program does not
    depend on m or the field (their values do, through the key): `run_unit` computes them in
    a program of its own, compiled once per data set."""
    *_, k_v1, k_v2 = _streams(key)
    return jnp.stack([_transforms(jr.split(k)[0], c, data) for k in (k_v1, k_v2)])


def _view_mean(key, x, c: PhaseConfig, transforms):
    """(1/K) sum_k (T_k x + noise_k), the SSRL augmentation mean of one signal."""
    _, k_e = jr.split(key)
    bank = bj.ViewBank.from_transforms(transforms, sigma=c.aug_noise)
    return bank.views(x, key=k_e).mean(0)


def training_subspace(c: PhaseConfig, data: str, train, key):
    """Leading n/4-dim eigenspace of the second moment of K views of the training signals."""
    k_t, k_e = jr.split(key)
    bank = bj.ViewBank.from_transforms(_transforms(k_t, c, data), sigma=c.aug_noise)
    views = bank.views(train, key=k_e).reshape(-1, c.n)
    return bj.leading_subspace(views.T @ views / views.shape[0], max(c.n // 4, 1))


def one_trial(c: PhaseConfig, data: str, field: str, m: int, x, subspace, key, transforms=None):
    """Relative errors (noise levels, inits) for one signal x and one A drawn from `key`;
    `transforms` is `view_transforms(c, data, key)`, computed here when not given."""
    k_a, k_e, k_spec, k_rand, k_v1, k_v2 = _streams(key)
    if transforms is None:
        transforms = view_transforms(c, data, key)
    op = bj.PhaseRetrieval.gaussian(c.n, m, key=k_a, complex=field == "complex")
    dtype = op.matrix.dtype
    side = (math.isqrt(c.n),) * 2
    x = x.astype(jnp.float32)
    clean = op(x)
    if field == "complex":
        direction = (jr.normal(k_rand, (c.n,)) + 1j * jr.normal(jr.fold_in(k_rand, 1), (c.n,))) / (
            jnp.sqrt(2.0)
        )
    else:
        direction = jr.normal(k_rand, (c.n,))

    def at_noise(sigma):
        # Noise relative to the signal's energy; the same draw (k_e) at every level.
        y = bj.gaussian_noise(clean, sigma * jnp.sum(x**2), key=k_e)
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
            "ssrl_oracle": _view_mean(k_v1, x, c, transforms[0]).astype(dtype),
            "ssrl_spectral": _view_mean(k_v2, spec, c, transforms[1]),
            "ssrl_subspace": proj * scale / jnp.maximum(jnp.linalg.norm(proj), 1e-12),
            "blur_spectral": blurred * scale / jnp.maximum(jnp.linalg.norm(blurred), 1e-12),
        }
        x0 = jnp.stack([inits[name].astype(dtype) for name in INITS])
        solve = lambda z: bj.amplitude_flow(  # noqa: E731
            op, y, x0=z, step_size=c.step_size, num_steps=c.num_steps, tol=c.stop_tol or None
        )[0]
        xs = jax.vmap(solve)(x0)
        return jax.vmap(lambda xh: bj.relative_error(xh, x))(xs)

    return jax.vmap(at_noise)(jnp.asarray(c.noise_levels, jnp.float32))
