"""The gradient of a DnCNN (depth 5, width 32) on B images of S x S, with its convolutions
written in several forms, against PyTorch (1 and all threads), medians of 7 interleaved runs.

    python -m benchmarks.conv_forms [B] [S]     # default 16 64; XLA_FLAGS applies as usual

Forms: equinox's `Conv2d` under `vmap` (what `bj.DnCNN` does), channels-last
`lax.conv_general_dilated` (NHWC/HWIO), batched channels-first (NCHW/OIHW), one im2col GEMM
per convolution, nine shifted GEMMs per convolution. All give the same loss and gradients.
"""

from __future__ import annotations

import statistics
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

import bridge_jax as bj


def _dimension_conv(spec):
    def conv(h, w, b):  # h (B, H, W, C); w (O, I, 3, 3) as equinox stores it
        if spec == "NHWC":
            out = lax.conv_general_dilated(
                h,
                jnp.transpose(w, (2, 3, 1, 0)),
                (1, 1),
                "SAME",
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
            )
            return out + b.reshape(-1)
        out = lax.conv_general_dilated(
            jnp.moveaxis(h, -1, 1), w, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW")
        )
        return jnp.moveaxis(out + b.reshape(1, -1, 1, 1), 1, -1)

    return conv


def _im2col(h, w, b):
    _, height, width, c = h.shape
    p = jnp.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = [p[:, i : i + height, j : j + width, :] for i in range(3) for j in range(3)]
    return jnp.concatenate(cols, -1) @ jnp.transpose(w, (2, 3, 1, 0)).reshape(
        9 * c, -1
    ) + b.reshape(-1)


def _shifted(h, w, b):
    _, height, width, _ = h.shape
    p = jnp.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = b.reshape(-1)
    for i in range(3):
        for j in range(3):
            out = out + p[:, i : i + height, j : j + width, :] @ w[:, :, i, j].T
    return out


def main(batch: int = 16, size: int = 64) -> None:
    net = bj.DnCNN(depth=5, width=32, key=jr.key(0))
    last = 0.05 * jr.normal(jr.key(1), net.layers[-1].weight.shape)
    net = eqx.tree_at(lambda n: n.layers[-1].weight, net, last)
    xs = jr.uniform(jr.key(2), (batch, size, size))

    def with_conv(conv):
        def loss(net):
            h = xs[..., None]
            for i, layer in enumerate(net.layers):
                h = conv(h, layer.weight, layer.bias)
                h = jax.nn.relu(h) if i < len(net.layers) - 1 else h
            return jnp.mean((xs - h[..., 0]) ** 2)

        return loss

    losses = {
        "equinox_vmap": lambda n: jnp.mean(jax.vmap(n.denoise)(xs) ** 2),
        "nhwc": with_conv(_dimension_conv("NHWC")),
        "nchw": with_conv(_dimension_conv("NCHW")),
        "im2col": with_conv(_im2col),
        "shifted_gemms": with_conv(_shifted),
    }
    grads = {k: jax.jit(jax.grad(f)) for k, f in losses.items()}
    ref = jax.tree_util.tree_leaves(grads["equinox_vmap"](net))
    for k, g in grads.items():
        diff = max(
            float(jnp.max(jnp.abs(a - b)))
            for a, b in zip(jax.tree_util.tree_leaves(g(net)), ref, strict=True)
        )
        print(f"{k}: loss {float(losses[k](net)):.6g}, max gradient difference {diff:.1e}")
    import torch

    layers = torch.nn.ModuleList(
        torch.nn.Conv2d(a, b, 3, padding=1)
        for a, b in zip([1, 32, 32, 32, 32], [32, 32, 32, 32, 1], strict=True)
    )
    with torch.no_grad():
        for tl, jl in zip(layers, net.layers, strict=True):
            tl.weight.copy_(torch.from_numpy(np.array(jl.weight)))
            tl.bias.copy_(torch.from_numpy(np.array(jl.bias).reshape(-1)))
    tx = torch.from_numpy(np.array(xs))

    def torch_grad():
        for p in layers.parameters():
            p.grad = None
        h = tx[:, None]
        for layer in layers[:-1]:
            h = torch.relu(layer(h))
        torch.mean((tx - layers[-1](h)[:, 0]) ** 2).backward()

    threads = torch.get_num_threads()
    times = {k: [] for k in [*grads, "torch_1_thread", f"torch_{threads}_threads"]}
    for _ in range(7):
        for k, g in grads.items():
            t0 = time.perf_counter()
            jax.block_until_ready(g(net))
            times[k].append(time.perf_counter() - t0)
        for n in (1, threads):
            torch.set_num_threads(n)
            t0 = time.perf_counter()
            torch_grad()
            times["torch_1_thread" if n == 1 else f"torch_{threads}_threads"].append(
                time.perf_counter() - t0
            )
    for k, t in times.items():
        print(f"{k:16s} {statistics.median(t) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
