"""Your own linear operator through every solver and analysis tool.

Any `lineax.AbstractLinearOperator` works: here a linear function (a 1-D finite-difference
blur followed by keeping every other entry) wrapped as `lineax.FunctionLinearOperator`. Its
transpose comes from `jax.linear_transpose`; nothing else is needed.

    python docs/examples/own_operator.py
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx

import bridge_jax as bj


def make_operator(n: int) -> lx.AbstractLinearOperator:
    def apply(x):  # (n,) -> (n // 2,): a local average, then every other entry
        smooth = 0.5 * x + 0.25 * (jnp.roll(x, 1) + jnp.roll(x, -1))
        return smooth[::2]

    return lx.FunctionLinearOperator(apply, jax.ShapeDtypeStruct((n,), jnp.float32))


def main(quick: bool = False) -> dict:
    n, steps = (32, 50) if quick else (128, 500)
    k_x, k_e = jr.split(jr.key(0))
    op = make_operator(n)
    x = bj.sparse_signal(n, 4, key=k_x)
    y = op.mv(x) + 0.01 * jr.normal(k_e, (n // 2,))

    tau = bj.default_step_size(op)  # 1 / ||A||^2 by power iteration
    results = {
        "landweber": bj.landweber(op, y, num_steps=steps)[0],
        "landweber_gram": bj.landweber_gram(op, y, num_steps=steps)[0],
        "landweber_spectral": bj.landweber_spectral(op, y, num_steps=steps)[0],
        "ista": bj.ista(op, y, lam=0.01, num_steps=steps),
        "fista": bj.fista(op, y, lam=0.01, num_steps=steps),
        "pinv_solve": bj.pinv_solve(op, y),
        "lineax_lsqr": lx.linear_solve(op, y, lx.AutoLinearSolver(well_posed=False)).value,
    }
    for name, x_hat in results.items():
        x_hat = x_hat[0] if isinstance(x_hat, tuple) else x_hat
        results[name] = x_hat
        error = float(jnp.linalg.norm(x_hat - x) / jnp.linalg.norm(x))
        print(f"{name:20s} relative error {error:.3f}")

    # Analysis tools take the same operator: its norm, the top of A^T A's spectrum, row space.
    top, _ = bj.leading_eigenpairs(bj.gram(op), 4)
    norm2 = float(bj.operator_norm(op)) ** 2
    print(f"||A||^2 = {norm2:.3f}; the default step 1/||A||^2 = {float(tau):.3f}")
    print("top eigenvalues of A^T A:", [round(float(v), 3) for v in top])
    print("row space dimension:", bj.row_space(op).shape[1])
    return results


if __name__ == "__main__":
    main()
