"""What every operator of the registry promises, over the field its structures declare.

A real operator and a complex matrix are linear over their own field; a map from real to
complex arrays or back (MRI, its adjoint, coded diffraction, their compositions) is linear over
the reals only, with the real inner product Re<u, v>. For each registry entry:

- `mv`, `.T`, `bj.adjoint`, `as_matrix()`, `bj.real_matrix` and the structures describe ONE
  map: the dot test, and every matrix against the map applied to the basis arrays;
- `pinv_solve`, `landweber`, `ista`/`fista` (no regularisation), `operator_norm` and
  `leading_eigenpairs` give the least-squares / spectral answer of that map, against NumPy in
  float64 on its real matrix (columns: the map applied to the real basis arrays, rows: the
  real and imaginary parts of the output);
- `lineax.linear_solve` gives that least-squares answer too, or refuses with an error that
  names `pinv_solve`.
- the dense tools (`operator_svd`, `landweber_gram`, `landweber_spectral`, `spectrum_bounds`,
  `row_space`, `null_space`) give the answer of that map too, from the SVD of its real matrix;
- `lineax.LSMR` directly on a real-linear operator fails inside lineax (documented), and
  `pinv_solve` with it gives the least squares.

Then the regression tests of five defects these promises caught.
"""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
import pytest
from registry import COMPLEX, NAMES, OPERATORS, REAL_LINEAR, USER_REAL_LINEAR, random_input

import bridge_jax as bj


def _op(name, key):
    return OPERATORS[name](jr.fold_in(key, 7))


def _real_inner(a, b):
    """Re<a, b>: the inner product of the real coordinates."""
    return float(jnp.real(jnp.vdot(jnp.ravel(a), jnp.ravel(b))))


def _coords(v):
    v = np.asarray(v).reshape(-1)
    return np.concatenate([v.real, v.imag]) if np.iscomplexobj(v) else v


def _reference_matrix(op):
    """NumPy's float64 real matrix of `op`: column j is the real coordinates of `op` applied to
    the j-th basis array of its input's real coordinates (unit arrays, then i times them)."""
    struct = op.in_structure()
    n = math.prod(struct.shape)
    basis = np.eye(n)
    if jnp.issubdtype(struct.dtype, jnp.complexfloating):
        basis = np.concatenate([basis, 1j * basis])
    columns = jax.vmap(op.mv)(jnp.asarray(basis.reshape(-1, *struct.shape), struct.dtype))
    return np.stack([_coords(c) for c in columns], axis=1).astype(np.float64)


def _to_array(coords, struct):
    coords = np.asarray(coords)
    if jnp.issubdtype(struct.dtype, jnp.complexfloating):
        half = coords.shape[0] // 2
        coords = coords[:half] + 1j * coords[half:]
    return jnp.asarray(coords.reshape(struct.shape), struct.dtype)


