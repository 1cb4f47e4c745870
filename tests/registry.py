"""One registry of operators for the transformation tests (jit, vmap, grad, transpose), as
lineax's tests do: every bridge_jax operator, compositions, lineax's own operators, a
user-written `lineax.FunctionLinearOperator` on (H, W) images and complex operators: complex
matrices, and maps from real to complex arrays or back (linear over the reals only).

Each entry is `name -> make(key) -> operator`; sizes are small so every test is fast.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx

import bridge_jax as bj

IMAGE = (6, 5)


def _finite_difference(shape=IMAGE):
    """A user's operator: horizontal and vertical differences of an (H, W) image, stacked."""

    def fn(x):
        return jnp.stack([jnp.roll(x, 1, 0) - x, jnp.roll(x, 1, 1) - x])

    return lx.FunctionLinearOperator(fn, jax.ShapeDtypeStruct(shape, jnp.result_type(float)))


def _fourier(shape=IMAGE):
    """A complex operator: the orthonormal 2-D DFT of a real image (real in, complex out)."""

    def fn(x):
        return jnp.fft.fft2(x.astype(jnp.result_type(x, jnp.complex64)), norm="ortho")

    return lx.FunctionLinearOperator(fn, jax.ShapeDtypeStruct(shape, jnp.result_type(float)))


def _masked_fourier(key, shape=IMAGE):
    """Single-coil MRI in miniature: a k-space mask after the DFT (complex output)."""
    cdtype = jnp.result_type(jnp.result_type(float), jnp.complex64)
    return bj.Mask(bj.random_mask(shape, 0.4, key=key), dtype=cdtype) @ _fourier(shape)


def _complex_matrix(key):
    kr, ki = jr.split(key)
    a = jr.normal(kr, (5, 9)) + 1j * jr.normal(ki, (5, 9))
    return bj.MatrixOperator(a.astype(jnp.result_type(jnp.result_type(float), jnp.complex64)))


def operators():
    def gaussian(k):
        return bj.GaussianSensing(12, 7, key=k)

    def gaussian_image(k):
        return bj.GaussianSensing(IMAGE, 11, key=k)

    def matrix_image(k):
        return bj.MatrixOperator(jr.normal(k, (12, 30)), in_shape=IMAGE, out_shape=(3, 4))

    def mask_image(k):
        return bj.Mask(bj.random_mask(IMAGE, 0.5, key=k))

    def subsample(k):
        return bj.Subsample(jr.permutation(k, 12)[:5], 12)

    def subsample_image(k):
        return bj.Subsample.from_mask(bj.random_mask(IMAGE, 0.5, key=k))

    def blur(k):
        return bj.Blur(jax.nn.softmax(jr.normal(k, (6, 6))))

    def blur_mask(k):
        k1, k2 = jr.split(k)
        return bj.Mask(bj.random_mask((8, 8), 0.5, key=k1)) @ bj.Blur.gaussian(1.0, shape=(8, 8))

    def composed(k):
        k1, k2 = jr.split(k)
        return bj.GaussianSensing(5, 4, key=k1) @ subsample(k2)

    def lineax_matrix(k):
        return lx.MatrixLinearOperator(jr.normal(k, (6, 10)))

    def user_function(k):
        return _finite_difference()

    def scaled_sum(k):
        k1, k2 = jr.split(k)
        return 2.0 * gaussian(k1) + bj.MatrixOperator(jr.normal(k2, (7, 12))) @ bj.Mask(
            jnp.ones(12, bool)
        )

    # Imaging physics (issue 13), at miniature sizes; random parameters drawn from the key.
    def mri(k):
        return bj.MRI(bj.cartesian_mask((8, 8), 2, center_fraction=0.25, key=k))

    def radon(k):
        return bj.Radon(IMAGE, 180 * jr.uniform(k, (4,)))

    def downsample(k):
        return bj.Downsample((6, 4), 2)

    def blur_zero(k):
        return bj.Blur(bj.random_kernel(3, key=k), shape=IMAGE, boundary="zero")

    def blur_reflect(k):
        return bj.Blur(bj.motion_kernel(3, key=k), shape=IMAGE, boundary="reflect")

    def blur_valid(k):
        return bj.Blur(jax.nn.softmax(jr.normal(k, (3, 2))), shape=IMAGE, boundary="valid")

    def structured(k):
        return bj.StructuredSensing(IMAGE, 11, key=k)

    def denoising(k):  # lineax's identity on (H, W) images: the denoising problem
        return lx.IdentityLinearOperator(jax.ShapeDtypeStruct(IMAGE, jnp.result_type(float)))

    # Linear over the reals only: real images to complex data, back, and compositions.
    def mri_adjoint(k):  # complex k-space to real images
        return bj.adjoint(mri(k))

    def mri_blur(k):
        return mri(k) @ bj.Blur.gaussian(1.0, shape=(8, 8))

    def mri_user(k):  # MRI after a user's lineax.FunctionLinearOperator
        def fn(x):
            return x - 0.5 * jnp.roll(x, 1, 0)

        struct = jax.ShapeDtypeStruct((8, 8), jnp.result_type(float))
        return mri(k) @ lx.FunctionLinearOperator(fn, struct)

    def coded_diffraction(k):
        return bj.PhaseRetrieval.coded_diffraction((4, 3), 2, key=k).operator

    return {
        "gaussian": gaussian,
        "gaussian_image": gaussian_image,
        "matrix_image": matrix_image,
        "matrix_complex": _complex_matrix,
        "mask_image": mask_image,
        "subsample_image": subsample_image,
        "blur": blur,
        "blur_mask": blur_mask,
        "composed": composed,
        "lineax_matrix": lineax_matrix,
        "user_function": user_function,
        "masked_fourier": _masked_fourier,
        "scaled_sum": scaled_sum,
        "mri": mri,
        "radon": radon,
        "downsample": downsample,
        "blur_zero": blur_zero,
        "blur_reflect": blur_reflect,
        "blur_valid": blur_valid,
        "structured": structured,
        "denoising": denoising,
        "mri_adjoint": mri_adjoint,
        "mri_blur": mri_blur,
        "mri_user": mri_user,
        "coded_diffraction": coded_diffraction,
    }


OPERATORS = operators()
NAMES = list(OPERATORS)
# Written out, not computed: building every operator at import cost each test process 4 s of
# compilation before its first test. test_operators.py checks the list against `bj.is_complex`.
COMPLEX = (
    "matrix_complex",
    "masked_fourier",
    "mri",
    "mri_adjoint",
    "mri_blur",
    "mri_user",
    "coded_diffraction",
)
REAL = [n for n in NAMES if n not in COMPLEX]
# Linear over the reals only (`bj.is_real_linear`): a real side and a complex side.
REAL_LINEAR = tuple(n for n in COMPLEX if n != "matrix_complex")
# Built by the test's user, not by bridge_jax: `masked_fourier`'s real-to-complex part is a
# lineax.FunctionLinearOperator, whose `.T` and `as_matrix()` are lineax's (JAX's plain
# transpose; the complex matrix, which lineax's dense solvers misuse for real unknowns).
USER_REAL_LINEAR = ("masked_fourier",)


def random_input(op, key, *, output=False):
    """A random array of the operator's input (or output) structure, complex where it is."""
    struct = op.out_structure() if output else op.in_structure()
    kr, ki = jr.split(key)
    x = jr.normal(kr, struct.shape)
    if jnp.issubdtype(struct.dtype, jnp.complexfloating):
        x = x + 1j * jr.normal(ki, struct.shape)
    return x.astype(struct.dtype)
