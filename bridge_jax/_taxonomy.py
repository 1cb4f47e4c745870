"""The four-axis taxonomy of self-supervised methods: scores, similarities, cross-domain pairs."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from . import _validate as check
from ._augmentations import augment, cyclic_shift
from ._operators import Mask, random_mask


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


def measure_axes(
    represent,
    reconstruct,
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

    `op` is one operator (`shared_op=True`) or a batch with a leading axis $N$.
    **Returns:** a dict with the four clipped scores and the raw values (`raw_<axis>`).
    """
    x = check.shape("x", x, (None, None))
    num, n = x.shape
    if num < 2:
        raise ValueError(f"measure_axes needs at least 2 test signals, got {num}.")
    op_axis = None if shared_op else 0
    k = jr.split(check.prng_key("key", key), 8)

    def keys(kk):
        return jr.split(kk, num)

    def per_signal(fn, *args):
        return jax.vmap(fn, in_axes=(op_axis,) + (0,) * len(args))(op, *args)

    def clean(xs):
        return per_signal(lambda o, xi: o.mv(xi), xs)

    ax = clean(x)
    noise = sigma * jr.normal(k[0], ax.shape, ax.dtype)  # one draw, shared by every variant
    y = ax + noise

    def rep(o, yi, kk):
        return represent(o, yi, key=kk)

    def rec(o, yi, kk):
        return reconstruct(o, yi, key=kk)

    phi = per_signal(rep, y, keys(k[1]))
    x_hat = per_signal(rec, y, keys(k[1]))
    between = _sq(jnp.roll(phi, 1, axis=0), phi)

    if augment_fn is None:

        def augment_fn(xi, *, key):
            return augment(xi, key=key, angle=angle, noise=aug_noise)

    x_aug = jax.vmap(lambda kk, xi: augment_fn(xi, key=kk))(keys(k[2]), x)
    ax_aug = clean(x_aug)
    phi_aug = per_signal(rep, ax_aug + noise, keys(k[1]))
    moved = _ratio(_sq(ax_aug, ax), _sq(clean(jnp.roll(x, 1, axis=0)), ax))
    inv = _relative_score(_sq(phi_aug, phi), between, moved)

    m_out = y.shape[1]
    visible = jax.vmap(lambda kk: random_mask(m_out, mask_ratio, key=kk))(keys(k[4]))
    phi_mask = per_signal(
        lambda o, yi, vi, kk: represent(Mask(vi) @ o, jnp.where(vi, yi, 0.0), key=kk),
        y,
        visible,
        keys(k[1]),
    )
    y_masked = jnp.where(visible, y, 0.0)
    moved = _ratio(_sq(y_masked, y), _sq(jnp.roll(y, 1, axis=0), y))
    msk = _relative_score(_sq(phi_mask, phi), between, moved)

    if transform is None:
        shifts = jr.randint(k[5], (num,), 1, n)
        x_shift = jax.vmap(cyclic_shift)(x, shifts)
        shifted_hat = jax.vmap(cyclic_shift)(x_hat, shifts)
    else:
        group = jax.vmap(lambda kk, xi: transform(xi, key=kk))
        x_shift = group(keys(k[5]), x)
        shifted_hat = group(keys(k[5]), x_hat)
    xh_shift = per_signal(rec, clean(x_shift) + noise, keys(k[1]))
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