@pytest.mark.parametrize("name", NAMES)
def test_one_map(name, key, x64):
    op = _op(name, key)
    assert bj.is_real_linear(op) == (name in REAL_LINEAR)
    adj = bj.adjoint(op)
    for t in (adj, op.T):
        assert t.in_structure() == op.out_structure()
        assert t.out_structure() == op.in_structure()
    # The dot test over the real inner product: <A x, y> = <x, A^* y>.
    x = random_input(op, jr.fold_in(key, 1))
    y = random_input(op, jr.fold_in(key, 2), output=True)
    np.testing.assert_allclose(_real_inner(op.mv(x), y), _real_inner(x, adj.mv(y)), rtol=1e-12)
    np.testing.assert_allclose(op.T.T.mv(x), op.mv(x), rtol=1e-12, atol=1e-12)
    # `.T`: the adjoint for a real operator and for a bridge_jax real-linear one; the plain
    # transpose of a complex matrix (lineax's convention). A user's lineax.FunctionLinearOperator
    # has lineax's `.T` (JAX's linear transpose), which the registry's user does not rely on.
    if name not in USER_REAL_LINEAR:
        if name in COMPLEX and name not in REAL_LINEAR:
            expected = jnp.conj(adj.mv(jnp.conj(y)))
        else:
            expected = adj.mv(y)
        np.testing.assert_allclose(op.T.mv(y), expected, rtol=1e-12, atol=1e-12)
    # The matrices: the real matrix is the map's on the real coordinates; the adjoint's is its
    # transpose; `as_matrix()` is the complex (or real) matrix where the map has one.
    r = _reference_matrix(op)
    np.testing.assert_allclose(bj.real_matrix(op), r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bj.real_matrix(adj), r.T, rtol=1e-12, atol=1e-12)
    if name in REAL_LINEAR and name not in USER_REAL_LINEAR:
        for matrix in (op.as_matrix, adj.as_matrix, op.T.as_matrix, lambda: bj.dense_matrix(op)):
            with pytest.raises(ValueError, match="linear over the reals only.*pinv_solve"):
                matrix()
    else:
        a = np.asarray(op.as_matrix())
        assert a.shape == (op.out_size(), op.in_size())
        if name in USER_REAL_LINEAR:  # real in, complex out: its columns are the map's
            np.testing.assert_allclose(np.concatenate([a.real, a.imag]), r, atol=1e-12)
            return
        np.testing.assert_allclose(a, bj.dense_matrix(op), rtol=1e-12, atol=1e-12)
        if np.iscomplexobj(a):  # the real form of a complex matrix
            a = np.block([[a.real, -a.imag], [a.imag, a.real]])
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def _least_squares(name, key):
    """An operator, data off its range (so the solution is a least squares, not an inverse),
    NumPy's minimum-norm least squares of its real matrix, that matrix and the data's real
    coordinates."""
    op = _op(name, key)
    y = random_input(op, jr.fold_in(key, 11), output=True)
    r, b = _reference_matrix(op), _coords(y)
    return op, y, np.linalg.pinv(r, rtol=None) @ b, r, b


@pytest.mark.parametrize("name", NAMES)
def test_least_squares(name, key, x64):
    op, y, ref, r, b = _least_squares(name, key)

    def normal_residual(x):  # A^*(A x - y) in real coordinates
        return np.linalg.norm(r.T @ (r @ _coords(x) - b))

    scale = np.linalg.norm(r.T @ b)
    x = bj.pinv_solve(op, y)
    assert x.shape == op.in_structure().shape and x.dtype == op.in_structure().dtype
    np.testing.assert_allclose(_coords(x), ref, atol=1e-9 * max(1, np.linalg.norm(ref)))
    assert normal_residual(x) <= 1e-9 * scale
    # Matrix-free (LSMR from zero: the minimum-norm solution), stopped once
    # ||A^*(Ax - y)|| <= atol ||A|| ||Ax - y||, with ||Ax - y|| <= ||y||.
    x = bj.pinv_solve(op, y, solver=lx.LSMR(rtol=1e-10, atol=1e-10, max_steps=500))
    assert x.shape == op.in_structure().shape and x.dtype == op.in_structure().dtype
    assert normal_residual(x) <= 1e-8 * np.linalg.norm(r, 2) * np.linalg.norm(b)
    # lineax.linear_solve: the same answer, or a refusal naming pinv_solve.
    solve = lx.AutoLinearSolver(well_posed=False)
    if name in REAL_LINEAR:
        if name in USER_REAL_LINEAR:
            return  # a user's lineax.FunctionLinearOperator: lineax's own matrix and solvers
        with pytest.raises(ValueError, match="pinv_solve"):
            lx.linear_solve(op, y, solve)
    else:
        sol = lx.linear_solve(op, y, solve).value
        np.testing.assert_allclose(_coords(sol), ref, atol=1e-9 * max(1, np.linalg.norm(ref)))


