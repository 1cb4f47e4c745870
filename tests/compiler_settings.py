"""The suite's compiler settings (applied in conftest.py), shared with the tests that check them.

The tests run small programs many times over: XLA's compile time, not run time, is what they
spend. Without the backend's optimisation passes XLA:CPU compiles in about 40% less CPU time
(tests/test_reconstructors.py 74 -> 45 CPU s, test_phase_experiment.py with
test_imaging_losses.py 58 -> 35 CPU s) and computes the same values up to float rounding.
XLA:CPU's older (LLVM IR) fusion emitters compile a program in about half the time of its
MLIR fusion emitters (benchmarks/compile_flags.py; test_operators.py 63 -> 46 s).
"""

import os

COMPILE_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"

# Set to "1" by tests/test_default_compiler.py for its separate run of the tests marked
# `default_compiler`: none of the suite's compiler settings (these flags, unrolled Threefry,
# the persistent compilation cache), as users run the library.
DEFAULT_COMPILER_ENV = "BRIDGE_JAX_TEST_DEFAULT_COMPILER"


def default_compiler() -> bool:
    """Whether this process runs with JAX's default compiler settings."""
    return os.environ.get(DEFAULT_COMPILER_ENV) == "1"
