"""Memory: what a device holds, what a compiled program needs (XLA's estimate), and how many
trials fit a budget. Used by `map_trials` and `run_sweep` to size their batches before anything
runs."""

from __future__ import annotations

import os

import jax


def auto_chunk(bytes_per_trial: float, num_devices: int, budget_bytes: float | None = None) -> int:
    """How many trials fit a memory budget (default: a quarter of device memory, or 2 GiB).

    The result is a multiple of the number of devices (at least one trial per device).
    """
    if budget_bytes is None:
        stats = jax.local_devices()[0].memory_stats() or {}
        limit = stats.get("bytes_limit")
        budget_bytes = limit / 4 if limit else 2 * 2**30
    per_device = max(1, int(budget_bytes // max(bytes_per_trial, 1.0)))
    return per_device * num_devices


class TooLargeError(ValueError):
    """A computation needs more memory than the device has (XLA's estimate, before running)."""


def device_memory(device=None) -> int:
    """Bytes that `device` (default: this process's first) can hold: the allocator's limit on a
    GPU or TPU; on the CPU, the machine's physical memory."""
    device = jax.local_devices()[0] if device is None else device
    limit = (device.memory_stats() or {}).get("bytes_limit")
    if limit:
        return int(limit)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_needed(compiled) -> int:
    """XLA's estimate of the bytes a compiled program holds at once (arguments, outputs and
    temporaries, per device); 0 where the backend gives no estimate."""
    stats = compiled.memory_analysis()
    if stats is None:
        return 0
    return int(
        stats.argument_size_in_bytes
        + stats.output_size_in_bytes
        + stats.temp_size_in_bytes
        - stats.alias_size_in_bytes
    )


def _gib(num_bytes: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if num_bytes >= size:
            return f"{num_bytes / size:.1f} {unit}"
    return f"{int(num_bytes)} bytes"