@pytest.mark.parametrize("name", NAMES)
def test_iterative_solvers_reach_the_least_squares(name, key, x64):
    # Landweber (and ISTA without regularisation, the same iteration) from zero with step
    # 1/s_max^2: the normal residual's component along each singular value s is multiplied by
    # (1 - s^2/s_max^2) per step, so ||A^*(A x_k - y)|| <= (1 - s_min^2/s_max^2)^k ||A^* y||
    # (s_min the smallest non-zero singular value). FISTA: the objective gap is at most
    # 2 s_max^2 ||x*||^2 / (k + 1)^2 (Beck & Teboulle 2009, Thm 4.4).
    op, y, ref, r, b = _least_squares(name, key)
    s = np.linalg.svd(r, compute_uv=False)
    s_max, s_min = s[0], s[s > max(r.shape) * np.finfo(float).eps * s[0]][-1]
    tau, k = 1 / s_max**2, 200
    bound = (1 - (s_min / s_max) ** 2) ** k * np.linalg.norm(r.T @ b)
    slack = 1e-10 * np.linalg.norm(r.T @ b)
    real_in = name not in COMPLEX or not jnp.issubdtype(
        op.in_structure().dtype, jnp.complexfloating
    )
    solvers = {"landweber": bj.landweber(op, y, step_size=tau, num_steps=k)[0]}
    if real_in:  # ISTA's soft threshold is for real unknowns
        solvers["ista"] = bj.ista(op, y, lam=0.0, step_size=tau, num_steps=k)[0]
    for solver, x in solvers.items():
        assert x.dtype == op.in_structure().dtype, solver
        residual = np.linalg.norm(r.T @ (r @ _coords(x) - b))
        assert residual <= bound + slack, (solver, residual, bound)
    if real_in:
        x = bj.fista(op, y, lam=0.0, step_size=tau, num_steps=k)[0]
        assert x.dtype == op.in_structure().dtype

        def objective(v):
            return 0.5 * np.sum((r @ v - b) ** 2)

        gap = objective(_coords(x)) - objective(ref)
        assert gap <= 2 * s_max**2 * np.sum(ref**2) / (k + 1) ** 2 + slack, gap


@pytest.mark.parametrize("name", NAMES)
def test_spectral_tools(name, key, x64):
    op = _op(name, key)
    r = _reference_matrix(op)
    # Power iteration's error after t steps is of order (s_2 / s_1)^(2t): 1000 steps.
    np.testing.assert_allclose(
        bj.operator_norm(op, num_iters=1000), np.linalg.norm(r, 2), rtol=1e-6
    )
    vals, vecs = bj.leading_eigenpairs(bj.gram(op), 3)
    ref = np.linalg.eigvalsh(r.T @ r)[::-1]
    if name in COMPLEX and name not in REAL_LINEAR:
        ref = ref[::2]  # a complex matrix's real form repeats each eigenvalue (v and i v)
    ref = ref[:3]
    np.testing.assert_allclose(vals, ref, rtol=1e-10, atol=1e-12)
    assert vecs.shape == (3, *op.in_structure().shape)
    np.testing.assert_allclose(bj.operator_spectrum(op)[:3], ref, rtol=1e-10, atol=1e-12)
    for val, vec in zip(vals, vecs, strict=True):  # eigenvectors of the map A^* A
        np.testing.assert_allclose(bj.gram(op).mv(vec), val * vec, atol=1e-10)


# --------------------------------------------------------------------- regression tests


def _mri(key):
    return bj.MRI(bj.cartesian_mask((8, 8), 2, center_fraction=0.25, key=key))


def test_lineax_on_mri_refuses_instead_of_a_wrong_answer(key, x64):
    # On noise-free MRI data lineax's SVD solved the complex problem and kept the real part
    # (relative residual 0.3); bridge_jax's solvers are exact.
    op = _mri(key)
    y = op.mv(jr.normal(jr.fold_in(key, 1), (8, 8)))
    with pytest.raises(ValueError, match="bridge_jax.pinv_solve"):
        lx.linear_solve(op, y, lx.AutoLinearSolver(well_posed=False))
    for x in (bj.pinv_solve(op, y), op.pseudoinverse(y)):
        assert jnp.linalg.norm(op.mv(x) - y) <= 1e-12 * jnp.linalg.norm(y)


@pytest.mark.parametrize("kind", ["mri", "coded_diffraction"])
def test_fista_on_real_unknowns_and_complex_data(kind, key):
    # FISTA's momentum scalar was made in the data's (complex) dtype: a scan-carry TypeError.
    if kind == "mri":
        op = _mri(key)
    else:
        op = bj.PhaseRetrieval.coded_diffraction((6, 6), 2, key=key).operator
    x = jnp.where(jr.uniform(jr.fold_in(key, 1), op.in_structure().shape) < 0.2, 1.0, 0.0)
    y = op.mv(x.astype(op.in_structure().dtype))
    x_hat, objectives = bj.fista(op, y, lam=1e-3, num_steps=100)
    assert x_hat.dtype == op.in_structure().dtype
    # FISTA's objective at its last iterate is below ISTA's after as many steps.
    assert objectives[-1] <= bj.ista(op, y, lam=1e-3, num_steps=100)[1][-1]


