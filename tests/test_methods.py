"""The eight methods behind one interface, the measured taxonomy and checkpointed training."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj


@pytest.fixture(scope="module")
def batch():
    k_op, k_x, k_e = jr.split(jr.key(7), 3)
    op = bj.GaussianSensing(8, 4, key=k_op)
    x = bj.sparse_signals(12, 8, 2, key=k_x)
    y = jax.vmap(op.mv)(x) + 0.1 * jr.normal(k_e, (12, 4))
    return bj.Batch(op, y, sigma=0.1, x=x)


def test_batch_back_projection_and_per_signal_operators(batch, key):
    np.testing.assert_allclose(batch.u, batch.y @ np.linalg.pinv(batch.op.matrix).T, atol=1e-5)
    idx = jnp.stack([jnp.array([0, 2, 5]), jnp.array([1, 3, 7])])
    ops = jax.vmap(lambda i: bj.Subsample(i, 8))(idx)
    per = bj.Batch(ops, jnp.ones((2, 3)), sigma=0.1, shared_op=False)
    expected = np.zeros((2, 8))
    expected[0, [0, 2, 5]] = expected[1, [1, 3, 7]] = 1.0
    np.testing.assert_allclose(per.u, expected, atol=1e-6)


@pytest.fixture(scope="module")
def per_signal_batch():
    """One Gaussian operator per signal (a leading axis on the operator's arrays)."""
    k_op, k_x, k_e = jr.split(jr.key(8), 3)
    ops = eqx.filter_vmap(lambda k: bj.GaussianSensing(8, 4, key=k))(jr.split(k_op, 12))
    x = bj.sparse_signals(12, 8, 2, key=k_x)
    y = jax.vmap(lambda o, xi: o.mv(xi))(ops, x) + 0.1 * jr.normal(k_e, (12, 4))
    return bj.Batch(ops, y, sigma=0.1, x=x, shared_op=False)


@pytest.mark.parametrize("name", bj.METHODS)
def test_every_method_has_the_interface(name, batch, per_signal_batch, key):
    if name == "moi":  # learns from several operators: needs one per signal
        batch = per_signal_batch
    method = bj.make_method(name, 8, key=key, step=0.2, sigma=0.1, width=8, dim=4, num_iters=2)
    assert method.domain in ("ssrl", "imaging") and method.name == name
    loss = method.loss(batch, key=key)
    assert loss.shape == () and np.isfinite(float(loss))
    updated = method.update(batch, key=key)
    assert jax.tree_util.tree_structure(updated) == jax.tree_util.tree_structure(method)
    op0 = batch.op if batch.shared_op else jax.tree_util.tree_map(lambda a: a[0], batch.op)
    out = method.output(op0, batch.y[0], batch.u[0], key=key)
    assert out.shape == ((8,) if method.domain == "imaging" else (4,))
    grads = eqx.filter_grad(lambda m: m.loss(batch, key=key))(method)
    assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))


def test_moi_needs_an_operator_per_signal(batch, per_signal_batch, key):
    method = bj.make_method("moi", 8, key=key, step=0.2, num_iters=2)
    with pytest.raises(ValueError, match="one operator each"):
        method.loss(batch, key=key)
    assert np.isfinite(float(method.loss(per_signal_batch, key=key)))


def test_moi_loss_sees_what_consistency_cannot(key):
    """A reconstructor that knows the signal model (a subspace U: x = U (A U)^+ y) fits the
    measurements and is a fixed point through any other operator: MOI loss 0. The minimum-norm
    pseudoinverse fits the measurements as well (consistency 0) but is not: MOI loss > 0."""
    n, k, m = 8, 2, 4
    k_u, k_c, k_a, k_b = jr.split(key, 4)
    basis = jnp.linalg.qr(jr.normal(k_u, (n, k)))[0]
    x = basis @ jr.normal(k_c, (k,))
    op, other = bj.GaussianSensing(n, m, key=k_a), bj.GaussianSensing(n, m, key=k_b)
    y = op.mv(x)

    def model_aware(o, yy):
        return basis @ jnp.linalg.lstsq(o.as_matrix() @ basis, yy)[0]

    def pinv(o, yy):
        return bj.pinv_solve(o, yy)

    assert float(bj.moi_loss(model_aware, op, y, other)) < 1e-8
    assert float(bj.measurement_consistency_loss(pinv, op, y)) < 1e-8
    x_pinv = pinv(op, y)
    expected = float(jnp.mean((pinv(other, other.mv(x_pinv)) - x_pinv) ** 2))
    assert expected > 1e-3
    np.testing.assert_allclose(float(bj.moi_loss(pinv, op, y, other)), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="other_op must act on signals"):
        bj.moi_loss(pinv, op, y, bj.GaussianSensing(9, m, key=k_b))


