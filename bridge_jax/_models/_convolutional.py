r"""Convolutional reconstructors for images: `DnCNN` and `UNet` (the unrolled
proximal-gradient network, which uses a DnCNN as its prox, is in `_unrolled.py`).

Both act on real single-channel `(H, W)` images and reconstruct from the back-projection
$u = A^* y$ (`adjoint(op).mv(y)`: for an operator with real images and complex data, such as
`MRI`, this is the real part $\mathrm{Re}(F^* M y)$, a real image): `DnCNN` is a residual
denoiser, $D(x) = x - R(x)$; `UNet` a small encoder-decoder with skip connections,
$D(x) = x + U(x)$. Their `denoise(x)` maps an image to an image. Both start as the identity map
on their input (the last convolution is zero): untrained, they return $A^* y$.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Float, Inexact, PRNGKeyArray

from .. import _validate as check
from ._base import AbstractReconstructor, _back_projection, _check_image


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
