r"""Learned reconstructors behind one interface, and the convolutional ones for images.

Every reconstructor is an `AbstractReconstructor`: called as `model(op, y, *, key=None) -> x`
on ONE measurement `y` of the lineax operator `op`, it returns an array of `op`'s input
structure. The operator is an argument, not part of the model, so one network serves a fresh
mask per image (multi-operator training), a masked operator (measurement splitting) or an
operator it never saw. `key` is for stochastic networks; the deterministic ones here ignore it.

The image networks act on real single-channel `(H, W)` images:

- `DnCNN`: a residual convolutional denoiser, $D(x) = x - R(x)$;
- `UNet`: a small encoder-decoder with skip connections, $D(x) = x + U(x)$;
- `UnrolledProximalGradient`: $K$ proximal-gradient steps with a learned DnCNN as the prox
  (MoDL-style), which calls only `op.mv` and `adjoint(op).mv`, so it runs with every imaging
  operator.

`DnCNN` and `UNet` reconstruct from the back-projection $u = A^* y$ (`adjoint(op).mv(y)`:
for an operator with real images and complex data, such as `MRI`, this is the real part
$\mathrm{Re}(F^* M y)$, a real image). Their `denoise(x)` maps an image to an image. All
three start as the identity map on their input (the last convolution is zero), so untrained
`DnCNN`/`UNet` return $A^* y$ and the untrained unrolled network is plain gradient descent.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jax import lax
from jaxtyping import Array, Float, Inexact, PRNGKeyArray

from . import _validate as check
from ._operators import adjoint, check_input, check_operator

# Unrolled networks run up to this many iterations as straight-line code (`lax.scan` fully
# unrolled): XLA:CPU then fuses across iterations and, under the gradient, no longer
# materialises broadcast parameters and stacked residuals inside a loop (a Noise2Self training
# step of the learned ISTA 74 -> 42-49 ms at T = 10; convolutions in a loop ran ~8x slower).
# Compile time grows with T and past ~30 iterations the gain is gone, so longer ones keep the
# rolled loop (docs/performance.md).
FULL_UNROLL_MAX = 32


def scan_unroll(length: int) -> int:
    """`lax.scan`'s `unroll` for an unrolled network of `length` iterations."""
    return length if length <= FULL_UNROLL_MAX else 1


class AbstractReconstructor(eqx.Module):
    r"""A learned map from a measurement to a signal: `model(op, y, *, key=None) -> x`.

    `op` is a lineax operator, `y` one measurement of `op.out_structure()`'s shape, and `x`
    has `op.in_structure()`'s shape. `key` (a `jax.random` key) is for stochastic networks;
    deterministic ones accept and ignore it. Batch with `jax.vmap` over `y` (and over `op`
    for one operator per signal).
    """

    @abc.abstractmethod
    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Inexact[Array, "..."],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Inexact[Array, "..."]:
        """The reconstruction of `y` measured through `op`."""


# The reconstructors' input checks, in one place: `measurement` for the vector networks (built
# for signals of a fixed size), `_check_image_operator` and `_back_projection` for the image ones.


def measurement(name: str, op, y, n: int) -> Inexact[Array, "..."]:
    """`y` as one measurement of `op`, after checking that `op` takes signals of `n` entries
    (the size the vector network `name` was built for)."""
    size = check_operator(op).in_size()
    if size != n:
        raise ValueError(
            f"{name} was built for signals of {n} entries: op.in_size() must be {n}, got {size}."
        )
    return check_input(op, y, "y", output=True)


def _check_image_operator(name: str, op) -> tuple[int, int]:
    """The `(H, W)` of an operator on real images, or an error naming `name`."""
    struct = check_operator(op).in_structure()
    if len(struct.shape) != 2:
        raise ValueError(
            f"{name} reconstructs (H, W) images: op.in_structure() must have 2 dimensions, got "
            f"shape {tuple(struct.shape)} (wrap a vector operator with bridge_jax.Reshaped)."
        )
    if not jnp.issubdtype(struct.dtype, jnp.floating):
        raise TypeError(
            f"{name} reconstructs real images: op.in_structure() must have a real dtype, got "
            f"{jnp.dtype(struct.dtype).name} (complex-valued data with real images, such as "
            f"bridge_jax.MRI, is fine)."
        )
    return tuple(struct.shape)


def _back_projection(name: str, op, y) -> Float[Array, "H W"]:
    """$A^* y$ after checking that `op` acts on real images and `y` has its output shape."""
    _check_image_operator(name, op)
    return adjoint(op).mv(check_input(op, y, "y", output=True))


def _check_image(name: str, x) -> Float[Array, "H W"]:
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"{name}.denoise takes one (H, W) image, got shape {tuple(x.shape)} (batch with "
            f"jax.vmap)."
        )
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{name}.denoise takes a real image, got dtype {x.dtype}.")
    return x