def test_adjoint_of_mri_is_one_map(key, x64):
    # adjoint(MRI) computed Re(A^H y) but its matrix was the complex A^H: pinv_solve solved the
    # complex problem (residual 6.39 where the least squares reaches 6.00).
    adj = bj.adjoint(_mri(key))
    b = jr.normal(jr.fold_in(key, 1), (8, 8))
    r = _reference_matrix(adj)  # (64, 128): real images from k-space's real coordinates
    ref = np.linalg.lstsq(r, np.asarray(b).ravel(), rcond=None)[0]
    x = bj.pinv_solve(adj, b)
    assert x.dtype == jnp.complex128
    np.testing.assert_allclose(
        np.linalg.norm(adj.mv(x) - b), np.linalg.norm(r @ ref - np.asarray(b).ravel()), rtol=1e-10
    )
    with pytest.raises(ValueError, match="pinv_solve"):
        adj.as_matrix()


@pytest.mark.parametrize("kind", ["mri", "mri_blur", "mri_user"])
def test_dot_test_with_transpose(kind, key, x64):
    # A user's dot test with `.T` on MRI gave <Au, v> = -1.817 against <u, A.T v> = 3.958:
    # `.T` was the plain transpose Re(A^T v). It is now the real transpose Re(A^H v).
    op = OPERATORS[kind](key)
    u = random_input(op, jr.fold_in(key, 1))
    v = random_input(op, jr.fold_in(key, 2), output=True)
    np.testing.assert_allclose(_real_inner(op.mv(u), v), _real_inner(u, op.T.mv(v)), rtol=1e-12)


def test_pinv_cutoff_is_numpys(x64):
    # The cut-off is max(m, n) eps times the largest singular value, as numpy.linalg.pinv
    # (rtol=None); it was ten times that. A singular value between the two is kept.
    m, n = 6, 4
    eps = np.finfo(np.float64).eps
    s = np.array([1.0, 0.5, 0.25, 3 * max(m, n) * eps])  # above the cut-off, below 10x it
    q1, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(m, m)))
    q2, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(n, n)))
    a = q1[:, :n] @ np.diag(s) @ q2.T
    y = q1[:, :n] @ np.ones(n)
    ref = np.linalg.pinv(a, rtol=None) @ y
    assert np.linalg.norm(ref) > 1e13  # numpy keeps the tiny singular value
    x = bj.pinv_solve(bj.MatrixOperator(jnp.asarray(a)), jnp.asarray(y))
    np.testing.assert_allclose(x, ref, rtol=1e-6)
    # The diagonal path, with the same rule (n eps times the largest |d_i|).
    d = jnp.asarray([1.0, 0.5, 3 * n * eps, 0.1 * n * eps])
    x = bj.pinv_solve(lx.DiagonalLinearOperator(d), jnp.ones(n))
    np.testing.assert_allclose(x, [1.0, 2.0, 1 / (3 * n * eps), 0.0])


def _real_basis(columns, in_struct, complex_field):
    """Real coordinates of basis vectors given as flattened input arrays (the columns); for a
    complex-linear operator each complex vector w spans w and i w over the reals."""
    cols = [np.asarray(c).reshape(in_struct.shape) for c in np.asarray(columns).T]
    if complex_field:
        cols = cols + [1j * c for c in cols]
    if not cols:
        q = math.prod(in_struct.shape) * (2 if np.iscomplexobj(np.asarray(columns)) else 1)
        return np.zeros((q, 0))
    return np.stack([_coords(c) for c in cols], axis=1)


