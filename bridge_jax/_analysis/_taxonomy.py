"""The four-axis taxonomy of self-supervised methods: scores, similarities, cross-domain pairs."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from .._augment._vectors import augment, cyclic_shift
from .._operators import Mask, random_mask


class Taxonomy(NamedTuple):
    """Methods (in file order), their domains, the axes, the score matrix and the reasons."""

    methods: tuple[str, ...]
    domains: tuple[str, ...]
    axes: tuple[str, ...]
    scores: np.ndarray  # (methods, axes)
    reasons: dict[str, dict[str, str]]


def load_taxonomy(path: str | None = None) -> Taxonomy:
    """Load the hand-scored taxonomy (default: the file shipped with bridge_jax)."""
    if path is None:
        text = resources.files("bridge_jax").joinpath("taxonomy.json").read_text()
    else:
        with open(path) as f:
            text = f.read()
    data = json.loads(text)
    axes = tuple(data["axes"])
    methods, domains, rows, reasons = [], [], [], {}
    for name, entry in data["methods"].items():
        missing = [a for a in axes if a not in entry]
        if missing:
            raise ValueError(f"taxonomy entry {name!r} lacks the axes {missing}.")
        methods.append(name)
        domains.append(entry["domain"])
        rows.append([float(entry[a][0]) for a in axes])
        reasons[name] = {a: entry[a][1] for a in axes}
    return Taxonomy(tuple(methods), tuple(domains), axes, np.asarray(rows), reasons)


def cosine_similarity_matrix(vectors: Float[Array, "k d"]) -> Float[Array, "k k"]:
    r"""$S_{ij} = \langle v_i, v_j\rangle / (\|v_i\|\|v_j\|)$; a zero vector gets similarity 0."""
    v = check.shape("vectors", vectors, (None, None))
    norms = jnp.linalg.norm(v, axis=1)
    unit = v / jnp.where(norms > 0, norms, 1.0)[:, None]
    return unit @ unit.T


def cross_domain_pairs(similarity, methods, domains) -> list[tuple[str, str, float]]:
    """All (method of domain A, method of domain B, similarity) pairs, most similar first."""
    sim = np.asarray(similarity)
    pairs = [
        (methods[i], methods[j], float(sim[i, j]))
        for i in range(len(methods))
        for j in range(len(methods))
        if i < j and domains[i] != domains[j]
    ]
    return sorted(pairs, key=lambda p: -p[2])


AXES = ("invariance", "masking", "equivariance", "physics")


def _ratio(discrepancy, reference):
    return jnp.mean(discrepancy) / jnp.maximum(jnp.mean(reference), 1e-30)


def _relative_score(discrepancy, reference, scale=1.0):
    """1 - (discrepancy / reference) / scale, clipped to [0, 1] (and the raw value)."""
    raw = 1.0 - _ratio(discrepancy, reference) / jnp.maximum(scale, 1e-30)
    return jnp.clip(raw, 0.0, 1.0), raw


def _sq(a, b):
    return jnp.sum((a - b) ** 2, axis=1)


class AxisDraws(eqx.Module):
    r"""The random draws of `measure_axes` on one trial's N test signals, drawn by
    `draw_axes`: what does not depend on the method measured.

    `noise` $\sigma e$ (N, m); `keys` (N,) given to `represent`/`reconstruct`; `x_aug`, the
    augmented signals (N, n); `visible`, the masking axis's kept rows (N, m); `x_shift`, the
    transformed signals $Sx$ (N, n); `shift`, what transforms the estimates: the cyclic shifts
    (N,) or, for a given `transform`, its keys (N,).
    """

    noise: Array
    keys: Array
    x_aug: Array
    visible: Array
    x_shift: Array
    shift: Array


def draw_axes(
    op,
    x: Float[Array, "N n"],
    *,
    key: PRNGKeyArray,
    sigma,
    shared_op: bool = True,
    angle=0.1,
    aug_noise=0.1,
    mask_ratio=0.3,
    augment_fn: Callable | None = None,
    transform: Callable | None = None,
) -> AxisDraws:
    """The random draws `measure_axes` makes from `key` (same arguments). Drawn once, they
    can be given to `measure_axes(..., draws=...)` for several methods: a program that draws
    them once and one per method that does not are quicker to compile than one per method
    that draws them (random-number code is most of `measure_axes`'s operations)."""
    x = check.shape("x", x, (None, None))
    num, n = x.shape
    if num < 2:
        raise ValueError(f"measure_axes needs at least 2 test signals, got {num}.")
    k = jr.split(check.prng_key("key", key), 8)

    def keys(kk):
        return jr.split(kk, num)

    ax = _per_signal(op, shared_op, lambda o, xi: o.mv(xi), x)
    noise = sigma * jr.normal(k[0], ax.shape, ax.dtype)  # one draw, shared by every variant
    if augment_fn is None:

        def augment_fn(xi, *, key):
            return augment(xi, key=key, angle=angle, sigma=aug_noise)

    x_aug = jax.vmap(lambda kk, xi: augment_fn(xi, key=kk))(keys(k[2]), x)
    visible = jax.vmap(lambda kk: random_mask(ax.shape[1], mask_ratio, key=kk))(keys(k[4]))
    if transform is None:
        shift = jr.randint(k[5], (num,), 1, n)
        x_shift = jax.vmap(cyclic_shift)(x, shift)
    else:
        shift = keys(k[5])
        x_shift = jax.vmap(lambda kk, xi: transform(xi, key=kk))(shift, x)
    return AxisDraws(noise, keys(k[1]), x_aug, visible, x_shift, shift)


def _per_signal(op, shared_op: bool, fn, *args):
    op_axis = None if shared_op else 0
    return jax.vmap(fn, in_axes=(op_axis,) + (0,) * len(args))(op, *args)


def measure_axes(
    represent,
    reconstruct,
    op,
    x: Float[Array, "N n"],
    *,
    key: PRNGKeyArray | None = None,
    sigma=None,
    shared_op: bool = True,
    angle=0.1,
    aug_noise=0.1,
    mask_ratio=0.3,
    augment_fn: Callable | None = None,
    transform: Callable | None = None,
    draws: AxisDraws | None = None,
) -> dict[str, Array]:
    r"""Measure the four taxonomy axes of a TRAINED method on test signals (one trial).

    `represent(op, y, *, key)` is what the method outputs (a representation or a reconstruction),
    `reconstruct(op, y, *, key)` its estimate of $x$ (for SSRL methods, a readout). Measurements
    are $y = Ax + \sigma e$. Each axis is a score in $[0, 1]$ (clipped; `raw_<axis>` keeps
    the unclipped value). Distances are normalised by the same distance between unrelated
    test signals ($i$ against $i+1$), written $\delta(\cdot)$, so that representation and
    signal spaces compare:

    - invariance: $1 - \delta(\Phi(ATx + \sigma e), \Phi(Ax + \sigma e)) / \delta(ATx, Ax)$
      with $T$ the SSRL augmentation (`augment` with `angle`, `aug_noise`) and the SAME noise
      $e$ in both, so that only the augmentation differs: 0 for a map that moves as much as
      its input does, 1 for one that ignores the augmentation;
    - masking: $1 - \delta(\Phi(MA, My), \Phi(A, y)) / \delta(My, y)$ with a random
      `mask_ratio` of the rows hidden: how little the output moves when part of its input is
      masked out, relative to how much the input moved;
    - equivariance: $1 - \|\hat x(ASx + \sigma e) - S\hat x(Ax + \sigma e)\|^2 /
      \|S\hat x(Ax + \sigma e) - \hat x(Ax + \sigma e)\|^2$ for a random cyclic shift $S$
      (0 for an invariant map, 1 for an equivariant one);
    - physics: $1 - \|A\hat x - y\|^2 / \|A\hat x_{i+1} - y_i\|^2$ (measurement
      consistency, against the estimate of another signal).

    `augment_fn(x, *, key)` replaces the default SSRL augmentation (e.g. image crops, rotations and
    shifts plus noise); `transform(x, *, key)` replaces the cyclic shift $S$ (it must apply the
    same group element to every input for the same key, as `random_shift` and
    `random_image_augmentation` do).

    `op` is one operator (`shared_op=True`) or a batch with a leading axis $N$. The random
    draws come from `key` (with `sigma`), or from `draws = draw_axes(op, x, key=key,
    sigma=sigma, ...)` made beforehand with the same arguments (then `key` and `sigma` are
    not used; `transform` is still needed to transform the estimates).
    **Returns:** a dict with the four clipped scores and the raw values (`raw_<axis>`).
    """
    if draws is None:
        if key is None or sigma is None:
            raise TypeError("measure_axes needs key= and sigma=, or draws= from draw_axes.")
        draws = draw_axes(
            op,
            x,
            key=key,
            sigma=sigma,
            shared_op=shared_op,
            angle=angle,
            aug_noise=aug_noise,
            mask_ratio=mask_ratio,
            augment_fn=augment_fn,
            transform=transform,
        )
    elif not isinstance(draws, AxisDraws):
        raise TypeError(f"draws must be an AxisDraws from draw_axes, got {type(draws).__name__}.")
    x = check.shape("x", x, (None, None))
    d = draws

    def per_signal(fn, *args):
        return _per_signal(op, shared_op, fn, *args)

    def clean(xs):
        return per_signal(lambda o, xi: o.mv(xi), xs)

    ax = clean(x)
    y = ax + d.noise

    def rep(o, yi, kk):
        return represent(o, yi, key=kk)

    def rec(o, yi, kk):
        return reconstruct(o, yi, key=kk)

    phi = per_signal(rep, y, d.keys)
    x_hat = per_signal(rec, y, d.keys)
    between = _sq(jnp.roll(phi, 1, axis=0), phi)

    ax_aug = clean(d.x_aug)
    phi_aug = per_signal(rep, ax_aug + d.noise, d.keys)
    moved = _ratio(_sq(ax_aug, ax), _sq(clean(jnp.roll(x, 1, axis=0)), ax))
    inv = _relative_score(_sq(phi_aug, phi), between, moved)

    phi_mask = per_signal(
        lambda o, yi, vi, kk: represent(Mask(vi) @ o, jnp.where(vi, yi, 0.0), key=kk),
        y,
        d.visible,
        d.keys,
    )
    y_masked = jnp.where(d.visible, y, 0.0)
    moved = _ratio(_sq(y_masked, y), _sq(jnp.roll(y, 1, axis=0), y))
    msk = _relative_score(_sq(phi_mask, phi), between, moved)

    if transform is None:
        shifted_hat = jax.vmap(cyclic_shift)(x_hat, d.shift)
    else:
        shifted_hat = jax.vmap(lambda kk, xi: transform(xi, key=kk))(d.shift, x_hat)
    xh_shift = per_signal(rec, clean(d.x_shift) + d.noise, d.keys)
    eqv = _relative_score(
        jnp.sum((xh_shift - shifted_hat) ** 2, axis=1),
        jnp.sum((shifted_hat - x_hat) ** 2, axis=1),
    )

    fit = per_signal(lambda o, xi, yi: jnp.sum((o.mv(xi) - yi) ** 2), x_hat, y)
    other = per_signal(lambda o, xi, yi: jnp.sum((o.mv(xi) - yi) ** 2), jnp.roll(x_hat, 1, 0), y)
    phys = _relative_score(fit, other)

    out = {}
    for name, (score, raw) in zip(AXES, (inv, msk, eqv, phys), strict=True):
        out[name], out[f"raw_{name}"] = score, raw
    return out
