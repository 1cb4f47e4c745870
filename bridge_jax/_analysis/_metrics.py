r"""Image quality metrics on ONE image: MSE, PSNR and SSIM (`vmap` over a batch).

PSNR and SSIM equal scikit-image's `peak_signal_noise_ratio` and `structural_similarity`
(with `gaussian_weights=False`, `use_sample_covariance=True`, `K1=0.01`, `K2=0.03`) for the same
`data_range` and window. Written in JAX, they run under `jit`, `vmap` and `grad`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _validate as check


def _pair(x, reference, *, metric: str | None = None):
    x, reference = jnp.asarray(x), jnp.asarray(reference)
    if metric is not None and (jnp.iscomplexobj(x) or jnp.iscomplexobj(reference)):
        raise TypeError(
            f"{metric} needs real images, got dtypes {x.dtype} and {reference.dtype}; for "
            "complex ones (e.g. MRI) compare magnitudes: pass jnp.abs(x) and jnp.abs(reference)."
        )
    if x.shape != reference.shape:
        raise ValueError(
            f"x and reference must have the same shape, got {x.shape} and {reference.shape} "
            f"(metrics act on one image: batch with jax.vmap)."
        )
    dtype = jnp.result_type(x.dtype, reference.dtype, float)
    return x.astype(dtype), reference.astype(dtype)


def mse(x: Float[Array, "..."], reference: Float[Array, "..."]) -> Float[Array, ""]:
    r"""Mean squared error $\frac1n \sum_i (x_i - r_i)^2$."""
    x, reference = _pair(x, reference)
    return jnp.mean((x - reference) ** 2)


def psnr(x: Float[Array, "..."], reference: Float[Array, "..."], *, data_range) -> Float[Array, ""]:
    r"""Peak signal-to-noise ratio in dB: $10 \log_{10}(L^2 / \mathrm{MSE}(x, r))$, with $L$ =
    `data_range` (1 for images in [0, 1]); $+\infty$ when $x = r$. Equals
    `skimage.metrics.peak_signal_noise_ratio(reference, x, data_range=L)`. Real images only
    (a `TypeError` for complex ones: pass their magnitudes)."""
    check.nonnegative("data_range", data_range, strict=True)
    error = mse(*_pair(x, reference, metric="psnr"))
    return 10 * jnp.log10(jnp.asarray(data_range, error.dtype) ** 2 / error)


def ssim(
    x: Float[Array, "H W"], reference: Float[Array, "H W"], *, data_range, win_size: int = 7
) -> Float[Array, ""]:
    r"""Structural similarity (Wang et al. 2004) of one image to a reference, averaged over
    every `win_size` $\times$ `win_size` window inside the image:
    $$ \mathrm{SSIM} = \operatorname{mean}_w
       \frac{(2\mu_x\mu_r + C_1)(2\sigma_{xr} + C_2)}
            {(\mu_x^2 + \mu_r^2 + C_1)(\sigma_x^2 + \sigma_r^2 + C_2)}, $$
    window means $\mu$, sample (co)variances $\sigma$ (normalised by $N - 1$, $N$ the window's
    pixels), $C_1 = (0.01 L)^2$, $C_2 = (0.03 L)^2$, $L$ = `data_range`. Equals
    `skimage.metrics.structural_similarity(reference, x, data_range=L, win_size=win_size)`
    (uniform window). Images of any number of axes, each at least `win_size` (odd, >= 3)
    long. Real images only (a `TypeError` for complex ones: pass their magnitudes).
    """
    x, reference = _pair(x, reference, metric="ssim")
    check.nonnegative("data_range", data_range, strict=True)
    win_size = check.positive_int("win_size", win_size)
    if win_size < 3 or win_size % 2 == 0 or any(s < win_size for s in x.shape):
        raise ValueError(
            f"win_size must be odd, >= 3 (a window's sample variance needs 2 pixels) and at "
            f"most every side of the image {x.shape}, got {win_size}."
        )
    ndim = x.ndim
    n = win_size**ndim

    def mean(a):  # the window means at every position where the window fits
        return lax.reduce_window(a, 0.0, lax.add, (win_size,) * ndim, (1,) * ndim, "VALID") / n

    mu_x, mu_r = mean(x), mean(reference)
    cov = n / (n - 1)
    var_x = cov * (mean(x * x) - mu_x**2)
    var_r = cov * (mean(reference * reference) - mu_r**2)
    cov_xr = cov * (mean(x * reference) - mu_x * mu_r)
    L = jnp.asarray(data_range, x.dtype)
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    num = (2 * mu_x * mu_r + c1) * (2 * cov_xr + c2)
    den = (mu_x**2 + mu_r**2 + c1) * (var_x + var_r + c2)
    return jnp.mean(num / den)
