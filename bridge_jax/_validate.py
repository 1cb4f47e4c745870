"""Argument checks that run in Python, before anything is traced.

Each check raises `ValueError`/`TypeError` naming the argument, the value given and
what is allowed. Checks on values skip silently when the value is a tracer (its value is
unknown until run time); shapes are always static and always checked.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(value: Any) -> bool:
    """True when `value`'s numbers are known now (not a tracer inside `jit`/`vmap`/`grad`)."""
    return not isinstance(value, jax.core.Tracer)


def positive_int(name: str, value: Any) -> int:
    """`value` as a Python int >= 1 (a static size or iteration count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a Python int >= 1, got {value!r} ({type(value).__name__})."
        )
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return int(value)


def seed(name: str, value: Any) -> int:
    """`value` as a Python int seed for `jax.random.key`, in [0, 2**64)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a Python int (a seed), got {value!r} ({type(value).__name__})."
        )
    if not 0 <= value < 2**64:
        raise ValueError(f"{name} must be in [0, 2**64), got {value}.")
    return int(value)


def finite(name: str, value: Any):
    """`value` as an array; a `ValueError` if its numbers are known now and any is NaN or inf."""
    value = jnp.asarray(value)
    if is_concrete(value) and jnp.issubdtype(value.dtype, jnp.inexact):
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(np.asarray(value))))
        if bad:
            raise ValueError(
                f"{name} is not finite: {bad} of its {value.size} entries are NaN or inf."
            )
    return value


def signal_shape(name: str, shape: Any) -> tuple[int, ...]:
    """A signal shape from an int `n` (a vector) or a non-empty tuple of positive ints."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        return (positive_int(name, int(shape)),)
    if isinstance(shape, tuple | list) and shape:
        return tuple(positive_int(f"{name}[{i}]", s) for i, s in enumerate(shape))
    raise TypeError(f"{name} must be an int or a non-empty tuple of ints, got {shape!r}.")


def int_in_range(name: str, value: Any, low: int, high: int) -> int:
    """`value` as a Python int with `low <= value <= high`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a Python int, got {value!r} ({type(value).__name__}).")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}.")
    return int(value)


def ratio(name: str, value: Any, *, low: float = 0.0, high: float = 1.0, closed_high=False):
    """Check a ratio lies in `[low, high)` (or `[low, high]`); tracers pass through."""
    if is_concrete(value):
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must be a real number, got {value!r}.")
        upper_ok = arr <= high if closed_high else arr < high
        if not (np.all(np.isfinite(arr)) and np.all(arr >= low) and np.all(upper_ok)):
            bracket = "]" if closed_high else ")"
            raise ValueError(f"{name} must be in [{low}, {high}{bracket}, got {value!r}.")
    return value


def nonnegative(name: str, value: Any, *, strict: bool = False):
    """Check a real scalar/array is >= 0 (> 0 when `strict`); tracers pass through."""
    if is_concrete(value):
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must be a real number, got {value!r}.")
        bad = (arr <= 0) if strict else (arr < 0)
        if not np.all(np.isfinite(arr)) or np.any(bad):
            which = "> 0" if strict else ">= 0"
            raise ValueError(f"{name} must be finite and {which}, got {value!r}.")
    return value


def shape(name: str, value: Any, expected: tuple[int | None, ...]) -> jax.Array:
    """`value` as an array whose shape matches `expected` (`None` matches any size)."""
    arr = jnp.asarray(value)
    ok = arr.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, arr.shape, strict=True)
    )
    if not ok:
        parts = ["*" if e is None else str(e) for e in expected]
        pretty = f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"
        raise ValueError(f"{name} must have shape {pretty}, got shape {tuple(arr.shape)}.")
    return arr


def one_of(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}.")
    return value


def prng_key(name: str, key: Any):
    """Check `key` is a JAX PRNG key (new-style `jax.random.key` or legacy uint32[2])."""
    if key is None:
        raise TypeError(f"{name} is required: pass a key from jax.random.key(seed).")
    arr = key if isinstance(key, jax.Array) else None
    if arr is None:
        raise TypeError(f"{name} must be a jax.random key, got {type(key).__name__}.")
    if jnp.issubdtype(arr.dtype, jax.dtypes.prng_key):
        if arr.ndim != 0:
            raise ValueError(f"{name} must be a single key, got a batch of shape {arr.shape}.")
    elif not (arr.dtype == jnp.uint32 and arr.shape == (2,)):
        raise TypeError(
            f"{name} must be a jax.random key (jax.random.key(seed)), got dtype {arr.dtype} "
            f"and shape {arr.shape}."
        )
    return key


def reconstructor(name: str, value: Any):
    """Check `value` is a reconstructor, called as `value(op, y)`: an `AbstractReconstructor`
    such as `UNet`, the user's own equinox Module, or a plain function (no parameters)."""
    if isinstance(value, str | type) or not callable(value):
        raise TypeError(
            f"{name} must be called as {name}(op, y): an AbstractReconstructor such as "
            f"bridge_jax.UNet, your own equinox Module or a function; got {value!r}."
        )
    return value