@pytest.mark.parametrize("name", NAMES)
def test_dense_tools(name, key, x64):
    # operator_svd, landweber_gram / landweber_spectral, spectrum_bounds, row_space and
    # null_space: the answer of the map, against NumPy's SVD of its float64 real matrix.
    op, y, ref, r, b = _least_squares(name, key)
    complex_field = name in COMPLEX and name not in REAL_LINEAR  # a complex matrix
    s_ref = np.linalg.svd(r, compute_uv=False)
    if complex_field:
        s_ref = s_ref[::2]  # the real form of a complex matrix repeats each singular value
    # The SVD: singular values, and U diag(s) V^T the matrix (the real one if real-linear).
    svd = bj.operator_svd(op)
    np.testing.assert_allclose(svd.s, s_ref[: svd.s.shape[0]], rtol=1e-10, atol=1e-12)
    a = np.asarray(bj.real_matrix(op) if name in REAL_LINEAR else op.as_matrix())
    k = svd.s.shape[0]
    np.testing.assert_allclose(svd.u @ np.diag(svd.s) @ svd.v[:, :k].T, a, atol=1e-10)
    # Landweber's closed forms: the iterates and losses of the iterative path.
    tau = 1 / s_ref[0] ** 2
    x, losses = bj.landweber(op, y, step_size=tau, num_steps=30)
    x_gram, losses_gram = bj.landweber_gram(op, y, step_size=tau, num_steps=30)
    assert x_gram.dtype == x.dtype and x_gram.shape == x.shape
    np.testing.assert_allclose(x_gram, x, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(losses_gram, losses, rtol=1e-8, atol=1e-10)
    if complex_field:
        with pytest.raises(ValueError, match="landweber_gram"):
            bj.landweber_spectral(op, y, step_size=tau, num_steps=30)
    else:
        x_spec, losses_spec = bj.landweber_spectral(op, y, step_size=tau, num_steps=30, svd=svd)
        assert x_spec.dtype == x.dtype and x_spec.shape == x.shape
        np.testing.assert_allclose(x_spec, x, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(losses_spec, losses, rtol=1e-8, atol=1e-10)
    # The non-zero spectrum's bounds (zero below max(p, q) eps lambda_max).
    lam = s_ref**2
    lam = lam[lam > max(a.shape) * np.finfo(float).eps * lam[0]]
    np.testing.assert_allclose(bj.spectrum_bounds(op), (lam[-1], lam[0]), rtol=1e-8)
    # Row and null spaces at the numerical rank: orthonormal, complementary, and the row
    # space is NumPy's (the same orthogonal projector in real coordinates).
    rank = int(np.sum(s_ref > max(r.shape) * np.finfo(float).eps * s_ref[0]))
    struct = op.in_structure()
    row = _real_basis(bj.row_space(op, rank), struct, complex_field)
    null = _real_basis(bj.null_space(op, rank), struct, complex_field)
    q = r.shape[1]
    assert row.shape[0] == q and row.shape[1] + null.shape[1] == q
    basis = np.concatenate([row, null], axis=1)
    np.testing.assert_allclose(basis.T @ basis, np.eye(q), atol=1e-10)
    v_ref = np.linalg.svd(r)[2][: row.shape[1]].T
    np.testing.assert_allclose(row @ row.T, v_ref @ v_ref.T, atol=1e-9)
    np.testing.assert_allclose(r @ null, 0, atol=1e-10 * s_ref[0])


@pytest.mark.parametrize("name", REAL_LINEAR)
def test_lsmr_on_real_linear_operators(name, key, x64):
    # lineax's LSMR mixes the unknowns' and the data's dtypes: on real unknowns and complex
    # data (or back) a loop carry, a cond or a user's function gets the other dtype and JAX
    # refuses, inside lineax (never a silent answer; documented on the operators). pinv_solve
    # runs the same LSMR over the real coordinates.
    op, y, ref, r, b = _least_squares(name, key)
    solver = lx.LSMR(rtol=1e-10, atol=1e-10, max_steps=500)
    with pytest.raises((TypeError, ValueError), match=r"c(omplex)?128"):
        lx.linear_solve(op, y, solver)
    x = bj.pinv_solve(op, y, solver=solver)
    residual = np.linalg.norm(r.T @ (r @ _coords(x) - b))
    assert residual <= 1e-8 * np.linalg.norm(r, 2) * np.linalg.norm(b)


def test_phase_retrieval_matrix(key):
    # A matrix model has its matrix; coded diffraction (real images, complex fields) has none:
    # a one-line error naming real_matrix, which gives its real matrix.
    a = jr.normal(key, (6, 4))
    np.testing.assert_array_equal(bj.PhaseRetrieval(a).matrix, a)
    pr = bj.PhaseRetrieval.coded_diffraction((4, 3), 2, key=key)
    with pytest.raises(ValueError, match=r"linear over the reals only.*real_matrix\(pr.operator\)"):
        _ = pr.matrix
    x = jr.normal(jr.fold_in(key, 1), (4, 3))
    coords = bj.real_matrix(pr.operator) @ x.reshape(-1)
    half = coords.shape[0] // 2
    np.testing.assert_allclose(
        (coords[:half] ** 2 + coords[half:] ** 2).reshape(2, 4, 3), pr(x), rtol=1e-5, atol=1e-6
    )
