"""Signal models, groups, the rank condition and the bounds (exact small cases), the
subspace reconstructor, and learning from measurements on both sides of the bounds."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj

# ---------------------------------------------------------------- signal models and groups


def test_fourier_basis_is_orthonormal_and_shift_closed():
    for n in (7, 8):
        f = np.asarray(bj.fourier_basis(n), np.float64)
        np.testing.assert_allclose(f.T @ f, np.eye(n), atol=1e-5)
        freqs = bj.fourier_frequencies(n)
        shift = np.asarray(bj.group_matrices("shift", n)[1])
        for q in sorted(set(freqs.tolist())):
            band = f[:, freqs == q]
            proj = band @ band.T
            np.testing.assert_allclose(shift @ proj, proj @ shift, atol=1e-5)


@pytest.mark.parametrize("group", bj.GROUPS)
def test_invariant_subspace_is_invariant(group, key):
    n, k = 10, 5
    u = np.asarray(bj.invariant_subspace(n, k, group, key=key), np.float64)
    assert u.shape == (n, k)
    np.testing.assert_allclose(u.T @ u, np.eye(k), atol=1e-5)
    proj = u @ u.T
    if group != "identity":
        for t in np.asarray(bj.group_matrices(group, n)):
            np.testing.assert_allclose(t @ proj @ t.T, proj, atol=1e-5)


def test_sparse_in_basis_signal_has_exactly_k_nonzeros_and_the_sparse_set_is_shift_closed(key):
    import math

    n, k = 9, 3
    d = bj.random_subspace(n, n, key=key)  # an orthonormal basis
    for kk in jr.split(key, 4):
        x = bj.sparse_in_basis_signal(d, k, key=kk)
        coef = np.asarray(d.T @ x)
        assert np.sum(np.abs(coef) > 1e-5) == k
    sup = bj.supports(n, k)
    assert sup.shape == (math.comb(n, k), k) and len({tuple(r) for r in sup}) == len(sup)
    assert np.all(np.diff(sup, axis=1) > 0)
    # Canonical basis: every group element maps a k-sparse vector to a k-sparse vector.
    x = bj.sparse_in_basis_signal(jnp.eye(n), k, key=key)
    for group in ("shift", "dihedral"):
        for t in bj.group_matrices(group, n):
            assert int(jnp.sum(t @ x != 0)) == k
    with pytest.raises(ValueError, match="square"):
        bj.sparse_in_basis_signal(d[:, :4], 2, key=key)


def test_group_matrices_match_cyclic_shift_and_group_action(key):
    x = jr.normal(key, (6,))
    mats = bj.group_matrices("shift", 6)
    for s in range(6):
        np.testing.assert_allclose(mats[s] @ x, bj.cyclic_shift(x, s), atol=1e-6)
    orbit = np.asarray(bj.group_matrices("dihedral", 6) @ x)
    for kk in jr.split(key, 5):
        z = np.asarray(bj.group_action(x, "dihedral", key=kk))
        assert np.min(np.linalg.norm(orbit - z, axis=1)) < 1e-6


def test_subspace_signal_lies_in_the_union(key):
    bases = bj.random_union(9, 2, 3, key=key)
    for kk in jr.split(key, 4):
        x = bj.subspace_signal(bases, key=kk)
        resid = [jnp.linalg.norm(x - u @ (u.T @ x)) for u in bases]
        assert min(resid) < 1e-5 and max(resid) > 1e-2


# ---------------------------------------------------------------- rank condition, bounds


def test_stacked_rank_exact_small_cases():
    n = 6
    eye = np.eye(n)
    # Two coordinate masks see the union of their pixels.
    assert bj.stacked_rank(np.stack([eye[[0, 1, 2]], eye[[2, 3, 4]]])) == 5
    assert not bj.rank_condition(np.stack([eye[[0, 1, 2]], eye[[2, 3, 4]]]))
    assert bj.rank_condition(np.stack([eye[[0, 1, 2]], eye[[3, 4, 5]]]))
    # Operators, not only matrices.
    ops = [bj.MatrixOperator(jnp.asarray(eye[[0, 1]])), bj.MatrixOperator(jnp.asarray(eye[[1]]))]
    assert bj.stacked_rank(ops) == 2
    with pytest.raises(TypeError, match="ops must be"):
        bj.stacked_rank(ops[0])
    with pytest.raises(ValueError, match=r"\(G, m, n\)"):
        bj.stacked_rank(np.zeros((3, 4)))


def test_stacked_rank_of_gaussian_operators_is_min_of_gm_and_n(key):
    n = 12
    rng = np.random.default_rng(0)
    for g, m in [(2, 5), (3, 4), (4, 4), (1, 12)]:
        a = rng.standard_normal((g, m, n))
        assert bj.stacked_rank(a) == min(n, g * m)
        assert bj.rank_condition(a) == (g * m >= n)
        assert bj.moi_bounds(n, 2, g)["necessary"] == n / g


@pytest.mark.parametrize("group", bj.GROUPS)
def test_group_necessary_bound_is_the_smallest_m_with_full_rank(group, key):
    """max_j c_j / s_j (from the representation) against the smallest m for which a Gaussian
    A gives rank [A T_g]_g = n, found by trying every m."""
    n = 8
    cs = bj.group_multiplicities(group, n)
    assert sum(c * s for c, s in cs) == n
    rng = np.random.default_rng(2)
    found = next(
        m for m in range(1, n + 1) if bj.group_rank(rng.standard_normal((m, n)), group) == n
    )
    assert found == int(np.ceil(bj.group_bounds(group, n, 1)["necessary"]))


def test_circular_blur_commutes_with_shifts_so_the_group_adds_no_rank():
    n = 12
    # An ideal low-pass kernel passing DC and frequencies 1, 2: rank 5.
    spectrum = np.zeros(n)
    spectrum[[0, 1, 2, n - 1, n - 2]] = 1.0
    kernel = np.real(np.fft.ifft(spectrum))
    a = bj.dense_matrix(bj.Blur(jnp.asarray(kernel, jnp.float32)))
    assert bj.stacked_rank(a[None]) == 5  # at float32 precision: the stop band is ~1e-8
    assert bj.group_rank(a, "shift") == 5
    assert bj.group_rank(a, "dihedral") == 5
    # A mask of the same rank and the shifts: full rank.
    assert bj.group_rank(np.eye(n)[:5], "shift") == n


def test_identifiable_dimension_matches_the_one_subspace_threshold(key):
    """One subspace is identified by G generic operators iff G (m - k) >= n - k."""
    n, k, g = 12, 3, 3
    rng = np.random.default_rng(1)
    u = rng.standard_normal((n, k))
    for m in range(k, n + 1):
        a = rng.standard_normal((g, m, n))
        dim = bj.identifiable_dimension(u, a)
        expected = k if g * (m - k) >= n - k else n - g * (m - k)
        assert dim == expected, (m, dim, expected)
        assert (dim == k) == (m >= bj.moi_bounds(n, k, g)["one_subspace"])


# ---------------------------------------------------------------- the reconstructor


def test_subspace_union_oracle_is_exact_and_matches_lstsq(key, x64):
    n, k, m = 10, 2, 6
    bases = bj.random_union(n, k, 3, key=key)
    a = jr.normal(jr.fold_in(key, 1), (m, n))
    op = bj.MatrixOperator(a)
    model = bj.SubspaceUnion(bases)
    for kk in jr.split(key, 5):
        x = bj.subspace_signal(bases, key=kk)
        np.testing.assert_allclose(model(op, a @ x), x, atol=1e-8)
    # One subspace, noisy y: the least-squares fit within the subspace.
    y = jr.normal(jr.fold_in(key, 2), (m,))
    u = np.asarray(bases[0])
    coef = np.linalg.lstsq(np.asarray(a) @ u, np.asarray(y), rcond=None)[0]
    np.testing.assert_allclose(bj.SubspaceUnion(bases[0])(op, y), u @ coef, atol=1e-8)
    assert bj.SubspaceUnion(bases[0]).bases.shape == (1, n, k)
    with pytest.raises(ValueError, match="bases must be"):
        bj.SubspaceUnion(jnp.zeros(3))


def test_sparse_in_basis_is_the_union_of_all_coordinate_subspaces(key, x64):
    n, k, m = 7, 2, 5
    d = bj.random_subspace(n, n, key=key)
    a = jr.normal(jr.fold_in(key, 1), (m, n))
    op = bj.MatrixOperator(a)
    model = bj.SparseInBasis(d, k)
    union = bj.SubspaceUnion(jnp.moveaxis(d[:, bj.supports(n, k)], 1, 0))
    assert union.bases.shape == (21, n, k)
    for kk in jr.split(key, 4):  # m >= 2k, Gaussian A: the oracle is exact
        x = bj.sparse_in_basis_signal(d, k, key=kk)
        np.testing.assert_allclose(model(op, a @ x), x, atol=1e-8)
    y = jr.normal(jr.fold_in(key, 2), (m,))  # off the model: the same fit as the union
    np.testing.assert_allclose(model(op, y), union(op, y), atol=1e-10)
    with pytest.raises(ValueError, match="k must"):
        bj.SparseInBasis(d, 0)


def test_fit_scan_minimises_a_quadratic(key):
    target = jnp.arange(3.0)
    loss = lambda p, k: jnp.sum((p - target) ** 2)  # noqa: E731
    p, losses = bj.fit_scan(loss, jnp.zeros(3), key=key, num_steps=300, learning_rate=0.1)
    np.testing.assert_allclose(p, target, atol=1e-2)
    assert losses.shape == (300,) and losses[-1] < 1e-3 * losses[0]


def test_fit_scan_restarts_keeps_the_lowest_training_loss(key):
    """A double well: started left, Adam ends in the deep minimum; started right, in the
    shallow one. The selection returns the left run, exactly as `fit_scan` trains it."""
    loss = lambda p, k: jnp.sum((p**2 - 1.0) ** 2 + 0.3 * p)  # noqa: E731
    inits = jnp.asarray([[1.5], [-1.5], [2.0]])
    model, losses, final = bj.fit_scan_restarts(
        loss, inits, key=key, num_steps=200, learning_rate=0.05
    )
    runs = [bj.fit_scan(loss, p, key=key, num_steps=200, learning_rate=0.05) for p in inits]
    ends = np.asarray([float(loss(p, None)) for p, _ in runs])
    assert np.argmin(ends) == 1 and ends[1] < ends[0] - 0.3  # two minima, the deep one left
    np.testing.assert_allclose(final, ends, rtol=1e-5)
    np.testing.assert_allclose(losses, np.stack([curve for _, curve in runs]), rtol=1e-5)
    np.testing.assert_allclose(model, runs[1][0], rtol=1e-5)
    assert losses.shape == (3, 200) and final.shape == (3,)


def test_fit_scan_restarts_with_one_restart_is_fit_scan_bit_for_bit(key):
    model = bj.SubspaceUnion(bj.random_union(6, 2, 2, key=key))
    a = jr.normal(jr.fold_in(key, 1), (3, 6))
    y = a @ jr.normal(jr.fold_in(key, 2), (6,))

    def loss(m, k):
        return jnp.sum((a @ m(bj.MatrixOperator(a), y) - y) ** 2) + 1e-3 * jnp.sum(m.bases**2)

    ref, ref_losses = jax.jit(lambda m: bj.fit_scan(loss, m, key=key, num_steps=20))(model)
    batch = jax.tree_util.tree_map(lambda x: x[None], model)
    got, losses, final = jax.jit(lambda m: bj.fit_scan_restarts(loss, m, key=key, num_steps=20))(
        batch
    )
    np.testing.assert_array_equal(got.bases, ref.bases)
    np.testing.assert_array_equal(losses[0], ref_losses)
    assert final.shape == (1,)
    with pytest.raises(ValueError, match="leading axis"):
        bj.fit_scan_restarts(loss, model.bases[0, 0, 0], key=key, num_steps=2)


# ---------------------------------------------------------------- learning from measurements


def _moi_learn(bases, a, x, key, steps=1500):
    """Train SubspaceUnion by MOI on y_gi = A_g x_gi; return the model."""
    g = a.shape[0]
    y = jnp.einsum("gmn,gpn->gpm", a, x)
    model = bj.SubspaceUnion(bj.random_union(a.shape[2], bases.shape[2], 1, key=key))

    def loss(model, k):
        other = (jnp.arange(g) + jr.randint(k, (g,), 1, max(g, 2))) % g

        def one_op(ag, ah, yg):
            op, oth = bj.MatrixOperator(ag), bj.MatrixOperator(ah)
            return jnp.mean(jax.vmap(lambda yy: bj.moi_loss(model, op, yy, oth))(yg))

        return jnp.mean(jax.vmap(one_op)(a, a[other], y))

    return bj.fit_scan(loss, model, key=key, num_steps=steps, learning_rate=3e-2)[0]


def _reconstruct(model, a, x):
    y = jnp.einsum("gmn,gpn->gpm", a, x)
    return jax.vmap(lambda ag, yg: jax.vmap(lambda yy: model(bj.MatrixOperator(ag), yy))(yg))(a, y)


def test_moi_above_the_sufficient_bound_recovers_the_model(key):
    n, k, g, m = 12, 2, 2, 10
    assert m > bj.moi_bounds(n, k, g)["sufficient"]
    k_b, k_a, k_x, k_t, k_i = jr.split(key, 5)
    bases = bj.random_union(n, k, 1, key=k_b)
    a = jr.normal(k_a, (g, m, n)) / jnp.sqrt(m)
    x = jax.vmap(jax.vmap(lambda kk: bj.subspace_signal(bases, key=kk)))(jr.split(k_x, (g, 12)))
    model = jax.jit(_moi_learn)(bases, a, x, k_i)
    xt = jax.vmap(jax.vmap(lambda kk: bj.subspace_signal(bases, key=kk)))(jr.split(k_t, (g, 8)))
    err = jnp.sum((_reconstruct(model, a, xt) - xt) ** 2) / jnp.sum(xt**2)
    assert err < 1e-3, err
    learned = jnp.linalg.qr(model.bases[0])[0]
    assert bj.subspace_alignment(learned, bases[0]) > 0.999


def _moi_data(key, n, k, g, m, per, num=1):
    k_b, k_a, k_x = jr.split(key, 3)
    bases = bj.random_union(n, k, num, key=k_b)
    a = jr.normal(k_a, (g, m, n)) / jnp.sqrt(m)
    x = jax.vmap(jax.vmap(lambda kk: bj.subspace_signal(bases, key=kk)))(jr.split(k_x, (g, per)))
    return bases, a, x, jnp.einsum("gmn,gpn->gpm", a, x)


def test_fit_subspaces_recovers_one_subspace_exactly_and_never_increases_its_loss(key, x64):
    """Identifiable (m >= k + (n-k)/G), from a random start: the objective falls to rounding
    and the learned span is the true one."""
    n, k, g, m = 16, 2, 4, 7
    assert m >= bj.moi_bounds(n, k, g)["one_subspace"]
    k_d, k_i = jr.split(key)
    bases, a, x, y = _moi_data(k_d, n, k, g, m, 16)
    start = bj.SubspaceUnion(bj.random_union(n, k, 1, key=k_i))
    model, losses = jax.jit(lambda s: bj.fit_subspaces(s, a, y, num_steps=100))(start)
    assert losses.shape == (100,)
    assert jnp.all(jnp.diff(losses) <= 1e-9 * losses[0]), jnp.max(jnp.diff(losses))
    assert losses[-1] < 1e-20 * losses[0] + 1e-24, losses[-1]
    assert bj.subspace_alignment(model.bases[0], bases[0]) > 1 - 1e-9
    np.testing.assert_allclose(model.bases[0].T @ model.bases[0], np.eye(k), atol=1e-12)


def test_fit_subspaces_below_the_one_subspace_bound_fits_the_data_but_not_the_model(key, x64):
    """m < k + (n-k)/G: other subspaces explain the measurements exactly, and the learner
    finds one of them (zero loss, wrong span)."""
    n, k, g, m = 16, 2, 2, 5
    assert m < bj.moi_bounds(n, k, g)["one_subspace"]
    k_d, k_i = jr.split(key)
    bases, a, x, y = _moi_data(k_d, n, k, g, m, 16)
    assert bj.identifiable_dimension(bases[0], a) > k
    start = bj.SubspaceUnion(bj.random_union(n, k, 1, key=k_i))
    model, losses = jax.jit(lambda s: bj.fit_subspaces(s, a, y, num_steps=100))(start)
    assert losses[-1] < 1e-12 * losses[0], losses[-1]
    assert bj.subspace_alignment(model.bases[0], bases[0]) < 0.99


def test_fit_subspaces_takes_any_stacked_operator_and_a_matrix_free_solver(key, x64):
    """A batched lineax operator pytree gives the array path's result; matrix-free CG the
    default Cholesky's; the fit vmaps over trials."""
    import equinox as eqx
    import lineax as lx

    n, k, g, m = 12, 2, 3, 6
    bases, a, x, y = _moi_data(key, n, k, g, m, 8, num=2)
    start = bj.SubspaceUnion(bj.random_union(n, k, 2, key=jr.fold_in(key, 1)))
    ref, ref_losses = bj.fit_subspaces(start, a, y, num_steps=5)
    ops = eqx.filter_vmap(lx.MatrixLinearOperator)(a)
    got, got_losses = bj.fit_subspaces(start, ops, y, num_steps=5)
    np.testing.assert_allclose(got.bases, ref.bases, atol=1e-10)
    listed = [bj.MatrixOperator(ag) for ag in a]
    got, got_losses = bj.fit_subspaces(start, listed, y, num_steps=5)
    np.testing.assert_allclose(got.bases, ref.bases, atol=1e-10)
    cg = lx.CG(rtol=1e-12, atol=1e-12, max_steps=500)
    got, got_losses = bj.fit_subspaces(start, a, y, num_steps=5, solver=cg)
    np.testing.assert_allclose(got_losses, ref_losses, rtol=1e-7)
    np.testing.assert_allclose(got.bases, ref.bases, atol=1e-6)
    starts = jax.vmap(lambda kk: bj.random_union(n, k, 2, key=kk))(jr.split(key, 3))
    batched, batched_losses = jax.vmap(
        lambda b: bj.fit_subspaces(bj.SubspaceUnion(b), a, y, num_steps=5)
    )(starts)
    assert batched.bases.shape == (3, 2, n, k) and batched_losses.shape == (3, 5)
    one, one_losses = bj.fit_subspaces(bj.SubspaceUnion(starts[1]), a, y, num_steps=5)
    np.testing.assert_allclose(batched.bases[1], one.bases, atol=1e-10)
    np.testing.assert_allclose(batched_losses[1], one_losses, rtol=1e-10)