def test_ema_targets_follow_the_online_network(batch, key):
    byol = bj.make_method("byol", 8, key=key, width=8, dim=4)
    moved = eqx.tree_at(
        lambda m: m.encoder,
        byol,
        jax.tree_util.tree_map(lambda a: a + 1 if eqx.is_inexact_array(a) else a, byol.encoder),
    )
    new = moved.update(batch, key=key)
    w0 = byol.target_encoder.mlp.layers[0].weight
    np.testing.assert_allclose(
        new.target_encoder.mlp.layers[0].weight, w0 + (1 - byol.decay), rtol=1e-5
    )
    dino = bj.make_method("dino", 8, key=key, width=8, dim=4)
    assert not np.allclose(dino.update(batch, key=key).center, dino.center)


def test_supervised_needs_ground_truth(batch, key):
    method = bj.make_method("supervised", 8, key=key, width=8)
    blind = bj.Batch(batch.op, batch.y, sigma=0.1)
    with pytest.raises(ValueError, match="ground truth"):
        method.loss(blind, key=key)
    with pytest.raises(ValueError, match=r"y must have shape \(\*, 4\)"):
        bj.Batch(batch.op, batch.y[:, :3], sigma=0.1)
    with pytest.raises(ValueError, match="sigma"):
        bj.Batch(batch.op, batch.y, sigma=-1.0)
    with pytest.raises(ValueError, match="name must be one of"):
        bj.make_method("simsiam", 8, key=key)


def test_measure_axes_on_exact_properties(key):
    n, num = 8, 40
    x = bj.sparse_signals(num, n, 3, key=key)
    op = bj.MatrixOperator(jnp.eye(n))

    def identity(o, y, *, key):
        return o.T.mv(y)  # consistent and shift-equivariant (noise-free)

    def constant(o, y, *, key):
        return jnp.arange(n, dtype=jnp.float32)  # invariant to everything, not shift-invariant

    exact = bj.measure_axes(identity, identity, op, x, key=key, sigma=0.0)
    np.testing.assert_allclose(exact["equivariance"], 1.0, atol=1e-6)
    np.testing.assert_allclose(exact["physics"], 1.0, atol=1e-6)
    # The identity follows the augmentation and the masking exactly as much as its input.
    np.testing.assert_allclose(exact["raw_invariance"], 0.0, atol=1e-5)
    np.testing.assert_allclose(exact["raw_masking"], 0.0, atol=1e-5)
    flat = bj.measure_axes(constant, constant, op, x, key=key, sigma=0.0)
    assert float(flat["equivariance"]) == 0.0
    assert float(flat["invariance"]) == 1.0 and float(flat["masking"]) == 1.0
    assert set(bj.measure_axes(identity, identity, op, x, key=key, sigma=0.1)) >= {
        "invariance",
        "masking",
        "equivariance",
        "physics",
        "raw_physics",
    }
    with pytest.raises(ValueError, match="at least 2"):
        bj.measure_axes(identity, identity, op, x[:1], key=key, sigma=0.0)


