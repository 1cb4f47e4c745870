"""`use_unrolled_threefry`: JAX's unrolled Threefry lowering on the CPU gives the same bits."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj

DRAWS = """
import jax, jax.numpy as jnp, jax.random as jr
keys = jr.split(jr.key(7), 3)
draws = {
    "bits": jax.vmap(lambda k: jr.bits(k, (5, 4)))(keys),
    "normal": jax.jit(jax.vmap(lambda k: jr.normal(k, (6,))))(keys),
    "uniform": jr.uniform(jr.fold_in(keys[0], 3), (9,)),
    "permutation": jr.permutation(keys[1], 10),
}
"""


def _draws():
    namespace: dict = {}
    exec(DRAWS, namespace)
    return {k: np.asarray(v).tolist() for k, v in namespace["draws"].items()}


def test_unrolled_threefry_gives_jax_default_bits(tmp_path):
    # The tests run with it on (conftest); a fresh process without bridge_jax has JAX's own
    # rolled lowering. Every draw, eager, vmapped and compiled, must be the same.
    assert bj.use_unrolled_threefry()  # this JAX has the internals it replaces
    script = DRAWS + "import json, numpy as np\nprint(json.dumps({k: np.asarray(v).tolist() "
    script += "for k, v in draws.items()}))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    assert json.loads(out.stdout) == _draws()


def test_unrolled_threefry_program_has_no_loop():
    # What makes it fast: the 20 rounds are straight-line code, not a while loop over the
    # whole array per 4 rounds.
    bj.use_unrolled_threefry()
    text = jax.jit(lambda k: jr.bits(k, (64,))).lower(jr.key(0)).as_text()
    assert "stablehlo.while" not in text
    assert jnp.asarray(jr.bits(jr.key(0), (64,))).dtype == jnp.uint32
