"""One training step of the UNet, the unrolled network and DnCNN: bridge_jax against PyTorch.

The step is forward + backward + Adam update on a batch of `--batch` images of `--size` x
`--size`, inpainting with 50% of the pixels kept and one random mask per image, the supervised
loss $\\frac1{B}\\sum_i \\mathrm{mean}((f(A_i, y_i) - x_i)^2)$. bridge_jax: `bj.UNet` and
`bj.UnrolledProximalGradient` (shared DnCNN) and `bj.DnCNN` on its own, the step
`eqx.filter_jit`-ed, `jax.vmap` over the batch, optax Adam. PyTorch: the same networks
written with `torch.nn` (same layers, widths, pooling, upsampling and residuals; the weights
are copied from the bridge_jax networks, and the two losses are checked to agree before
timing), `torch.optim.Adam`, eager autograd, `torch.set_num_threads` = the number of cores XLA uses.

Runs alternate (bridge_jax, PyTorch, bridge_jax, ...) so that both see the same machine load;
the statistic is the median and the interquartile range of `--repeat` steps after one
untimed warm-up step each (the warm-up, which includes JAX's compilation, is reported apart).
PyTorch is also timed with one thread (`torch_1_thread`), interleaved with the others.

    python benchmarks/reconstructors.py [--size 32,64] [--batch 8,16] [--repeat 15]
        [--networks unet,unrolled,dncnn] [--out benchmarks/reconstructors.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

import bridge_jax as bj

CONFIGS = {
    "unet": dict(scales=3, width=16),
    "unrolled": dict(num_iters=5, step=1.0, depth=5, width=32),
    "dncnn": dict(depth=5, width=32),
}


def jax_model(name: str, key):
    if name == "unet":
        return bj.UNet(**CONFIGS["unet"], key=key)
    if name == "dncnn":
        return bj.DnCNN(**CONFIGS["dncnn"], key=key)
    return bj.UnrolledProximalGradient(**CONFIGS["unrolled"], key=key)


def perturb(model, seed: int = 0, scale: float = 0.05):
    """The zero-initialised last layers made non-zero (as after some training), so that the
    backward pass and the comparison with PyTorch involve every layer."""
    rng = np.random.default_rng(seed)
    params, static = eqx.partition(model, eqx.is_array)
    params = jax.tree_util.tree_map(
        lambda p: p + scale * jnp.asarray(rng.standard_normal(p.shape), p.dtype), params
    )
    return eqx.combine(params, static)


def jax_step(learning_rate: float = 1e-3):
    """(init, step): the jitted training step of bridge_jax."""
    optimiser = optax.adam(learning_rate)

    def loss(model, masks, ys, xs):
        out = jax.vmap(lambda m, y: model(bj.Mask(m), y))(masks, ys)
        return jnp.mean((out - xs) ** 2)

    @eqx.filter_jit
    def step(model, state, masks, ys, xs):
        value, grads = eqx.filter_value_and_grad(loss)(model, masks, ys, xs)
        updates, state = optimiser.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, value

    def init(model):
        return optimiser.init(eqx.filter(model, eqx.is_array))

    return init, step, eqx.filter_jit(loss)


# --------------------------------------------------------------------------- PyTorch


def torch_modules(torch):
    nn, F = torch.nn, torch.nn.functional

    def conv(cin, cout, k=3):
        return nn.Conv2d(cin, cout, k, padding=k // 2)

    class Block(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.first, self.second = conv(cin, cout), conv(cout, cout)

        def forward(self, h):
            return F.relu(self.second(F.relu(self.first(h))))

    class UNet(nn.Module):
        """bj.UNet: blocks of two 3x3 convs, ceil-mode 2x2 max pooling, nearest x2
        upsampling cropped to the skip, concatenation, zero 1x1 head, x + U(x)."""

        def __init__(self, scales, width):
            super().__init__()
            ch = [width * 2**level for level in range(scales)]
            self.down = nn.ModuleList(
                Block(c_in, c) for c_in, c in zip([1, *ch[:-1]], ch, strict=True)
            )
            self.up = nn.ModuleList(Block(ch[i + 1] + ch[i], ch[i]) for i in range(scales - 1))
            self.head = conv(ch[0], 1, 1)

        def forward(self, x):  # x: (B, H, W)
            h, skips = x[:, None], []
            for level, block in enumerate(self.down):
                if level > 0:
                    h = F.max_pool2d(h, 2, ceil_mode=True)
                h = block(h)
                skips.append(h)
            for level in reversed(range(len(self.up))):
                skip = skips[level]
                h = h.repeat_interleave(2, 2).repeat_interleave(2, 3)
                h = h[:, :, : skip.shape[2], : skip.shape[3]]
                h = self.up[level](torch.cat([h, skip], 1))
            return x + self.head(h)[:, 0]

    class DnCNN(nn.Module):
        def __init__(self, depth, width):
            super().__init__()
            ch = [1] + [width] * (depth - 1) + [1]
            self.layers = nn.ModuleList(conv(ch[i], ch[i + 1]) for i in range(depth))

        def forward(self, x):
            h = x[:, None]
            for layer in self.layers[:-1]:
                h = F.relu(layer(h))
            return x - self.layers[-1](h)[:, 0]

    class Unrolled(nn.Module):
        """bj.UnrolledProximalGradient with inpainting: A = A^T = diag(mask)."""

        def __init__(self, num_iters, step, depth, width):
            super().__init__()
            self.log_steps = nn.Parameter(torch.full((num_iters,), float(np.log(step))))
            self.denoiser = DnCNN(depth, width)

        def forward(self, masks, y):
            x = masks * y
            for log_tau in self.log_steps:
                x = self.denoiser(x - torch.exp(log_tau) * masks * (masks * x - y))
            return x

    return UNet, Unrolled, DnCNN


def _copy_conv(torch, tconv, jconv):
    with torch.no_grad():
        tconv.weight.copy_(torch.from_numpy(np.array(jconv.weight)))
        tconv.bias.copy_(torch.from_numpy(np.array(jconv.bias).reshape(-1)))


def torch_model(torch, name: str, jmodel):
    """The PyTorch network with bridge_jax's weights."""
    UNet, Unrolled, DnCNN = torch_modules(torch)
    if name == "dncnn":
        net = DnCNN(**CONFIGS["dncnn"])
        for tl, jl in zip(net.layers, jmodel.layers, strict=True):
            _copy_conv(torch, tl, jl)
        return net
    if name == "unet":
        net = UNet(**CONFIGS["unet"])
        for tb, jb in zip(list(net.down) + list(net.up), jmodel.down + jmodel.up, strict=True):
            _copy_conv(torch, tb.first, jb.first)
            _copy_conv(torch, tb.second, jb.second)
        _copy_conv(torch, net.head, jmodel.head)
        return net
    net = Unrolled(**CONFIGS["unrolled"])
    with torch.no_grad():
        net.log_steps.copy_(torch.from_numpy(np.array(jmodel.log_steps)))
    for tl, jl in zip(net.denoiser.layers, jmodel.denoiser.layers, strict=True):
        _copy_conv(torch, tl, jl)
    return net


