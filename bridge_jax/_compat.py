"""Guards against JAX releases with known problems that affect bridge_jax."""

from __future__ import annotations

import warnings


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def deadlock_prone(version: str) -> bool:
    """jaxlib 0.10.0 - 0.11.1 can deadlock concurrent batched CPU LAPACK calls (eigh, svd, lu)."""
    return (0, 10, 0) <= _version_tuple(version) < (0, 11, 2)


def check_jaxlib() -> None:
    import jaxlib

    version = getattr(jaxlib, "__version__", "0")
    if deadlock_prone(version):
        warnings.warn(
            f"jaxlib {version} can deadlock on the CPU when several batched linear-algebra calls "
            f"run at once (all threads asleep, no error). bridge_jax requires jaxlib < 0.10 or "
            f">= 0.11.2: pip install 'jax<0.10' 'jaxlib<0.10'.",
            RuntimeWarning,
            stacklevel=3,
        )
