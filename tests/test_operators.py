"""Operators: every entry of the registry under jit, vmap and grad (the adjoint dot test, the
matrices and lineax.linear_solve: test_lineax_promises.py); then the properties of each
operator."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
import pytest
from registry import COMPLEX, NAMES, OPERATORS, REAL, random_input

import bridge_jax as bj


def _op(name, key):
    return OPERATORS[name](jr.fold_in(key, 7))


def _inner(a, b):
    return jnp.vdot(a.reshape(-1), b.reshape(-1))  # conjugates a


@pytest.mark.parametrize("name", NAMES)
def test_registry_knows_which_operators_are_complex(name, key):
    assert bj.is_complex(_op(name, key)) == (name in COMPLEX)


@pytest.mark.parametrize("name", NAMES)
def test_jit(name, key, x64):
    op = _op(name, key)
    x = random_input(op, jr.fold_in(key, 3))
    y = random_input(op, jr.fold_in(key, 4), output=True)
    mv = eqx.filter_jit(lambda o, v: o.mv(v))
    np.testing.assert_allclose(mv(op, x), op.mv(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        eqx.filter_jit(lambda o, v: bj.adjoint(o).mv(v))(op, y), bj.adjoint(op).mv(y), atol=1e-12
    )


@pytest.mark.parametrize("name", NAMES)
def test_vmap(name, key, x64):
    op = _op(name, key)
    xs = jax.vmap(lambda k: random_input(op, k))(jr.split(jr.fold_in(key, 5), 4))
    batched = jax.vmap(op.mv)(xs)
    looped = jnp.stack([op.mv(x) for x in xs])
    np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=1e-12)
    if name in ("subsample_image", "user_function", "masked_fourier", "mri_user"):
        return  # built from concrete values or Python functions: not constructible under vmap
    # A batch of operators, one per key (e.g. a fresh mask per image), under vmap.
    keys = jr.split(jr.fold_in(key, 6), 3)
    ops = jax.vmap(OPERATORS[name])(keys)
    out = eqx.filter_vmap(lambda o, x: o.mv(x))(ops, xs[:3])
    loop = jnp.stack([OPERATORS[name](k).mv(x) for k, x in zip(keys, xs[:3], strict=True)])
    np.testing.assert_allclose(out, loop, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", REAL)
def test_grad(name, key, x64):
    # d/dx 1/2 ||A x - y||^2 = A^T (A x - y), checked against jax.grad and finite differences.
    op = _op(name, key)
    x = random_input(op, jr.fold_in(key, 8))
    y = random_input(op, jr.fold_in(key, 9), output=True)

    def f(v):
        return 0.5 * jnp.sum((op.mv(v) - y) ** 2)

    g = jax.grad(f)(x)
    np.testing.assert_allclose(g, op.T.mv(op.mv(x) - y), rtol=1e-10, atol=1e-10)
    d = random_input(op, jr.fold_in(key, 10))
    eps = 1e-6
    fd = (f(x + eps * d) - f(x - eps * d)) / (2 * eps)
    np.testing.assert_allclose(jnp.sum(g * d), fd, rtol=1e-6)


@pytest.mark.parametrize("name", [n for n in NAMES if n in ("gaussian", "mask_image", "blur")])
def test_shape_mistake_names_the_structure(name, key):
    op = _op(name, key)
    wrong = jnp.zeros((3, *op.in_structure().shape))
    with pytest.raises(ValueError, match=r"input shape .* got shape"):
        op.mv(wrong)


def test_gaussian_sensing_scaling(key):
    # E[A^T A] = I when A_ij ~ N(0, 1/m): check on a big matrix, entry variance 1/m.
    op = bj.GaussianSensing(200, 400, key=key)
    var = float(jnp.var(op.matrix))
    # The sample variance of 80,000 N(0, 1/400) entries has relative sd sqrt(2/80000).
    assert abs(var * 400 - 1) < 5 * np.sqrt(2 / 80_000)
    assert op.in_size() == 200 and op.out_size() == 400


def test_gaussian_sensing_on_images(key):
    op = bj.GaussianSensing((4, 5), 7, key=key)
    x = jr.normal(key, (4, 5))
    np.testing.assert_allclose(op.mv(x), op.matrix @ x.reshape(-1), rtol=1e-6)
    assert op.T.mv(jnp.ones(7)).shape == (4, 5)


def test_mask_is_self_adjoint_projection(key):
    op = bj.Mask(bj.random_mask(20, 0.4, key=key))
    a = op.as_matrix()
    np.testing.assert_array_equal(a, a.T)
    np.testing.assert_array_equal(a @ a, a)
    assert lx.is_symmetric(op) and lx.is_diagonal(op) and op.T is op


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 0.73, 0.95])
def test_random_mask_hides_the_requested_fraction(ratio, key):
    mask = bj.random_mask(64, ratio, key=key)
    assert mask.dtype == jnp.bool_
    assert int((~mask).sum()) == round(ratio * 64)
    image = bj.random_mask((8, 8), ratio, key=key)
    assert image.shape == (8, 8) and int((~image).sum()) == round(ratio * 64)


def test_random_mask_traced_ratio_and_uniform_support(key):
    ratios = jnp.array([0.1, 0.5, 0.9])
    masks = jax.vmap(lambda r: bj.random_mask(10, r, key=key))(ratios)
    np.testing.assert_array_equal((~masks).sum(1), [1, 5, 9])
    # Each entry is hidden with probability 0.5 at ratio 0.5: check the frequencies.
    many = jax.vmap(lambda k: bj.random_mask(10, 0.5, key=k))(jr.split(key, 4000))
    freq = np.asarray((~many).mean(0))
    assert np.all(np.abs(freq - 0.5) < 5 * np.sqrt(0.25 / 4000))


def test_subsample_is_rows_of_identity(x64):
    op = bj.Subsample(jnp.array([2, 0, 5]), 6)
    np.testing.assert_array_equal(op.as_matrix(), np.eye(6)[[2, 0, 5]])
    np.testing.assert_array_equal(op.T.mv(jnp.array([1.0, 2.0, 3.0])), [2, 0, 1, 0, 0, 3])


def test_composition_matrix(key, x64):
    k1, k2 = jr.split(key)
    outer = bj.GaussianSensing(5, 4, key=k1)
    inner = bj.Subsample(jnp.array([0, 3, 4, 9, 11]), 12)
    comp = outer @ inner
    np.testing.assert_allclose(comp.as_matrix(), outer.as_matrix() @ inner.as_matrix())
    assert (comp.out_size(), comp.in_size()) == (4, 12)


def test_operators_are_pytrees_batchable_over_keys(key):
    ops = jax.vmap(lambda k: bj.GaussianSensing(16, 8, key=k))(jr.split(key, 5))
    assert ops.matrix.shape == (5, 8, 16)
    ys = jax.vmap(lambda op: op.mv(jnp.ones(16)))(ops)
    np.testing.assert_allclose(ys, ops.matrix.sum(-1), rtol=1e-5)


def test_blur_kernel_is_learnable(key, x64):
    # The blur's kernel is a leaf: the gradient of a loss in it matches finite differences.
    x = jr.normal(key, (6, 6))
    target = jr.normal(jr.fold_in(key, 1), (6, 6))
    kernel = jax.nn.softmax(jr.normal(jr.fold_in(key, 2), (6, 6)))

    def loss(k):
        return jnp.sum((bj.Blur(k).mv(x) - target) ** 2)

    g = jax.grad(loss)(kernel)
    d = jr.normal(jr.fold_in(key, 3), (6, 6))
    fd = (loss(kernel + 1e-6 * d) - loss(kernel - 1e-6 * d)) / 2e-6
    np.testing.assert_allclose(jnp.sum(g * d), fd, rtol=1e-6)


def test_bad_operator_arguments():
    with pytest.raises(TypeError, match="mask must be boolean"):
        bj.Mask(jnp.ones(4))
    with pytest.raises(ValueError, match="in_shape"):
        bj.MatrixOperator(jnp.ones((3, 4)), in_shape=(5,))
    with pytest.raises(TypeError, match="shape must be an int or a non-empty tuple"):
        bj.GaussianSensing("64", 3, key=jr.key(0))
    with pytest.raises(TypeError, match="must be a linear operator"):
        bj.operator_norm(jnp.ones((3, 3)))


def test_radon_acts_on_complex_images_part_by_part(key):
    """A real operator on a complex image: A(x + iz) = Ax + iAz (e.g. an MRI image)."""
    op = bj.Radon((12, 12), 6)
    kx, kz = jax.random.split(key)
    x, z = jax.random.normal(kx, (12, 12)), jax.random.normal(kz, (12, 12))
    y = op.mv(x + 1j * z)
    assert jnp.iscomplexobj(y)
    np.testing.assert_allclose(y, op.mv(x) + 1j * op.mv(z), rtol=1e-6, atol=1e-6)