def test_fit_subspaces_recovers_a_union_from_a_nearby_start(key, x64):
    """Two subspaces: every measurement is assigned to its own subspace and both spans are
    recovered exactly (a start near the truth, so that no local minimum is in the way)."""
    n, k, g, m = 10, 2, 3, 8
    k_d, k_p = jr.split(key)
    bases, a, x, y = _moi_data(k_d, n, k, g, m, 24, num=2)
    start = bj.SubspaceUnion(bases + 0.1 * jr.normal(k_p, bases.shape))
    model, losses = bj.fit_subspaces(start, a, y, num_steps=40)
    assert losses[-1] < 1e-20 * losses[0] + 1e-24, losses[-1]
    for learned, true in zip(model.bases, bases, strict=True):
        assert bj.subspace_alignment(learned, true) > 1 - 1e-9


def test_fit_subspaces_rejects_bad_input(key):
    n, k, g, m = 8, 2, 2, 4
    bases, a, x, y = _moi_data(key, n, k, g, m, 3)
    model = bj.SubspaceUnion(bases)
    with pytest.raises(TypeError, match="SubspaceUnion"):
        bj.fit_subspaces(bases, a, y, num_steps=2)
    with pytest.raises(ValueError, match=r"y must have shape \(G=2"):
        bj.fit_subspaces(model, a, y[0], num_steps=2)
    with pytest.raises(ValueError, match="n = 6 rows"):
        bj.fit_subspaces(bj.SubspaceUnion(bases[:, :6]), a, y, num_steps=2)
    with pytest.raises(ValueError, match=r"\(G, m, n\) float array"):
        bj.fit_subspaces(model, a[0], y, num_steps=2)
    with pytest.raises(ValueError, match="num_steps"):
        bj.fit_subspaces(model, a, y, num_steps=0)
    with pytest.raises(ValueError, match="damping"):
        bj.fit_subspaces(model, a, y, num_steps=2, damping=0.0)
    with pytest.raises(ValueError, match="P, m >= 1"):
        bj.fit_subspaces(model, a, y[:, :0], num_steps=2)
    with pytest.raises(TypeError, match="real floats"):
        bj.fit_subspaces(bj.SubspaceUnion(jnp.ones((1, n, k), int)), a, y, num_steps=2)
    with pytest.raises(TypeError, match="sequence of operators"):
        bj.fit_subspaces(model, {"a": a}, y, num_steps=2)
    with pytest.raises(ValueError, match="one kind and shape"):
        ops = [bj.MatrixOperator(a[0]), bj.MatrixOperator(a[1, :3])]
        bj.fit_subspaces(model, ops, y, num_steps=2)
    with pytest.raises(ValueError, match="complex measurements"):
        bj.fit_subspaces(model, a, y * 1j, num_steps=2)
    with pytest.raises(ValueError, match="complex operators"):
        bj.fit_subspaces(model, a * (1 + 0j), y, num_steps=2)