def torch_step(torch, name, net, learning_rate: float = 1e-3):
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate)

    def forward(masks, ys):
        return net(masks, ys) if name == "unrolled" else net(ys)

    def step(masks, ys, xs):
        optimiser.zero_grad(set_to_none=True)
        loss = torch.mean((forward(masks, ys) - xs) ** 2)
        loss.backward()
        optimiser.step()
        return loss

    return step, forward


# --------------------------------------------------------------------------- driver


def _synchronised(torch, fn):
    def step(*args):
        out = fn(*args)
        torch.cuda.synchronize()
        return out

    return step


def _stats(times):
    q = statistics.quantiles(times, n=4)
    return {"median_s": statistics.median(times), "iqr_s": [q[0], q[2]]}


def bench(name: str, size: int, batch: int, repeat: int, torch, device: str = "cpu") -> dict:
    """One network's training step at one size and batch: bridge_jax (on JAX's default
    device), PyTorch on `device` ("cpu": with all cores and with one thread)."""
    key = jr.key(0)
    masks = jax.vmap(lambda k: bj.random_mask((size, size), 0.5, key=k))(
        jr.split(jr.fold_in(key, 1), batch)
    )
    xs = jr.uniform(jr.fold_in(key, 2), (batch, size, size))
    ys = masks * xs
    model = perturb(jax_model(name, jr.fold_in(key, 3)))
    init, step, loss = jax_step()
    state = init(model)
    entry = {
        "network": name,
        "config": CONFIGS[name],
        "batch": batch,
        "image_shape": [size, size],
        "bridge_jax_parameters": bj.num_parameters(model),
    }
    t_masks = t_ys = t_xs = t_step = None
    if torch is not None:
        net = torch_model(torch, name, model).to(device)
        entry["torch_parameters"] = sum(p.numel() for p in net.parameters())
        t_masks, t_ys, t_xs = (
            torch.from_numpy(np.array(a, np.float32)).to(device) for a in (masks, ys, xs)
        )
        t_step, t_forward = torch_step(torch, name, net)
        if device != "cpu":
            t_step = _synchronised(torch, t_step)
        with torch.no_grad():
            t_loss = float(torch.mean((t_forward(t_masks, t_ys) - t_xs) ** 2))
        j_loss = float(loss(model, masks, ys, xs))
        entry["initial_loss"] = {"bridge_jax": j_loss, "torch": t_loss}
        entry["loss_relative_difference"] = abs(j_loss - t_loss) / abs(j_loss)

    t0 = time.perf_counter()
    model, state, value = step(model, state, masks, ys, xs)
    jax.block_until_ready(value)
    entry["bridge_jax_first_step_s"] = time.perf_counter() - t0  # compilation included
    if torch is not None:
        t0 = time.perf_counter()
        t_step(t_masks, t_ys, t_xs)
        entry["torch_first_step_s"] = time.perf_counter() - t0

    j_times, t_times, t1_times = [], [], []
    threads = None if torch is None else torch.get_num_threads()
    one_thread = torch is not None and device == "cpu" and threads > 1
    for _ in range(repeat):
        t0 = time.perf_counter()
        model, state, value = step(model, state, masks, ys, xs)
        jax.block_until_ready(value)
        j_times.append(time.perf_counter() - t0)
        if torch is not None:
            t0 = time.perf_counter()
            t_step(t_masks, t_ys, t_xs)
            t_times.append(time.perf_counter() - t0)
            if not one_thread:
                continue
            # Also one thread: on a loaded machine OpenMP's barriers wait for descheduled
            # threads, which can cost PyTorch more than the second core gains.
            torch.set_num_threads(1)
            t0 = time.perf_counter()
            t_step(t_masks, t_ys, t_xs)
            t1_times.append(time.perf_counter() - t0)
            torch.set_num_threads(threads)
    entry["bridge_jax"] = _stats(j_times)
    if torch is not None:
        entry["torch_device"] = device
        entry["torch_threads"] = threads if device == "cpu" else None
        entry["torch"] = _stats(t_times)
        entry["speedup_vs_torch"] = entry["torch"]["median_s"] / entry["bridge_jax"]["median_s"]
        if one_thread:
            entry["torch_1_thread"] = _stats(t1_times)
            entry["speedup_vs_torch_1_thread"] = (
                entry["torch_1_thread"]["median_s"] / entry["bridge_jax"]["median_s"]
            )
        best = min(
            entry["torch"]["median_s"], entry.get("torch_1_thread", {}).get("median_s", 1e30)
        )
        entry["speedup_vs_best_torch"] = best / entry["bridge_jax"]["median_s"]
    return entry


