"""The imaging benchmark's tasks: sparse-view CT on the disc, its rotation group, the test
patches by region, EI's weight per task and where robust EI runs."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bridge_jax as bj
from bridge_jax.studies._config import ImagingConfig
from bridge_jax.studies.imaging import tasks
from bridge_jax.studies.imaging.tasks import TASKS, applicable


@pytest.mark.parametrize("side", [16, 32, 64])
def test_ct_is_sparse_view(side):
    """m / n of the CT operator is about 0.3 at every patch size."""
    op = TASKS["ct"].operator(jr.key(0), (side, side))
    m = np.prod(op.out_structure().shape)
    assert 0.25 <= m / side**2 <= 0.35


def test_disc_rotation_keeps_the_disc_and_is_linear():
    shape = (16, 16)
    inside = np.asarray(tasks.disc(shape))
    assert inside.sum() == np.sum(
        (np.arange(16)[:, None] - 7.5) ** 2 + (np.arange(16)[None, :] - 7.5) ** 2 <= 64
    )
    x = jr.uniform(jr.key(1), shape) * inside
    for k in jr.split(jr.key(2), 4):
        out = np.asarray(tasks.disc_rotation(x, key=k))
        assert np.all(out[~inside] == 0)  # nothing outside the field of view
        # Rotations by non-grid angles move the content: not the identity.
        assert np.abs(out - np.asarray(x)).max() > 0.05
    # transform_matrix raises unless the map is linear.
    matrix = bj.transform_matrix(lambda v: tasks.disc_rotation(v, key=jr.key(3)), shape)
    assert matrix.shape == (256, 256)
    # A rotation about the disc's centre moves mass inside the disc and loses little of it
    # (bilinear interpolation smooths; it does not send content off the image).
    assert abs(float(jnp.sum(tasks.disc_rotation(x, key=jr.key(3)))) / float(jnp.sum(x)) - 1) < 0.05


def test_ct_images_are_zero_outside_the_disc():
    c = ImagingConfig.quick()
    data = tasks.images(c, "disc_patches")
    plain = tasks.images(c, "patches")
    inside = np.asarray(tasks.disc(data.train.shape[1:]))
    for a, b in ((data.train, plain.train), (data.test, plain.test)):
        a, b = np.asarray(a), np.asarray(b)
        assert np.all(a[:, ~inside] == 0)
        np.testing.assert_array_equal(a[:, inside], b[:, inside])
    np.testing.assert_array_equal(data.test_source, plain.test_source)


def test_patch_test_set_has_every_image_as_a_source():
    c = ImagingConfig.quick()
    data = tasks.images(c, "patches")
    assert len(data.names) == len(bj.IMAGE_NAMES)
    sources = np.asarray(data.test_source)
    assert len(set(sources.tolist())) >= 10  # per-source reporting: at least 10 images
    std = np.asarray(data.test).reshape(len(sources), -1).std(axis=1)
    assert np.all(std >= 0.01)  # no flat test patch


def test_ei_weight_per_task_reaches_the_method():
    c = ImagingConfig.quick()
    weights = {t: TASKS[t].method_kwargs("ei", c)["ei_weight"] for t in TASKS}
    # CT: the EI code's 100 on an unscaled 50-view 128 x 128 Radon, for our operator of norm 1.
    assert weights["ct"] == pytest.approx(100 / 6150, rel=0.01) and weights["mnist_cs"] == 10.0
    assert weights["mnist_inpaint"] == 1.0
    assert TASKS["ct"].method_kwargs("mc", c) == {}
    net = bj.UNet(scales=1, width=4, key=jr.key(0))
    method = bj.make_method(
        "ei", 64, key=jr.key(1), reconstructor=net, **TASKS["ct"].method_kwargs("ei", c)
    )
    assert method.weight == weights["ct"]


def test_robust_ei_runs_on_denoising_and_sure_on_mri():
    c = ImagingConfig.quick()
    for t in ("mnist_denoise", "mnist_poisson"):
        assert applicable(TASKS[t], "rei", c) is None
    assert "denoising" in applicable(TASKS["ct"], "rei", c)
    for m in ("sure", "r2r"):
        assert applicable(TASKS["mri"], m, c) is None


def test_robust_ei_on_poisson_denoising_uses_pure(key):
    """The study's construction (noise = the task's model): PURE for Poisson, and the loss
    is finite and differentiable on a minibatch of MNIST-sized images."""
    c = ImagingConfig.quick()
    task = TASKS["mnist_poisson"]
    net = bj.UNet(scales=1, width=4, key=jr.key(1))
    method = bj.make_method(
        "rei",
        28 * 28,
        key=key,
        reconstructor=net,
        ei_transform=task.group,
        noise=task.noise(c),
        **task.method_kwargs("rei", c),
    )
    assert isinstance(method.noise, bj.PoissonNoise)
    x = jr.uniform(jr.key(2), (2, 28, 28))
    y = jax.vmap(lambda xi, k: task.noise(c)(xi, key=k))(x, jr.split(jr.key(3), 2))
    op = task.operator(jr.key(4), (28, 28))
    batch = bj.Batch(op, y, sigma=0.0, u=y)
    loss, grads = eqx.filter_value_and_grad(lambda m: m.loss(batch, key=key))(method)
    assert np.isfinite(float(loss))
    leaves = jax.tree_util.tree_leaves(grads)
    assert leaves and all(np.all(np.isfinite(g)) for g in leaves)
    assert any(float(jnp.abs(g).max()) > 0 for g in leaves)  # the network is trained


@pytest.mark.parametrize(("name", "shape"), [("mnist_cs", (12, 12)), ("ct", (16, 16))])
def test_precomputed_reference_input_equals_the_solved_one(name, shape):
    """With `net_input` "pinv" on a task whose reference is costly, the network's input is the
    reference's matrix, formed once per operator (and per operator of MOI's family), applied
    to y: the same input as the reference solved on y (SVD pseudoinverse for compressed
    sensing; for CT 50 Landweber steps, the matrix in closed form from an eigendecomposition
    of A A^T) up to float32 rounding."""
    from bridge_jax.studies.imaging import run

    task = TASKS[name]
    c = ImagingConfig.quick(net_input="pinv")
    keys = jr.split(jr.key(0), 2)
    ops = eqx.filter_vmap(lambda k: task.operator(k, shape))(keys)  # a seed axis
    fam = eqx.filter_vmap(eqx.filter_vmap(lambda k: task.family(k, shape)))(
        jr.split(jr.key(1), (2, 3))
    )
    data = run.precompute_reference(c, task, {"op": ops, "fam": fam})
    net = run.PinvInput(bj.UNet(scales=1, width=2, key=jr.key(2)), task.reference)
    solved_net = run.PinvInput(net.net, lambda op, y: task.reference(op, y))
    # The second seed's operator, and the third of its family.
    for plain, fast in (
        (run._take(ops, 1), run._take(data["op"], 1)),
        (run._take(run._take(fam, 1), 2), run._take(run._take(data["fam"], 1), 2)),
    ):
        assert isinstance(fast, run.WithReference)
        x = jr.uniform(jr.key(3), shape)
        y = plain.mv(x) + 0.03 * jr.normal(jr.key(4), plain.out_structure().shape)
        solved = task.reference(plain, y)
        scale = float(jnp.max(jnp.abs(solved)))
        np.testing.assert_allclose(fast.reference.mv(y), solved, atol=1e-5 * scale)
        # The wrapped operator measures and back-projects as the operator it wraps.
        np.testing.assert_array_equal(fast.mv(x), plain.mv(x))
        np.testing.assert_array_equal(fast.T.mv(y), plain.T.mv(y))
        # The network sees the same input either way.
        np.testing.assert_allclose(net(fast, y), solved_net(plain, y), atol=1e-4 * scale)
    # The other input (A^* y) leaves the operators as drawn.
    same = run.precompute_reference(ImagingConfig.quick(net_input="adjoint"), task, {"op": ops})
    assert same["op"] is ops
