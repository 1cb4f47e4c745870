"""The benchmark on a GPU: W1-W4 of `benchmarks/run.py` and the networks' training steps of
`benchmarks/reconstructors.py`, bridge_jax (JAX's default device) against PyTorch on the same
device, in one process, into `DIR/bench-gpu-<date>.json` and `DIR/bench-gpu-<date>.md`.

    python -m benchmarks --gpu [--quick] --out DIR

Without a GPU that JAX can use it stops with a one-line error, unless `--quick` is given: then
it is a dry run of the same code on the CPU at tiny sizes (what the tests run). Sizes: W2-W4
at `run.SIZES` (`run.QUICK` with `--quick`), W1 as `bridge-jax reproduce --quick` (cold and
warm), the UNet, the unrolled network and DnCNN on 32x32 and 64x64 images in batches of 8 and
16; planned to finish within 8 minutes on one GPU. Entries run in this process (not one child
each, as on the CPU): the device is held once, and peak memory is not recorded.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time

from benchmarks import run

NETWORKS = {
    "quick": [("dncnn", 16, 2)],
    "full": [
        (name, size, batch)
        for name in ("unet", "unrolled", "dncnn")
        for size in (32, 64)
        for batch in (8, 16)
    ],
}
PARTS = ("W1", "W2", "W3", "W4", "networks")


class NoGPU(RuntimeError):
    """`--gpu` without `--quick` on a machine where JAX sees no GPU."""


def gpu_available() -> bool:
    import jax

    return jax.default_backend() == "gpu"


def bench_gpu(out: str, quick: bool = False, only=PARTS) -> dict:
    """Run the parts in `only` and write the dated JSON and Markdown tables; returns the
    record. Raises `NoGPU` when there is no GPU and `quick` is not set."""
    import jax

    on_gpu = gpu_available()
    if not on_gpu and not quick:
        raise NoGPU(
            f"--gpu needs a GPU that JAX can use, but JAX's backend is "
            f"{jax.default_backend()!r} (install jax[cuda12]); add --quick for a dry run on "
            "the CPU."
        )
    torch = run._torch()
    torch_device = "cpu"
    if on_gpu and torch is not None and torch.cuda.is_available():
        torch_device = "cuda"
    run.TORCH_DEVICE = torch_device
    device = f"{jax.devices()[0].device_kind} ({jax.default_backend()})"
    t_start = time.perf_counter()
    repeat = 2 if quick else 5
    peak_raw = run.gemm_peak(512 if quick else 4096)
    peak = max(peak_raw.values())
    entries = []
    for workload, sizes in (run.QUICK if quick else run.SIZES).items():
        if workload not in only:
            continue
        for size, params in sizes.items():
            print(f"bench --gpu: {workload} {size}", file=sys.stderr, flush=True)
            entry = {"workload": workload, "size": size, "params": params}
            entry.update(run.run_entry(workload, size, params, repeat))
            entry.pop("peak_rss_mb", None)  # the process's, not the entry's, here
            entries.append(run._finish(entry, peak, device))
    if "W1" in only:
        print("bench --gpu: W1 reproduce --quick (cold and warm)", file=sys.stderr, flush=True)
        w1 = {"workload": "W1", "size": "quick", "params": {}, **run.w1(True)}
        entries.append(run._finish(w1, peak, device))
    networks = []
    if "networks" in only:
        from benchmarks import reconstructors

        for name, size, batch in NETWORKS["quick" if quick else "full"]:
            print(f"bench --gpu: {name} {size}x{size} batch {batch}", file=sys.stderr, flush=True)
            networks.append(
                reconstructors.bench(name, size, batch, 3 if quick else 10, torch, torch_device)
            )
    today = datetime.date.today().isoformat()
    result = {
        "format": "bridge_jax.bench-gpu/1",
        "date": today,
        "dry_run": not on_gpu,
        "device": device,
        "torch_device": torch_device if torch is not None else None,
        "machine": {"platform": platform.platform(), "cores": os.cpu_count()},
        "loadavg": os.getloadavg(),
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "torch": torch.__version__ if torch else None,
        },
        "gemm_peak": peak_raw,
        "quick": quick,
        "parts": list(only),
        "entries": entries,
        "networks": networks,
        "wall_s": time.perf_counter() - t_start,
    }
    stem = os.path.join(out, f"bench-gpu-{today}")
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    with open(stem + ".md", "w") as f:
        f.write(markdown(result))
    return result


def markdown(result: dict) -> str:
    from benchmarks.reconstructors import TABLE_HEAD, table_row

    title = "dry run on the CPU" if result["dry_run"] else result["device"]
    lines = [
        f"# bridge_jax benchmark on a GPU, {result['date']} ({title})",
        "",
        f"PyTorch on {result['torch_device']}; {result['wall_s']:.0f} s in all.",
        "",
        run.markdown(result),
    ]
    if result["networks"]:
        lines += [
            "Training steps (forward + backward + Adam), medians:",
            "",
            TABLE_HEAD,
            *(table_row(e) for e in result["networks"]),
            "",
        ]
    return "\n".join(lines)