def _conv(cin: int, cout: int, key, *, kernel: int = 3, zero: bool = False) -> eqx.nn.Conv2d:
    """A same-size convolution; `zero` starts it at zero (the residual branch starts off)."""
    conv = eqx.nn.Conv2d(cin, cout, kernel, padding=kernel // 2, key=key)
    if zero:
        conv = eqx.tree_at(
            lambda c: (c.weight, c.bias),
            conv,
            (jnp.zeros_like(conv.weight), jnp.zeros_like(conv.bias)),
        )
    return conv


class AbstractDenoiser(AbstractReconstructor):
    r"""An image-to-image network $D$ used as a reconstructor on the back-projection:
    $\hat x = D(A^* y)$. Subclasses implement `denoise(x)` on one `(H, W)` image."""

    @abc.abstractmethod
    def denoise(self, x: Float[Array, "H W"]) -> Float[Array, "H W"]:
        """The network applied to one real `(H, W)` image."""

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Inexact[Array, "..."],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, "H W"]:
        return self.denoise(_back_projection(type(self).__name__, op, y))


class DnCNN(AbstractDenoiser):
    r"""A DnCNN-style residual denoiser: $D(x) = x - R(x)$, where $R$ (the predicted noise) is
    `depth` 3x3 convolutions, ReLU between them: $1 \to w \to \dots \to w \to 1$ channels.

    As a reconstructor, $\hat x = D(A^* y)$. The last convolution starts at zero, so the
    untrained network is the identity ($\hat x = A^* y$). Any image size works.

    Arguments: `depth` the number of convolutions ($\ge 2$), `width` $w$ the hidden channels,
    `key` for the initial weights.

    Example:
        ```python
        model = bj.DnCNN(depth=3, width=8, key=jr.key(0))
        op = bj.Mask(bj.random_mask((16, 16), 0.3, key=jr.key(1)))
        x_hat = model(op, op.mv(jnp.ones((16, 16))))  # on A^T y; untrained: A^T y itself
        ```
    """

    layers: tuple[eqx.nn.Conv2d, ...]
    depth: int = eqx.field(static=True)
    width: int = eqx.field(static=True)

    def __init__(self, *, depth: int = 5, width: int = 32, key: PRNGKeyArray):
        self.depth = check.positive_int("depth", depth)
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2 (first and last convolution), got {depth}.")
        self.width = check.positive_int("width", width)
        check.prng_key("key", key)
        keys = jr.split(key, self.depth)
        channels = [1] + [self.width] * (self.depth - 1) + [1]
        self.layers = tuple(
            _conv(channels[i], channels[i + 1], keys[i], zero=i == self.depth - 1)
            for i in range(self.depth)
        )

    def denoise(self, x: Float[Array, "H W"]) -> Float[Array, "H W"]:
        x = _check_image("DnCNN", x)
        h = x[None]
        for conv in self.layers[:-1]:
            h = jax.nn.relu(conv(h))
        return x - self.layers[-1](h)[0]


class _Block(eqx.Module):
    """Two 3x3 convolutions with ReLU: the UNet's unit at one scale."""

    first: eqx.nn.Conv2d
    second: eqx.nn.Conv2d

    def __init__(self, cin: int, cout: int, key):
        k1, k2 = jr.split(key)
        self.first = _conv(cin, cout, k1)
        self.second = _conv(cout, cout, k2)

    def __call__(self, h):
        return jax.nn.relu(self.second(jax.nn.relu(self.first(h))))


def _upsample_to(h, shape):
    """Nearest-neighbour x2 upsampling cropped to `shape`: undoes a ceil-mode 2x2 pooling."""
    h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
    return h[:, : shape[0], : shape[1]]


class UNet(AbstractDenoiser):
    r"""A small UNet on `(H, W)` images, residual: $D(x) = x + U(x)$.

    `scales` levels with $w, 2w, 4w, \dots$ channels (`width` $w$); at each level two 3x3
    convolutions with ReLU; down by 2x2 max pooling (ceil mode, so odd sizes work:
    $28 \to 14 \to 7 \to 4$), up by nearest-neighbour x2 upsampling cropped to the skip's size,
    then concatenation with the skip connection. A final 1x1 convolution, zero at the start,
    gives one channel: the untrained network is the identity ($\hat x = A^* y$ as a
    reconstructor). Any image size works.

    Example:
        ```python
        model = bj.UNet(scales=2, width=8, key=jr.key(0))
        op = bj.Mask(bj.random_mask((28, 28), 0.3, key=jr.key(1)))
        x_hat = model(op, op.mv(jnp.ones((28, 28))))  # model(op, y, *, key=None) -> (28, 28)
        ```
    """

    down: tuple[_Block, ...]
    up: tuple[_Block, ...]
    head: eqx.nn.Conv2d
    pool: eqx.nn.MaxPool2d
    scales: int = eqx.field(static=True)
    width: int = eqx.field(static=True)

    def __init__(self, *, scales: int = 3, width: int = 16, key: PRNGKeyArray):
        self.scales = check.int_in_range("scales", scales, 1, 5)
        self.width = check.positive_int("width", width)
        check.prng_key("key", key)
        k_down, k_up, k_head = jr.split(key, 3)
        channels = [self.width * 2**level for level in range(self.scales)]
        cins = [1, *channels[:-1]]
        self.down = tuple(
            _Block(cin, c, k)
            for cin, c, k in zip(cins, channels, jr.split(k_down, self.scales), strict=True)
        )
        # Decoder level l takes the upsampled level l+1 and the skip of level l.
        self.up = tuple(
            _Block(channels[level + 1] + channels[level], channels[level], k)
            for level, k in zip(
                range(self.scales - 1), jr.split(k_up, self.scales)[1:], strict=True
            )
        )
        self.head = _conv(channels[0], 1, k_head, kernel=1, zero=True)
        self.pool = eqx.nn.MaxPool2d(2, 2, use_ceil=True)

    def denoise(self, x: Float[Array, "H W"]) -> Float[Array, "H W"]:
        x = _check_image("UNet", x)
        h = x[None]
        skips = []
        for level, block in enumerate(self.down):
            if level > 0:
                h = self.pool(h)
            h = block(h)
            skips.append(h)
        for level in reversed(range(self.scales - 1)):
            skip = skips[level]
            h = _upsample_to(h, skip.shape[1:])
            h = self.up[level](jnp.concatenate([h, skip], axis=0))
        return x + self.head(h)[0]