def test_below_the_necessary_bound_no_learner_beats_the_pseudoinverse_on_the_null_space(key):
    """G m < n: the common null space N is invisible. S and S' = (I - 2 P_N) S give the same
    measurements, so any learner returns the same reconstruction z for both; on N its mean
    squared error over the pair is (|z - a|^2 + |z + a|^2) / 2 >= |a|^2, the pseudoinverse's
    (which returns 0 on N)."""
    n, k, g, m = 12, 2, 2, 5
    assert g * m < n <= bj.moi_bounds(n, k, g)["necessary"] * g
    k_b, k_a, k_x, k_i = jr.split(key, 4)
    a = jr.normal(k_a, (g, m, n)) / jnp.sqrt(m)
    assert not bj.rank_condition(a)
    null = bj.null_space(bj.MatrixOperator(a.reshape(-1, n)))
    p_null = null @ null.T
    u = bj.random_union(n, k, 1, key=k_b)
    u_mirror = (jnp.eye(n) - 2 * p_null) @ u
    coef = jr.normal(k_x, (g, 12, k))
    x, x_mirror = coef @ u[0].T, coef @ u_mirror[0].T
    y, y_mirror = jnp.einsum("gmn,gpn->gpm", a, x), jnp.einsum("gmn,gpn->gpm", a, x_mirror)
    # The data are the same, so a learner trained on either gives one model and one z.
    np.testing.assert_allclose(y, y_mirror, atol=1e-4)
    z = _reconstruct(jax.jit(_moi_learn)(u, a, x, k_i), a, x)
    on_null = lambda v: v @ p_null  # noqa: E731
    learned_err = 0.5 * (
        jnp.sum((on_null(z) - on_null(x)) ** 2) + jnp.sum((on_null(z) - on_null(x_mirror)) ** 2)
    )
    pinv_err = jnp.sum(on_null(x) ** 2)  # A_g^+ y has no component in N
    assert learned_err >= pinv_err * (1 - 1e-3)


