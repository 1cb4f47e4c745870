r"""Inpainting masks: `Mask(random_mask(shape, ratio, key=k))` hides random pixels,
`Mask(box_mask(shape, box, key=k))` random rectangles ($A = \mathrm{diag}(m)$).
"""

from __future__ import annotations

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, PRNGKeyArray

from .. import _validate as check


def box_mask(shape, box, *, key: PRNGKeyArray, num_boxes: int = 1) -> Bool[Array, "H W"]:
    r"""A boolean `(H, W)` mask, `True` where observed, hiding `num_boxes` rectangles of size
    `box = (h, w)`; each box's top-left pixel is uniform over the $(H - h + 1)(W - w + 1)$
    positions that keep it inside the image (boxes may overlap). `key` traced under `vmap`
    gives one mask per key.

    Example:
        ```python
        mask = bj.box_mask((16, 16), (4, 4), key=jr.key(0), num_boxes=2)
        op = bj.Mask(mask)
        ```
    """
    shape = check.signal_shape("shape", shape)
    box = check.signal_shape("box", box)
    if len(shape) != 2 or len(box) != 2:
        raise ValueError(f"shape and box must be (H, W) and (h, w), got {shape} and {box}.")
    if box[0] > shape[0] or box[1] > shape[1]:
        raise ValueError(f"box {box} does not fit in an image of shape {shape}.")
    num_boxes = check.positive_int("num_boxes", num_boxes)
    check.prng_key("key", key)
    k_i, k_j = jr.split(key)
    top = jr.randint(k_i, (num_boxes, 1, 1), 0, shape[0] - box[0] + 1)
    left = jr.randint(k_j, (num_boxes, 1, 1), 0, shape[1] - box[1] + 1)
    i = jnp.arange(shape[0])[None, :, None]
    j = jnp.arange(shape[1])[None, None, :]
    hidden = (i >= top) & (i < top + box[0]) & (j >= left) & (j < left + box[1])
    return ~jnp.any(hidden, axis=0)