TABLE_HEAD = (
    "| network | image | batch | bridge_jax s | PyTorch s (all cores) | PyTorch s (1 thread) | "
    "best PyTorch / bridge_jax | loss rel. diff | load (1 min) |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def table_row(e: dict) -> str:
    """One markdown row of the step times (medians) and the ratio to the faster PyTorch."""

    def cell(key):
        return f"{e[key]['median_s']:.3g}" if key in e else "-"

    ratio = e.get("speedup_vs_best_torch")
    return (
        f"| {e['network']} | {e['image_shape'][0]}x{e['image_shape'][1]} | {e['batch']} | "
        f"{cell('bridge_jax')} | {cell('torch')} | {cell('torch_1_thread')} | "
        f"{'-' if ratio is None else f'{ratio:.2f}'} | "
        f"{e.get('loss_relative_difference', float('nan')):.1e} | "
        f"{e.get('loadavg_after', [float('nan')])[0]:.1f} |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="64", help="image sizes, comma-separated")
    parser.add_argument("--batch", default="16", help="batch sizes, comma-separated")
    parser.add_argument("--networks", default=",".join(CONFIGS), help="networks, comma-separated")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", default="benchmarks/reconstructors.json")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:  # the bridge_jax side still runs
        torch = None
    if torch is not None:  # XLA:CPU's thread pool has one thread per core it may run on
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    load_before = os.getloadavg()
    entries = []
    names = [n.strip() for n in args.networks.split(",") if n.strip()]
    print(TABLE_HEAD)
    if not names or any(n not in CONFIGS for n in names):
        parser.error(f"--networks must name some of {','.join(CONFIGS)}, got {args.networks!r}")
    for name in names:
        for size in (int(v) for v in args.size.split(",")):
            for batch in (int(v) for v in args.batch.split(",")):
                entry = bench(name, size, batch, args.repeat, torch)
                entry["loadavg_after"] = os.getloadavg()
                entries.append(entry)
                print(table_row(entry), flush=True)
    result = {
        "problem": "inpainting, 50% of pixels kept, one random mask per image; supervised MSE",
        "statistic": "median and interquartile range of seconds per training step (forward + "
        "backward + Adam), after one untimed warm-up step; runs alternate between libraries",
        "repeat": args.repeat,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
            "device": str(jax.devices()[0].device_kind),
            "torch_threads": None if torch is None else torch.get_num_threads(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "versions": {
            "jax": jax.__version__,
            "equinox": eqx.__version__,
            "torch": None if torch is None else torch.__version__,
        },
        "entries": entries,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