def test_ei_with_an_equivariant_operator_gains_nothing(key):
    """A circular low-pass blur commutes with the shifts: rank [A T_g] = rank A < n. Two
    shift-invariant models, X and its mirror (I - 2 P_N) X across ker A (P_N commutes with the
    shifts), give the same measurements; EI returns the same reconstruction for both and
    cannot beat the pseudoinverse on ker A. With a Gaussian A of the same rank the group
    restores full rank."""
    n, m = 8, 3
    spectrum = np.zeros(n)
    spectrum[[0, 1, n - 1]] = 1.0
    kernel = jnp.asarray(np.real(np.fft.ifft(spectrum)), jnp.float32)
    op = bj.Blur(kernel)
    a = bj.dense_matrix(op)
    assert bj.group_rank(a, "shift") == m < n
    assert bj.group_rank(jr.normal(key, (m, n)), "shift") == n
    k_u, k_c, k_i = jr.split(key, 3)
    null = bj.null_space(op, rank=m)
    p_null = null @ null.T
    u = jr.normal(k_u, (n,))
    orbit = bj.group_matrices("shift", n) @ u  # the shift orbit of a line: invariant, dim 1
    bases = (orbit / jnp.linalg.norm(u))[:, :, None]
    mirror = jnp.einsum("ij,ljk->lik", jnp.eye(n) - 2 * p_null, bases)
    coef = jr.normal(k_c, (16,))
    which = jnp.arange(16) % n
    x = coef[:, None] * bases[which, :, 0]
    x_mirror = coef[:, None] * mirror[which, :, 0]
    y = jax.vmap(op.mv)(x)
    np.testing.assert_allclose(y, jax.vmap(op.mv)(x_mirror), atol=1e-5)

    def learn(key):
        model = bj.SubspaceUnion(jr.normal(key, (n, n, 1)))

        def loss(model, k):
            ks = jr.split(k, y.shape[0])
            shift = lambda v, *, key: bj.group_action(v, "shift", key=key)  # noqa: E731
            return jnp.mean(
                jax.vmap(lambda yy, kk: bj.ei_loss(model, op, yy, shift, key=kk))(y, ks)
            )

        return bj.fit_scan(loss, model, key=key, num_steps=200, learning_rate=1e-2)[0]

    model = jax.jit(learn)(k_i)
    z = jax.vmap(lambda yy: model(op, yy))(y)
    learned_err = 0.5 * (jnp.sum(((z - x) @ p_null) ** 2) + jnp.sum(((z - x_mirror) @ p_null) ** 2))
    assert learned_err >= jnp.sum((x @ p_null) ** 2) * (1 - 1e-3)
