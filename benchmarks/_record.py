"""What every small benchmark writes with its numbers: its arguments and the machine's state."""

from __future__ import annotations

import os
import platform


def write_record(path: str, args, **numbers) -> None:
    """`numbers` as JSON at `path`, with the command's arguments (`args`, an argparse
    namespace), the machine and the load average when the run ended."""
    from bridge_jax import store

    for name in ("args", "loadavg", "machine"):
        if name in numbers:
            raise ValueError(f"{name!r} is written by write_record; name the numbers otherwise.")
    record = {"args": vars(args), **numbers, "loadavg": os.getloadavg()}
    record["machine"] = platform.processor() or platform.machine()
    store.write_json(path, record)