@pytest.mark.parametrize("shared_op", [True, False])
def test_measure_axes_from_draws_made_beforehand(key, shared_op):
    """`draw_axes` then `measure_axes(..., draws=)` (in another program) gives what
    `measure_axes(..., key=)` does; without a key or draws it says what is missing."""
    n, num = 8, 6
    k_x, k_a, k_m = jr.split(key, 3)
    x = jr.normal(k_x, (num, n))
    if shared_op:
        op = bj.MatrixOperator(jr.normal(k_a, (6, n)))
    else:
        op = jax.vmap(lambda a: bj.MatrixOperator(a))(jr.normal(k_a, (num, 6, n)))
    w = jr.normal(k_m, (n, 6))

    def method(o, y, *, key):  # not equivariant, not consistent, uses its key
        return jnp.tanh(w @ y) + 0.1 * jr.normal(key, (n,))

    args = dict(sigma=0.1, shared_op=shared_op)
    direct = jax.jit(lambda k: bj.measure_axes(method, method, op, x, key=k, **args))(key)
    draws = jax.jit(lambda k: bj.draw_axes(op, x, key=k, **args))(key)
    assert isinstance(draws, bj.AxisDraws) and draws.noise.shape == (num, 6)
    given = jax.jit(lambda d: bj.measure_axes(method, method, op, x, draws=d, shared_op=shared_op))(
        draws
    )
    assert set(given) == set(direct)
    for name in direct:
        np.testing.assert_allclose(given[name], direct[name], rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="key= and sigma=, or draws="):
        bj.measure_axes(method, method, op, x, sigma=0.1)


def _quadratic_fit(tmp_path, num_steps, checkpoint=None, every=2, start=0.0, lr=0.1):
    target = jnp.arange(3.0)

    def loss(model, k):
        return jnp.sum((model - target) ** 2) + 0.01 * jnp.sum(jr.normal(k, (3,)) * model)

    return bj.fit(
        loss,
        jnp.full(3, start),
        key=jr.key(3),
        num_steps=num_steps,
        learning_rate=lr,
        checkpoint=checkpoint,
        checkpoint_every=every,
    )


def test_fit_resumes_from_a_checkpoint_exactly(tmp_path):
    full, full_losses = _quadratic_fit(tmp_path, 8)
    ckpt = str(tmp_path / "run.eqx")
    _quadratic_fit(tmp_path, 5, ckpt)  # an "interrupted" run: 5 of 8 steps saved
    resumed, losses = _quadratic_fit(tmp_path, 8, ckpt)
    np.testing.assert_array_equal(resumed, full)
    np.testing.assert_array_equal(losses, full_losses)


def _rebuilt_fit(num_steps, checkpoint):
    """A fit whose loss (a `Partial`) and model (an `eqx.nn.Lambda`) hold functions created
    afresh on each call, at new addresses, as a new process creates them."""

    def make_loss():
        def loss(target, model, k):
            weights, act = model
            return jnp.sum((act(weights) - target) ** 2) + 0.01 * jnp.sum(jr.normal(k, (3,)))

        return loss

    def make_act():
        def act(w):
            return jnp.tanh(w)

        return act

    return bj.fit(
        jax.tree_util.Partial(make_loss(), jnp.array([0.1, 0.2, 0.3])),
        (jnp.zeros(3), eqx.nn.Lambda(make_act())),
        key=jr.key(3),
        num_steps=num_steps,
        learning_rate=0.1,
        checkpoint=checkpoint,
        checkpoint_every=2,
    )


def test_checkpoint_resumes_when_the_functions_are_recreated(tmp_path):
    """A run's identity is what its functions are, not where they sit in memory: a checkpoint
    written with one set of function objects resumes with new ones of the same name."""
    (full, _), full_losses = _rebuilt_fit(6, None)
    ckpt = str(tmp_path / "run.eqx")
    _rebuilt_fit(3, ckpt)
    (resumed, _), losses = _rebuilt_fit(6, ckpt)
    np.testing.assert_array_equal(resumed, full)
    np.testing.assert_array_equal(losses, full_losses)


def test_corrupted_checkpoint_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "bad.eqx"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a usable checkpoint"):
        _quadratic_fit(tmp_path, 4, str(ckpt))


def test_checkpoint_of_another_run_is_never_resumed(tmp_path):
    """Another starting model or learning rate with the same file: a clear error, not a run
    that silently continues someone else's training."""
    ckpt = str(tmp_path / "run.eqx")
    _quadratic_fit(tmp_path, 4, ckpt)
    for change in (dict(start=1.0), dict(lr=0.2)):
        with pytest.raises(ValueError, match="written by another run"):
            _quadratic_fit(tmp_path, 8, ckpt, **change)


def test_checkpoint_longer_than_the_run_is_a_clear_error(tmp_path):
    ckpt = str(tmp_path / "long.eqx")
    _quadratic_fit(tmp_path, 6, ckpt)
    with pytest.raises(ValueError, match="more than num_steps"):
        _quadratic_fit(tmp_path, 4, ckpt)


