"""The core paths under the compiler settings users get.

The suite compiles with XLA's backend optimisations off and the older fusion emitters
(`compiler_settings.py`), and with `use_unrolled_threefry()` on: faster to compile, the same
values up to float rounding. Users run none of this. The tests marked `default_compiler` run
once more in a separate process with JAX's defaults (`test_core_paths_under_default_settings`):
operators' `mv` and adjoint and one loss's gradient (here), one solver (`test_solvers.py`),
one model's forward pass (`test_models.py`).
"""

import os
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from compiler_settings import COMPILE_FLAGS, DEFAULT_COMPILER_ENV, default_compiler
from jax.flatten_util import ravel_pytree
from registry import OPERATORS, random_input

import bridge_jax as bj

pytestmark = pytest.mark.default_compiler


def _threefry_is_rolled() -> bool:
    """Whether the CPU lowers Threefry as JAX does by default (a loop in the program)."""
    text = jax.jit(lambda k: jr.bits(k, (8,))).lower(jr.key(0)).as_text()
    return "stablehlo.while" in text


def test_the_run_has_the_compiler_settings_it_asked_for():
    default = default_compiler()
    assert (COMPILE_FLAGS in os.environ.get("XLA_FLAGS", "")) is not default
    if jax.default_backend() == "cpu":
        assert _threefry_is_rolled() is default


# One of each kind: a dense matrix, a mask, a convolution, a composition, complex Fourier
# sampling, a Radon transform (the whole registry runs under the suite's settings).
CORE_OPERATORS = ("gaussian", "mask_image", "blur", "composed", "mri", "radon")


@pytest.mark.parametrize("name", CORE_OPERATORS)
def test_operator_mv_and_adjoint(name, key):
    op = OPERATORS[name](jr.fold_in(key, 7))
    x = random_input(op, jr.fold_in(key, 3))
    y = random_input(op, jr.fold_in(key, 4), output=True)
    ax = eqx.filter_jit(lambda o, v: o.mv(v))(op, x)
    aty = eqx.filter_jit(lambda o, v: bj.adjoint(o).mv(v))(op, y)
    # The dot test <Ax, y> = <x, A^* y> (real parts: some operators are linear over the reals).
    lhs, rhs = jnp.real(jnp.vdot(y, ax)), jnp.real(jnp.vdot(aty, x))
    scale = float(
        jnp.linalg.norm(ax) * jnp.linalg.norm(y) + jnp.linalg.norm(x) * jnp.linalg.norm(aty)
    )
    assert abs(float(lhs - rhs)) <= 1e-5 * scale
    np.testing.assert_allclose(ax, op.mv(x), rtol=1e-5, atol=1e-5 * float(jnp.abs(ax).max()))


def test_sure_loss_gradient_matches_finite_differences(key, x64):
    k_op, k_x, k_n, k_m, k_loss, k_dir = jr.split(key, 6)
    op = bj.GaussianSensing(12, 6, key=k_op)
    y = bj.measure(op, bj.sparse_signal(12, 3, key=k_x), bj.GaussianNoise(0.1), key=k_n)
    net = bj.UnrolledNet(12, num_iters=2, width=8, step=bj.default_step_size(op), key=k_m)
    params, static = eqx.partition(net, eqx.is_inexact_array)

    def loss(p):
        return bj.sure_loss(eqx.combine(p, static), op, y, key=k_loss, sigma=0.1)

    flat, unravel = ravel_pytree(params)
    d = jr.normal(k_dir, flat.shape, flat.dtype)
    along = jnp.vdot(ravel_pytree(jax.grad(loss)(params))[0], d)
    h = 1e-6
    central = (loss(unravel(flat + h * d)) - loss(unravel(flat - h * d))) / (2 * h)
    np.testing.assert_allclose(along, central, rtol=1e-5)


# The files holding tests marked `default_compiler`.
MARKED_FILES = ("test_default_compiler.py", "test_solvers.py", "test_models.py")


def test_the_separate_run_reads_every_file_with_marked_tests():
    tests = Path(__file__).parent
    marked = {p.name for p in tests.rglob("test_*.py") if "mark.default_compiler" in p.read_text()}
    assert marked == set(MARKED_FILES)


@pytest.mark.skipif(default_compiler(), reason="the separate run itself")
def test_core_paths_under_default_settings():
    """The tests marked `default_compiler` again, in a process with JAX's default settings."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "").replace(COMPILE_FLAGS, "").strip()
    env[DEFAULT_COMPILER_ENV] = "1"
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"]
        + ["-m", "default_compiler", *(f"tests/{name}" for name in MARKED_FILES)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
