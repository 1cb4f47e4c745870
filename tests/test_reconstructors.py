"""The reconstructors behind `AbstractReconstructor`: the known answer of each untrained
network, shapes on imaging operators, jit, vmap, gradients against finite differences, errors
before tracing and no recompilation."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
import pytest
from registry import OPERATORS, random_input

import bridge_jax as bj

# Imaging operators from the registry: denoising, inpainting, blur (zero boundary), MRI
# (complex k-space of a real image), CT and x2 super-resolution, at sizes such as 6 x 5.
IMAGING = ["denoising", "mask_image", "blur_zero", "mri", "radon", "downsample"]
# Each built once (float32), when a test first asks: initialising convolutions compiles one
# random draw per weight shape, which at import would cost every test process 2 s.
MODELS = {
    "dncnn": lambda: bj.DnCNN(depth=3, width=4, key=jr.key(0)),
    "unet": lambda: bj.UNet(scales=2, width=4, key=jr.key(1)),
    "unrolled": lambda: bj.UnrolledProximalGradient(num_iters=2, depth=3, width=4, key=jr.key(2)),
    "unrolled_per_step": lambda: bj.UnrolledProximalGradient(
        num_iters=2, depth=3, width=4, shared=False, key=jr.key(3)
    ),
}


@functools.cache
def _model(kind):
    with jax.enable_x64(False):  # float32 even when a float64 test asks first
        return MODELS[kind]()


def _perturbed(model, seed, scale=0.1, dtype=np.float32):
    """`model` (in `dtype`) with every parameter moved at random: the zero-initialised last
    layers become non-zero, so that every parameter changes the output. NumPy draws: a JAX draw
    per parameter shape would cost a compilation each."""
    rng = np.random.default_rng(seed)
    params, static = eqx.partition(model, eqx.is_array)
    moved = jax.tree_util.tree_map(
        lambda p: jnp.asarray(
            (np.asarray(p, dtype) + scale * rng.standard_normal(p.shape)).astype(dtype)
        ),
        params,
    )
    return eqx.combine(moved, static)


def _problem(name, key):
    k_op, k_x = jr.split(key)
    op = OPERATORS[name](k_op)
    x = jr.uniform(k_x, op.in_structure().shape, op.in_structure().dtype)
    return op, x, op.mv(x)


def _apply(model, op, y):
    return model(op, y)


apply = eqx.filter_jit(_apply)


def test_untrained_networks_are_back_projection_and_gradient_descent(key):
    """Known answers: the last convolution starts at zero, so untrained DnCNN and UNet return
    $A^* y$ and the untrained unrolled network is K Landweber steps from $A^* y$."""

    nets = [_model("dncnn"), _model("unet")]
    unrolled = [_model("unrolled"), _model("unrolled_per_step")]

    @eqx.filter_jit
    def outputs(nets, op, y, tau):
        # The step size is set here, so one network serves every operator's 1 / ||A||^2.
        nets = [*nets[:2], eqx.tree_at(lambda m: m.log_steps, nets[2], jnp.full(2, jnp.log(tau)))]
        u = bj.adjoint(op).mv(y)
        expected, _ = bj.landweber(op, y, x0=u, step_size=tau, num_steps=2)
        return u, expected, [net(op, y) for net in nets]

    for i, name in enumerate(IMAGING):
        op, _, y = _problem(name, key)
        tau = bj.default_step_size(op)  # 1 / ||A||^2
        u, expected, (dn, unet, pgd) = outputs([*nets, unrolled[i % 2]], op, y, tau)
        np.testing.assert_allclose(dn, u, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(unet, u, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(pgd, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("dncnn", ["denoising", "mri"]),
        ("unet", ["blur_zero", "downsample"]),
        ("unrolled", ["radon", "mri"]),
        ("unrolled_per_step", ["mask_image"]),
    ],
)
def test_shapes_jit_and_vmap_on_imaging_operators(kind, names, key):
    model = _perturbed(_model(kind), 1)
    batched = eqx.filter_jit(eqx.filter_vmap(_apply, in_axes=(None, None, 0)))
    for i, name in enumerate(names):
        op = OPERATORS[name](key)
        ys = jax.vmap(lambda k, op=op: random_input(op, k, output=True))(jr.split(key, 3))
        out = apply(model, op, ys[0])
        struct = op.in_structure()
        assert out.shape == struct.shape and out.dtype == struct.dtype, name
        if i == 0:  # eager (op by op) is slow: once per model
            np.testing.assert_allclose(out, model(op, ys[0]), rtol=1e-5, atol=1e-6)
        loop = jnp.stack([apply(model, op, y) for y in ys])
        np.testing.assert_allclose(batched(model, op, ys), loop, rtol=1e-5, atol=1e-6)


def test_vmap_over_operators_one_mask_per_image(key):
    """Multi-operator training: a different inpainting mask per image, vmapped together."""
    net = _perturbed(_model("unrolled"), 2)
    masks = jax.vmap(lambda k: bj.random_mask((6, 5), 0.5, key=k))(jr.split(key, 3))
    ops = jax.vmap(bj.Mask)(masks)
    ys = masks * jr.uniform(key, (3, 6, 5))
    out = eqx.filter_jit(eqx.filter_vmap(_apply, in_axes=(None, eqx.if_array(0), 0)))(net, ops, ys)
    loop = jnp.stack([apply(net, bj.Mask(m), y) for m, y in zip(masks, ys, strict=True)])
    np.testing.assert_allclose(out, loop, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", MODELS)
def test_parameter_gradients_match_finite_differences(kind, key, x64):
    op, x, y = _problem("blur_zero" if kind != "unet" else "mri", key)
    model = _perturbed(_model(kind), 3, dtype=np.float64)
    params, static = eqx.partition(model, eqx.is_array)

    @jax.jit
    def loss(p):
        return jnp.sum((eqx.combine(p, static)(op, y) - x) ** 2)

    grads = jax.jit(jax.grad(loss))(params)
    leaves = jax.tree_util.tree_leaves(grads)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    # Every parameter array (each layer, the step sizes) moves the loss.
    assert all(float(jnp.max(jnp.abs(g))) > 0 for g in leaves)
    # Directional derivative along a random direction against a central difference.
    d = _perturbed(jax.tree_util.tree_map(jnp.zeros_like, params), 4, 1.0, np.float64)
    slope = sum(jnp.vdot(g, v) for g, v in zip(leaves, jax.tree_util.tree_leaves(d), strict=True))
    h = 1e-6
    plus, minus = (jax.tree_util.tree_map(lambda p, v, t=t: p + t * v, params, d) for t in (h, -h))
    np.testing.assert_allclose(slope, (loss(plus) - loss(minus)) / (2 * h), rtol=1e-6)


def test_unet_odd_sizes_and_any_size(key):
    """28 -> 14 -> 7 -> 4 (ceil pooling), and the upsampling is cropped back to 7, 14, 28."""
    unet = _perturbed(bj.UNet(scales=3, width=2, key=key), 5)
    op = bj.Mask(bj.random_mask((28, 28), 0.5, key=key))
    out = apply(unet, op, op.mv(jnp.ones((28, 28))))
    assert out.shape == (28, 28) and bool(jnp.all(jnp.isfinite(out)))
    denoise = eqx.filter_jit(lambda m, x: m.denoise(x))
    for shape in ((7, 5), (1, 1)):
        assert denoise(unet, jnp.ones(shape)).shape == shape


def test_unet_skips_and_pooling_match_a_numpy_reference(key):
    """The UNet with 2 scales against a plain NumPy forward pass of the same weights on a
    5 x 3 image (odd sizes: ceil pooling to 3 x 2, upsampling cropped back)."""
    unet = _perturbed(_model("unet"), 6)
    x = np.asarray(jr.normal(jr.fold_in(key, 1), (5, 3)))

    def conv(c, h):  # same-size cross-correlation, zero padding, as eqx.nn.Conv2d
        w, b = np.asarray(c.weight), np.asarray(c.bias)
        p = w.shape[-1] // 2
        hp = np.pad(h, ((0, 0), (p, p), (p, p)))
        out = np.zeros((w.shape[0], *h.shape[1:]))
        for i in range(h.shape[1]):
            for j in range(h.shape[2]):
                patch = hp[:, i : i + w.shape[2], j : j + w.shape[3]]
                out[:, i, j] = np.tensordot(w, patch, 3)
        return out + b

    def block(blk, h):
        return np.maximum(conv(blk.second, np.maximum(conv(blk.first, h), 0)), 0)

    s0 = block(unet.down[0], x[None])
    padded = np.pad(s0, ((0, 0), (0, 1), (0, 1)), constant_values=-np.inf)
    pooled = padded.reshape(len(s0), 3, 2, 2, 2).max(axis=(2, 4))
    s1 = block(unet.down[1], pooled)
    up = s1.repeat(2, 1).repeat(2, 2)[:, :5, :3]
    h = block(unet.up[0], np.concatenate([up, s0]))
    expected = x + conv(unet.head, h)[0]
    np.testing.assert_allclose(
        eqx.filter_jit(lambda m, x: m.denoise(x))(unet, jnp.asarray(x)),
        expected,
        rtol=1e-4,
        atol=1e-5,
    )


def test_dncnn_is_input_minus_predicted_noise(key):
    dn = _perturbed(_model("dncnn"), 7)
    x = jr.normal(key, (4, 5))
    first, middle, last = dn.layers
    residual = last(jax.nn.relu(middle(jax.nn.relu(first(x[None])))))[0]
    np.testing.assert_allclose(dn.denoise(x), x - residual, rtol=1e-5, atol=1e-6)
    assert bj.num_parameters(dn) == (9 * 4 + 4) + (9 * 16 + 4) + (9 * 4 + 1)


def test_per_step_denoisers_are_distinct_and_steps_positive():
    net = _model("unrolled_per_step")
    w = net.denoiser.layers[0].weight
    assert w.shape[0] == 2 and not np.allclose(w[0], w[1])
    np.testing.assert_allclose(net.steps, 1.0, rtol=1e-6)
    pushed = eqx.tree_at(lambda m: m.log_steps, net, jnp.array([-50.0, 3.0]))
    assert np.all(np.asarray(pushed.steps) > 0)


def test_every_reconstructor_takes_an_optional_key(key):
    """The existing vector models are AbstractReconstructors and ignore `key`."""
    op = bj.GaussianSensing(10, 5, key=key)
    y = jr.normal(key, (5,))
    both = eqx.filter_jit(lambda m, k: (m(op, y, key=k), m(op, y)))
    for model in (
        bj.MLPReconstructor(10, width=4, key=key),
        bj.UnrolledNet(10, num_iters=2, width=4, key=key),
        bj.UnrolledShrinkage(10, num_iters=2),
        bj.UnrolledLandweber.constant(3, 0.1),
    ):
        assert isinstance(model, bj.AbstractReconstructor)
        with_key, without = both(model, jr.key(0))
        np.testing.assert_array_equal(with_key, without)
    assert all(isinstance(m, bj.AbstractReconstructor) for m in map(_model, MODELS))


def test_errors_before_tracing(key, compile_count):
    dn, unet, net = (_model(k) for k in ("dncnn", "unet", "unrolled"))
    vector_op = bj.GaussianSensing(12, 7, key=key)
    complex_op = lx.IdentityLinearOperator(jax.ShapeDtypeStruct((4, 4), jnp.complex64))
    image_op = OPERATORS["blur_zero"](key)
    y7, y44, y55, x244 = (
        jnp.ones(7),
        jnp.ones((4, 4), jnp.complex64),
        jnp.ones((5, 5)),
        jnp.ones((2, 4, 4)),
    )
    before = compile_count()
    for model in (dn, unet, net):
        with pytest.raises(ValueError, match=r"must have 2 dimensions, got shape \(12,\)"):
            model(vector_op, y7)
        with pytest.raises(TypeError, match="real dtype, got complex64"):
            model(complex_op, y44)
        with pytest.raises(ValueError, match=r"y must have the operator's output shape"):
            apply(model, image_op, y55)
    with pytest.raises(ValueError, match=r"takes one \(H, W\) image, got shape \(2, 4, 4\)"):
        unet.denoise(x244)
    for make, match, error in (
        (lambda: bj.DnCNN(depth=1, key=key), "depth must be >= 2", ValueError),
        (lambda: bj.DnCNN(width=0, key=key), "width must be >= 1", ValueError),
        (lambda: bj.UNet(scales=0, key=key), r"scales must be in \[1, 5\]", ValueError),
        (lambda: bj.UNet(key=None), "key is required", TypeError),
        (lambda: bj.UnrolledProximalGradient(num_iters=0, key=key), "num_iters", ValueError),
        (lambda: bj.UnrolledProximalGradient(step=-1.0, key=key), "step must be", ValueError),
        (lambda: bj.UnrolledProximalGradient(shared="no", key=key), "shared must be", TypeError),
    ):
        with pytest.raises(error, match=match):
            make()
    assert compile_count() == before


def test_no_recompilation_for_new_values(key, compile_count):
    op, _, y = _problem("blur_zero", key)
    other_op, other_y = OPERATORS["blur_zero"](jr.fold_in(key, 5)), 2 * y
    for kind in ("unet", "unrolled"):
        model = _model(kind)
        other = _perturbed(model, 8)
        apply(model, op, y)
        start = compile_count()
        apply(other, other_op, other_y)
        assert compile_count() == start, kind