def test_image_augmentations_as_ssrl_views_and_ei_group(key):
    """Digits with real image augmentations: SimCLR on a ViewBank of crops/rotations/shifts
    and EI with an image rotation/shift group both train (loss goes down) through the common
    interface, and the bank really holds the image transforms."""
    x, _ = bj.load_digits()
    x = x[:96]
    op = bj.GaussianSensing(64, 32, key=key)
    y = jax.vmap(op.mv)(x) + 0.05 * jr.normal(jr.fold_in(key, 1), (96, 32))
    batch = bj.Batch(op, y, sigma=0.05)
    t = jax.vmap(
        lambda k: bj.transform_matrix(lambda v: bj.random_image_augmentation(v, key=k), 64)
    )(jr.split(jr.fold_in(key, 2), 8))
    bank = bj.ViewBank.from_transforms(t, sigma=0.05)
    np.testing.assert_allclose(bank.rotations, t)

    def group(v, *, key):
        return bj.random_image_augmentation(v, key=key, max_angle=10.0, max_shift=1.0)

    step = bj.default_step_size(op)
    methods = {
        "simclr": bj.make_method("simclr", 64, key=key, width=32, dim=16, views=bank),
        "ei": bj.make_method("ei", 64, key=key, step=step, ei_transform=group),
    }
    assert methods["ei"].transform is group
    for name, method in methods.items():
        _, curve = bj.fit(
            lambda m, k: m.loss(batch, key=k),
            method,
            key=jr.key(3),
            num_steps=20,
            learning_rate=1e-2 if name == "ei" else 1e-3,
        )
        curve = np.asarray(curve)
        assert np.all(np.isfinite(curve)), name
        assert curve[-5:].mean() < curve[:3].mean(), name
    with pytest.raises(ValueError, match="ViewBank of"):
        bj.make_method("simclr", 32, key=key, views=bank)
    with pytest.raises(ValueError, match=r"shape \(K, n, n\)"):
        bj.ViewBank.from_transforms(jnp.ones((3, 4, 5)))


def test_measure_axes_with_image_augmentation_and_group(key):
    """Custom augmentation and transform group (digits): the identity is exactly equivariant
    to image rotations/shifts and moves with the augmentation; a blur is not equivariant to a
    group that does not commute with it (crops)."""
    x, _ = bj.load_digits()
    x, op = x[:20], bj.MatrixOperator(jnp.eye(64))

    def group(v, *, key):
        return bj.random_image_augmentation(v, key=key, max_angle=15.0, max_shift=1.0)

    def view(v, *, key):
        return bj.random_image_augmentation(v, key=key, min_crop=0.75)

    def identity(o, y, *, key):
        return o.T.mv(y)

    exact = bj.measure_axes(
        identity, identity, op, x, key=key, sigma=0.0, augment_fn=view, transform=group
    )
    np.testing.assert_allclose(exact["equivariance"], 1.0, atol=1e-6)
    np.testing.assert_allclose(exact["raw_invariance"], 0.0, atol=1e-5)

    def blur(o, y, *, key):
        return bj.image_blur(o.T.mv(y), 1.5)

    def zoom(v, *, key):
        return bj.random_image_augmentation(v, key=key, max_angle=0.0, max_shift=0.0, min_crop=0.5)

    bent = bj.measure_axes(blur, blur, op, x, key=key, sigma=0.0, transform=zoom)
    assert float(bent["raw_equivariance"]) < 0.99


def test_methods_digits_trial_and_methods(key):
    """`methods --data digits`: disjoint digit train/test sets, an image ViewBank for the SSRL
    methods and the image group for EI."""
    from bridge_jax.studies._config import MethodsConfig
    from bridge_jax.studies.methods import image_group, init_methods, make_trial

    c = MethodsConfig.quick(data="digits", n=64, m=16).validate()
    data = make_trial(key, "cs", 0.1, c)
    train, test = np.asarray(data["train"].x), np.asarray(data["test"].x)
    assert train.shape == test.shape == (c.signals, 64) and train.min() >= 0 and train.max() <= 1
    assert not {tuple(r) for r in train} & {tuple(r) for r in test}
    keys = jr.split(key, 2)
    steps, sigmas = jnp.ones(2), jnp.full(2, 0.1)
    simclr = init_methods("simclr", c, keys, steps, sigmas)
    assert simclr.views.rotations.shape == (2, 16, 64, 64)
    # The bank holds image transforms: entries are non-negative interpolation weights.
    assert float(simclr.views.rotations.min()) >= -1e-6
    ei = init_methods("ei", c, keys, steps, sigmas)
    assert ei.transform.func is bj.random_image_augmentation
    assert ei.transform.keywords == image_group(c).keywords
    with pytest.raises(ValueError, match="operator must stay 'gaussian'"):
        MethodsConfig.quick(data="digits", n=64, m=16, operator="blur").validate()


