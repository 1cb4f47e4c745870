"""The sensing theorems for your own operators: can a signal model be learned from
measurements alone?

Two settings (Tachella, Chen & Davies; bounds stated in the docstring of
`bridge_jax._analysis._identifiability`): several operators A_1..A_G (multi-operator imaging),
or one operator A and a group of transformations the signal set is invariant to (Equivariant
Imaging). For each: the necessary rank condition, the sufficient bound on m, and whether one
k-dimensional subspace is identified exactly by these operators.

    python docs/examples/sensing_theorems.py
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx

import bridge_jax as bj


def my_operator(n: int, m: int, offset: int) -> lx.AbstractLinearOperator:
    """Your own operator: keep m consecutive entries of a circularly smoothed signal."""

    def apply(x):
        smooth = (x + jnp.roll(x, 1)) / 2
        return jnp.roll(smooth, -offset)[:m]

    return lx.FunctionLinearOperator(apply, jax.ShapeDtypeStruct((n,), jnp.float32))


def main(quick: bool = False) -> dict:
    n, k = (16, 2) if quick else (32, 4)
    m = n // 2
    ops = [my_operator(n, m, offset) for offset in (0, n // 4, n // 2)]  # G = 3 operators
    basis = jnp.linalg.qr(jr.normal(jr.key(0), (n, k)))[0]  # a k-dim subspace to learn

    rank = bj.stacked_rank(ops)
    bounds = bj.moi_bounds(n, k, len(ops))
    print(f"G = {len(ops)} operators of {m} rows on R^{n}, model dimension k = {k}")
    met = "met" if bj.rank_condition(ops) else "NOT met"
    print(f"  stacked rank {rank} of {n}: necessary condition {met}")
    print(f"  bounds on m: {bounds}")
    dim = bj.identifiable_dimension(basis, ops)
    verdict = "identified" if dim == k else "not identified"
    print(f"  this subspace is {verdict}: {dim}-dim set of candidates, k = {k}")

    a = bj.dense_matrix(ops[0])  # one operator and a group
    shift_rank = bj.group_rank(a, "shift")
    print(f"one operator with shifts: rank of [A T_g]_g = {shift_rank} of {n}")
    print(f"  bounds on m: {bj.group_bounds('shift', n, k)}")
    # Here the smoothing (x + roll(x, 1)) / 2 sends the alternating signal (-1)^i to zero: no
    # operator and no shift sees it, so every rank is n - 1 and neither condition can hold,
    # whatever m. The sufficient bounds hold for almost every operator; yours may not be one.
    return {"rank": rank, "bounds": bounds, "identified_dim": dim, "shift_rank": shift_rank}


if __name__ == "__main__":
    main()