class UnrolledProximalGradient(AbstractReconstructor):
    r"""$K$ learned proximal-gradient steps (MoDL / unrolled PGD) on `(H, W)` images:

    $x_{k+1} = D_k\big(x_k - \tau_k A^*(A x_k - y)\big)$, $x_0 = A^* y$,

    with $D_k$ a `DnCNN` (one shared by all steps, or one per step with `shared=False`) and
    step sizes $\tau_k = e^{\theta_k}$ learned on a log scale (they stay positive), starting at
    `step`. Only `op.mv` and `adjoint(op).mv` are called: any operator on real images works.
    $x_0 = A^* y$ rather than 0 so that the first denoiser sees an image, not the first
    gradient step from zero. The denoisers' last convolution starts at zero, so the untrained
    network is exactly $K$ Landweber steps from $A^* y$ (`landweber(op, y, x0=adjoint(op).mv(y),
    step_size=step, num_steps=K)`); `step` should be below $2/\|A\|^2$ (1 suits masks, MRI
    and normalised blurs, whose norm is at most 1).

    Example:
        ```python
        model = bj.UnrolledProximalGradient(num_iters=3, depth=3, width=8, key=jr.key(0))
        op = bj.Blur.gaussian(1.0, shape=(16, 16))
        x_hat = model(op, op.mv(jnp.ones((16, 16))))  # calls only op and its adjoint
        ```
    """

    log_steps: Float[Array, " K"]
    denoiser: DnCNN
    shared: bool = eqx.field(static=True)

    def __init__(
        self,
        *,
        num_iters: int = 5,
        step=1.0,
        shared: bool = True,
        depth: int = 5,
        width: int = 32,
        key: PRNGKeyArray,
    ):
        num_iters = check.positive_int("num_iters", num_iters)
        check.nonnegative("step", step, strict=True)
        if not isinstance(shared, bool):
            raise TypeError(f"shared must be a bool, got {shared!r}.")
        check.prng_key("key", key)
        self.shared = shared
        self.log_steps = jnp.full((num_iters,), jnp.log(jnp.asarray(step, float)))
        if shared:
            self.denoiser = DnCNN(depth=depth, width=width, key=key)
        else:
            # One denoiser per step, stacked along a leading axis of every array (lax.scan
            # then compiles one step, not K).
            self.denoiser = eqx.filter_vmap(lambda k: DnCNN(depth=depth, width=width, key=k))(
                jr.split(key, num_iters)
            )

    @property
    def num_iters(self) -> int:
        return self.log_steps.shape[0]

    @property
    def steps(self) -> Float[Array, " K"]:
        return jnp.exp(self.log_steps)

    def __call__(
        self,
        op: lx.AbstractLinearOperator,
        y: Inexact[Array, "..."],
        *,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, "H W"]:
        u = _back_projection("UnrolledProximalGradient", op, y)
        params, static = eqx.partition(self.denoiser, eqx.is_array)
        a_star = adjoint(op)

        def body(x, step):
            log_tau, p = step
            z = x - jnp.exp(log_tau).astype(x.dtype) * a_star.mv(op.mv(x) - y)
            return eqx.combine(params if self.shared else p, static).denoise(z), None

        # Unrolled (`scan_unroll`): XLA:CPU runs convolutions inside a while loop ~8x slower
        # than the same convolutions in straight-line code (the benchmark's training step).
        xs = (self.log_steps, None if self.shared else params)
        x, _ = lax.scan(body, u, xs, unroll=scan_unroll(self.log_steps.shape[0]))
        return x


def num_parameters(model) -> int:
    """The number of scalars in the model's array leaves (its trainable parameters)."""
    return sum(
        math.prod(a.shape) for a in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))
    )