@pytest.fixture(scope="module")
def image_batches():
    """8 x 8 images, half the pixels hidden: one mask for all (shared) and one per image."""
    k_m, k_x, k_e, k_p = jr.split(jr.key(9), 4)
    x = jr.uniform(k_x, (6, 8, 8))
    op = bj.Mask(bj.random_mask((8, 8), 0.5, key=k_m))
    y = jax.vmap(op.mv)(x) + 0.05 * jr.normal(k_e, x.shape)
    ops = jax.vmap(lambda k: bj.Mask(bj.random_mask((8, 8), 0.5, key=k)))(jr.split(k_p, 6))
    y_per = jax.vmap(lambda o, xi: o.mv(xi))(ops, x) + 0.05 * jr.normal(k_e, x.shape)
    shared = bj.Batch(op, y, sigma=0.05, x=x, u=y)
    return shared, bj.Batch(ops, y_per, sigma=0.05, x=x, shared_op=False, u=y_per)


@pytest.mark.parametrize("name", bj.IMAGING_METHODS + ("supervised", "moi", "sure", "r2r", "mc"))
def test_imaging_methods_train_a_user_network(name, image_batches, key):
    """Every imaging method (and supervised) trains any AbstractReconstructor given as
    `reconstructor`, here a UNet on (H, W) images: it is the method's model as given, the loss
    has finite gradients in every weight of it, and the output is an image."""
    shared, per_image = image_batches
    batch = per_image if name == "moi" else shared
    net = bj.UNet(scales=2, width=4, key=key)
    method = bj.make_method(
        name, 64, key=key, sigma=0.05, reconstructor=net, ei_transform=bj.random_rot90
    )
    assert method.model is net
    grads = eqx.filter_grad(lambda m: m.loss(batch, key=key))(method)
    leaves = jax.tree_util.tree_leaves(eqx.filter(grads.model, eqx.is_array))
    assert len(leaves) == len(jax.tree_util.tree_leaves(eqx.filter(net, eqx.is_array)))
    assert all(np.all(np.isfinite(g)) for g in leaves)
    head = np.asarray(grads.model.head.weight)
    if name == "mc":
        # The untrained UNet returns the zero-filled A^T y, already consistent (A A^T y = y
        # for a mask): measurement consistency is at its minimum and has nothing to learn.
        assert np.all(head == 0)
    else:
        # The last convolution starts at zero: its gradient is the first thing training moves.
        assert np.any(head != 0)
    op0 = shared.op
    assert method.output(op0, shared.y[0], shared.u[0], key=key).shape == (8, 8)


def test_mc_is_blind_to_the_null_space(image_batches, key):
    """Measurement consistency scores the zero-filled image (the untrained UNet's A^T y) and
    the same image with anything added in the hidden pixels identically (0 without noise):
    it cannot prefer one null-space completion over another. MOI can (the fixed point through
    another mask fails for a wrong completion)."""
    shared, per_image = image_batches
    x = shared.x
    clean = bj.Batch(shared.op, jax.vmap(shared.op.mv)(x), sigma=0.0, x=x, u=x)

    class Fill(bj.AbstractReconstructor):
        value: float

        def __call__(self, op, y, *, key=None):
            u = bj.adjoint(op).mv(y)
            return jnp.where(op.mv(jnp.ones_like(u)) > 0, u, self.value)

    for value in (0.0, 0.5, 3.0):
        mc = bj.make_method("mc", 64, key=key, reconstructor=Fill(value))
        assert float(mc.loss(clean, key=key)) == pytest.approx(0.0, abs=1e-12)
    clean_per = bj.Batch(
        per_image.op,
        jax.vmap(lambda o, xi: o.mv(xi))(per_image.op, x),
        sigma=0.0,
        x=x,
        shared_op=False,
        u=x,
    )
    moi = [
        float(bj.make_method("moi", 64, key=key, reconstructor=Fill(v)).loss(clean_per, key=key))
        for v in (0.0, 3.0)
    ]
    assert moi[0] > 0 and moi[1] > 10 * moi[0]


