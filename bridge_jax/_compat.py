"""Guards against JAX releases with known problems that affect bridge_jax."""

from __future__ import annotations

import functools
import warnings


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def deadlock_prone(version: str) -> bool:
    """jaxlib 0.9.1 - 0.11.1 can deadlock concurrent batched CPU LAPACK calls.

    From 0.9.1 a batched SVD (0.10.0: also eigh, lu, qr, ...) on the CPU schedules one task
    per matrix on XLA's intra-op thread pool and blocks its own pool thread until they finish.
    When every pool thread is blocked that way (two independent batched SVDs in one program
    on a 2-core machine suffice) nothing runs the tasks: all threads sleep, for ever, with no
    error. 0.11.2 compiles the batch parallelism out of open-source builds. Seen here: the
    digits run of `reproduce --quick` hung in 3 of 3 tries with jaxlib 0.9.2 (both pool
    threads in `lapack_sgesdd_ffi` waiting on futures, `gdb` stacks) and not in 25 runs with
    0.9.0.1 (`benchmarks/lapack_hang.py`). `--xla_cpu_multi_thread_eigen=false` does not help.
    """
    return (0, 9, 1) <= _version_tuple(version) < (0, 11, 2)


def check_jaxlib() -> None:
    import jaxlib

    version = getattr(jaxlib, "__version__", "0")
    if deadlock_prone(version):
        warnings.warn(
            f"jaxlib {version} can deadlock on the CPU when several batched linear-algebra calls "
            f"run at once (all threads asleep, no error). bridge_jax requires jaxlib < 0.9.1 or "
            f">= 0.11.2: pip install 'jax<0.9.1' 'jaxlib<0.9.1'.",
            RuntimeWarning,
            stacklevel=3,
        )


def use_unrolled_threefry() -> bool:
    """Draw random numbers on the CPU with JAX's unrolled Threefry (the GPU's lowering): the
    same bits, several times faster. Returns whether it is on.

    On the CPU, JAX lowers each Threefry-2x32 call to a loop of 5 passes over the whole array
    (4 rounds each), which is memory-bound. The unrolled lowering (JAX's default on every
    other platform) computes the same 20 rounds in one fused pass, bit-identical
    (`tests/test_random.py`; timings: the documentation's Performance page,
    `python -m benchmarks.random_draws`). Drawing a fresh 64 x 64 rotation generator per
    view, as the per-view readings and the SSRL methods do, is bound by exactly this.

    What it changes, exactly: one call to `jax._src.interpreters.mlir.register_lowering`
    that replaces the CPU lowering of the primitive `jax._src.prng.threefry2x32_p` by JAX's
    own `_threefry2x32_lowering` with `use_rolled_loops=False`. Nothing else: not the random
    bits (every `jax.random` function returns the same values), not other platforms (GPU and
    TPU already use this lowering), not programs compiled before the call (only later
    compilations: a function that `jit` already compiled keeps its program), not any XLA
    flag or `jax.config` option. The change lasts for the process; there is no call to undo
    it.

    Off by default: importing `bridge_jax` does not call it, because it reaches into JAX's
    internals. The `bridge-jax` command, the benchmarks and the test suite turn it on (the
    suite also runs its `default_compiler` tests without it). Returns False, changing
    nothing, where this JAX version lacks those internals.
    """
    try:
        from jax._src import prng
        from jax._src.interpreters import mlir

        lowering, primitive = prng._threefry2x32_lowering, prng.threefry2x32_p
    except (ImportError, AttributeError):
        return False
    unrolled = functools.partial(lowering, use_rolled_loops=False)
    mlir.register_lowering(
        primitive, mlir.lower_fun(unrolled, multiple_results=True), platform="cpu"
    )
    return True
