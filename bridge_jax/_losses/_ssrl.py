r"""Self-supervised representation learning losses on a batch of embeddings.

Unlike the reconstruction losses, these are batch functions by nature: NT-Xent contrasts each
view with the other views in the batch, DINO centres the teacher with a batch statistic. Each
takes the embeddings of two views, shape `(N, d)`, row `i` of both coming from signal `i`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _validate as check


def _pair(name1: str, z1, name2: str, z2):
    z1 = check.shape(name1, z1, (None, None))
    return z1, check.shape(name2, z2, z1.shape)


def _normalize(z):
    return z / jnp.sqrt(jnp.maximum(jnp.sum(z * z, axis=-1, keepdims=True), 1e-24))


def nt_xent_loss(
    z1: Float[Array, "N d"], z2: Float[Array, "N d"], *, temperature=0.5
) -> Float[Array, ""]:
    r"""NT-Xent / InfoNCE (SimCLR, Chen et al. 2020, eq. 1), averaged over the $2N$ anchors.

    With $s_{ij} = \cos(z_i, z_j)/t$ over the $2N$ views,
    $\ell_i = -\log \frac{e^{s_{i,p(i)}}}{\sum_{j \ne i} e^{s_{ij}}}$, $p(i)$ the other view
    of the same signal.

    Example:
        ```python
        z1, z2 = jr.normal(jr.key(0), (8, 4)), jr.normal(jr.key(1), (8, 4))  # two views' embeddings
        loss = bj.nt_xent_loss(z1, z2, temperature=0.5)
        ```
    """
    z1, z2 = _pair("z1", z1, "z2", z2)
    check.nonnegative("temperature", temperature, strict=True)
    n = z1.shape[0]
    if n < 2:
        raise ValueError(f"NT-Xent needs a batch of at least 2 signals, got {n}.")
    z = _normalize(jnp.concatenate([z1, z2]))
    sim = z @ z.T / temperature
    sim = jnp.where(jnp.eye(2 * n, dtype=bool), -jnp.inf, sim)
    positive = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
    log_prob = sim[jnp.arange(2 * n), positive] - jax.nn.logsumexp(sim, axis=1)
    return -jnp.mean(log_prob)


def byol_loss(p: Float[Array, "N d"], z_target: Float[Array, "N d"]) -> Float[Array, ""]:
    r"""BYOL (Grill et al. 2020, eq. 2): $2 - 2\cos(p, \mathrm{sg}(z'))$, averaged.

    `p` is the online predictor's output on one view, `z_target` the target network's
    projection of the other view; no gradient flows into the target.

    Example:
        ```python
        p, z_target = jr.normal(jr.key(0), (8, 4)), jr.normal(jr.key(1), (8, 4))
        loss = bj.byol_loss(p, z_target)
        ```
    """
    p, z_target = _pair("p", p, "z_target", z_target)
    cos = jnp.sum(_normalize(p) * _normalize(lax.stop_gradient(z_target)), axis=-1)
    return jnp.mean(2.0 - 2.0 * cos)


def dino_loss(
    student: Float[Array, "N d"],
    teacher: Float[Array, "N d"],
    center: Float[Array, " d"],
    *,
    student_temperature=0.1,
    teacher_temperature=0.04,
) -> Float[Array, ""]:
    r"""DINO (Caron et al. 2021, eq. 1): cross-entropy from the centred, sharpened teacher.

    $H(P_t, P_s) = -\sum_j P_t^{(j)} \log P_s^{(j)}$ with
    $P_t = \mathrm{softmax}((g_t - c)/\tau_t)$ (no gradient) and
    $P_s = \mathrm{softmax}(g_s/\tau_s)$.

    Example:
        ```python
        student, teacher = jr.normal(jr.key(0), (8, 4)), jr.normal(jr.key(1), (8, 4))
        loss = bj.dino_loss(student, teacher, jnp.zeros(4))  # centre of the teacher's outputs
        ```
    """
    student, teacher = _pair("student", student, "teacher", teacher)
    center = check.shape("center", center, (student.shape[1],))
    check.nonnegative("student_temperature", student_temperature, strict=True)
    check.nonnegative("teacher_temperature", teacher_temperature, strict=True)
    p_t = jax.nn.softmax(lax.stop_gradient(teacher - center) / teacher_temperature, axis=-1)
    log_p_s = jax.nn.log_softmax(student / student_temperature, axis=-1)
    return -jnp.mean(jnp.sum(p_t * log_p_s, axis=-1))


def mae_loss(
    prediction: Float[Array, "... n"], target: Float[Array, "... n"], hidden
) -> Float[Array, ""]:
    r"""MAE (He et al. 2022): mean squared error over the hidden (masked) entries only.

    `hidden` is a boolean array of the same shape, `True` where the input was masked.

    Example:
        ```python
        x = jr.normal(jr.key(0), (16,))
        hidden = ~bj.random_mask((16,), 0.5, key=jr.key(1))  # True where masked
        loss = bj.mae_loss(jnp.zeros(16), x, hidden)
        ```
    """
    prediction = jnp.asarray(prediction)
    target = check.shape("target", target, prediction.shape)
    hidden = check.shape("hidden", hidden, prediction.shape)
    err = jnp.where(hidden, (prediction - target) ** 2, 0.0)
    return jnp.sum(err) / jnp.maximum(jnp.sum(hidden), 1)


def ema_update(target, online, decay):
    r"""$\theta_t \leftarrow d\,\theta_t + (1 - d)\,\theta_o$ on every inexact-array leaf.

    The target network update of BYOL and of DINO's teacher; `target` and `online` must be
    pytrees of the same structure.
    """
    check.ratio("decay", decay, closed_high=True)
    # Not optax.incremental_update: it weights the target by 1 - (1 - d), which rounds d
    # differently: the published BYOL/DINO numbers would move in the last bits.
    target_arrays, rest = eqx.partition(target, eqx.is_inexact_array)
    online_arrays = lax.stop_gradient(eqx.filter(online, eqx.is_inexact_array))
    mixed = jax.tree_util.tree_map(
        lambda t, o: decay * t + (1 - decay) * o, target_arrays, online_arrays
    )
    return eqx.combine(mixed, rest)