def test_reconstructor_must_be_a_name_or_a_network(key):
    with pytest.raises(TypeError, match="AbstractReconstructor"):
        bj.make_method("ei", 64, key=key, reconstructor=3.0)
    with pytest.raises(ValueError, match="reconstructor must be one of 'unrolled_shrinkage', "):
        bj.make_method("ei", 64, key=key, reconstructor="mlp")
    # Each name builds the network it names.
    for name, cls in zip(bj.RECONSTRUCTORS, (bj.UnrolledShrinkage, bj.UnrolledNet), strict=True):
        assert type(bj.make_method("ei", 8, key=key, reconstructor=name).model) is cls


def test_a_network_is_checked_the_same_way_everywhere(key):
    # An equinox Module called as model(op, y), not derived from AbstractReconstructor: the
    # methods' constructors accepted it where make_method refused it. Both accept it (and a
    # plain function) now, and both refuse what cannot be called, with one message.
    class Mine(eqx.Module):
        scale: jax.Array

        def __call__(self, op, y, *, key=None):
            return self.scale * bj.adjoint(op).mv(y)

    mine = Mine(jnp.asarray(0.5))
    op = bj.GaussianSensing(8, 4, key=key)
    y = jnp.ones(4)
    for name in ("ei", "sure", "noise2self", "mc"):
        method = bj.make_method(name, 8, key=key, reconstructor=mine)
        np.testing.assert_allclose(method.output(op, y, None, key=key), mine(op, y))
    assert bj.SURE(mine, jnp.asarray(0.1)).model is mine
    for make in (
        lambda bad: bj.make_method("sure", 8, key=key, reconstructor=bad),
        lambda bad: bj.SURE(bad, jnp.asarray(0.1)),
        lambda bad: bj.EI(model=bad),
    ):
        with pytest.raises(TypeError, match=r"must be called as .*\(op, y\)"):
            make(3.0)
    assert bj.make_method("sure", 8, key=key, reconstructor=lambda o, v: v).model(op, y) is y


@pytest.mark.parametrize("name", ("mc", "noise2self", "ei", "ssdu", "noisier2noise", "moi"))
def test_measurement_losses_on_complex_data_are_real(name, key):
    """MRI measures complex k-space: the measurement-domain losses use |r|^2 (a real loss with
    real gradients), not r^2. mc equals NumPy's mean |A f(A, y) - y|^2."""
    k_m, k_x, k_e = jr.split(key, 3)
    masks = jax.vmap(lambda k: bj.cartesian_mask((8, 8), 2, key=k))(jr.split(k_m, 4))
    ops = jax.vmap(bj.MRI)(masks)
    x = jr.uniform(k_x, (4, 8, 8))
    y = jax.vmap(lambda o, xi: bj.GaussianNoise(0.05)(o.mv(xi), key=k_e))(ops, x)
    shared = name != "moi"
    op = jax.tree_util.tree_map(lambda a: a[0], ops) if shared else ops
    y = jax.vmap(op.mv)(x) + 0.05 * (1 + 1j) * jr.normal(k_e, x.shape) if shared else y
    batch = bj.Batch(op, y, sigma=0.05, shared_op=shared, u=x)
    net = bj.DnCNN(depth=2, width=4, key=key)
    method = bj.make_method(
        name, 64, key=key, sigma=0.05, reconstructor=net, ei_transform=bj.random_rot90
    )
    loss, grads = eqx.filter_value_and_grad(lambda m: m.loss(batch, key=key))(method)
    assert loss.dtype == jnp.float32 and np.isfinite(float(loss))
    leaves = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_array))
    assert all(np.isrealobj(g) and np.all(np.isfinite(g)) for g in leaves)
    if name == "mc":
        fx = jax.vmap(lambda yi: net(op, yi))(y)
        r = np.asarray(jax.vmap(op.mv)(fx)) - np.asarray(y)
        np.testing.assert_allclose(float(loss), np.mean(np.abs(r) ** 2), rtol=1e-5)
