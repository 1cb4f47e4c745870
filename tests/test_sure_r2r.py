"""SURE and Recorrupted-to-Recorrupted against closed forms.

The known answers: a linear reconstructor $f(A, y) = W y$ on $y = Ax + \\sigma e$ with
$x \\sim N(0, \\tau^2 I_n)$, $e \\sim N(0, I_m)$. With $M = AW$ and $R = (M - I) A$,
$\\frac1m E\\|M y' - Ax\\|^2 = (\\tau^2\\|R\\|_F^2 + s^2 \\|M\\|_F^2)/m$ for an input $y'$ of
noise variance $s^2$. $W = A^+ B$ with $B$ near the identity keeps $R$ small, so the spread
of the draws is small against the noise terms the tests are about (each test checks it).
SURE's expectation is that at $s^2 = \\sigma^2$; R2R's is that at $s^2 = \\sigma^2(1+\\alpha^2)$
plus $\\sigma^2(1 + 1/\\alpha^2)$. Means over many draws are
compared with a tolerance of 4 standard errors of the draws themselves.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
import pytest

import bridge_jax as bj

N, M_ROWS, DRAWS, SIGMA, ALPHA, TAU = 6, 4, 20_000, 0.3, 0.5, 0.5


@pytest.fixture
def problem(x64):
    k_a, k_b = jr.split(jr.key(11))
    a = jr.normal(k_a, (M_ROWS, N)) / np.sqrt(M_ROWS)
    b = 0.7 * jnp.eye(M_ROWS) + 0.2 * jr.normal(k_b, (M_ROWS, M_ROWS))
    return bj.MatrixOperator(a), a, jnp.linalg.pinv(a) @ b


def measurement_mse(a, w, noise_var):
    """$\\frac1m E\\|A W y' - A x\\|^2$, $x \\sim N(0, \\tau^2 I)$, noise variance `noise_var`."""
    mm = a @ w
    r = (mm - jnp.eye(M_ROWS)) @ a
    return float((TAU**2 * jnp.sum(r**2) + noise_var * jnp.sum(mm**2)) / M_ROWS)


def draw(op, key):
    k_x, k_e = jr.split(key)
    x = TAU * jr.normal(k_x, (N,))
    return x, op.mv(x) + SIGMA * jr.normal(k_e, (M_ROWS,))


def standard_error(samples):
    samples = np.asarray(samples)
    return samples.std(ddof=1) / np.sqrt(samples.size)


def within_spread(samples, expected, z=4.0):
    se = standard_error(samples)
    assert abs(np.mean(samples) - expected) < z * se, (np.mean(samples), expected, se)


def test_sure_expectation_is_the_measurement_mse(problem):
    op, a, w = problem
    model = lambda o, v: w @ v  # noqa: E731

    def one(key):
        k_d, k_p = jr.split(key)
        x, y = draw(op, k_d)
        mc = bj.sure_loss(model, op, y, key=k_p, sigma=SIGMA)
        exact = bj.sure_loss(model, op, y, key=k_p, sigma=SIGMA, divergence="exact")
        return y, mc, exact

    y, mc, exact = jax.jit(jax.vmap(one))(jr.split(jr.key(0), DRAWS))
    expected = measurement_mse(a, w, SIGMA**2)
    within_spread(mc, expected)
    within_spread(exact, expected)
    # The test has power: dropping the constant or the divergence term moves the mean by
    # many standard errors.
    mm = a @ w
    for term in (SIGMA**2, 2 * SIGMA**2 * float(jnp.trace(mm)) / M_ROWS):
        assert term > 20 * standard_error(mc)
    # The exact version is the textbook formula, draw by draw.
    by_hand = (
        jnp.mean((y @ mm.T - y) ** 2, axis=1) - SIGMA**2 + 2 * SIGMA**2 * jnp.trace(mm) / M_ROWS
    )
    np.testing.assert_allclose(exact, by_hand, rtol=1e-10, atol=1e-12)
    # The Monte-Carlo divergence adds noise (its spread exceeds the exact one's), no bias.
    assert np.std(mc) > np.std(exact)


def test_sure_on_denoising_is_the_supervised_mse_for_a_nonlinear_model(x64):
    """Denoising ($A = I$) with soft-thresholding: the paired difference SURE - MSE has mean 0
    (the finite-difference bias at eps = sigma/100 is far below the Monte-Carlo error)."""
    shape = (4, 3)
    op = lx.IdentityLinearOperator(jax.ShapeDtypeStruct(shape, jnp.float64))
    model = lambda o, v: bj.soft_threshold(v, 0.2)  # noqa: E731

    def one(key):
        k_x, k_e, k_p = jr.split(key, 3)
        x = jr.normal(k_x, shape)
        y = x + SIGMA * jr.normal(k_e, shape)
        sure = bj.sure_loss(model, op, y, key=k_p, sigma=SIGMA)
        # The divergence of soft-thresholding: the fraction of entries above the threshold.
        div_term = 2 * SIGMA**2 * jnp.mean(jnp.abs(y) > 0.2)
        return sure - jnp.mean((model(op, y) - x) ** 2), div_term

    diff, div_term = jax.jit(jax.vmap(one))(jr.split(jr.key(1), DRAWS))
    within_spread(diff, 0.0)
    assert np.mean(div_term) > 20 * standard_error(diff)  # without it the test would fail


@pytest.mark.parametrize("alpha", [ALPHA, 1.0])
def test_r2r_expectation_is_the_mse_at_the_recorrupted_input(problem, alpha):
    op, a, w = problem
    model = lambda o, v: w @ v  # noqa: E731
    constant = SIGMA**2 * (1 + 1 / alpha**2)

    def one(key):
        k_d, k_r = jr.split(key)
        x, y = draw(op, k_d)
        loss = bj.r2r_loss(model, op, y, key=k_r, sigma=SIGMA, alpha=alpha)
        y1, _ = bj.recorrupt(y, key=k_r, sigma=SIGMA, alpha=alpha)  # the loss's own y1
        return loss, jnp.mean((op.mv(model(op, y1)) - op.mv(x)) ** 2) + constant

    loss, supervised = jax.jit(jax.vmap(one))(jr.split(jr.key(2), DRAWS))
    within_spread(loss, measurement_mse(a, w, SIGMA**2 * (1 + alpha**2)) + constant)
    diff = loss - supervised  # paired: the same y1, the same signal
    within_spread(diff, 0.0)
    # Power: a constant off by sigma^2 is many standard errors away; at alpha = 1 so is the
    # MSE at y instead of y1 (less by alpha^2 sigma^2 ||M||^2 / m; at alpha = 0.5 the noise
    # of y2, variance sigma^2 / alpha^2, hides it in 20,000 draws).
    assert SIGMA**2 > 20 * standard_error(diff)
    if alpha == 1.0:
        extra = SIGMA**2 * alpha**2 * float(jnp.sum((a @ w) ** 2)) / M_ROWS
        assert extra > 20 * standard_error(loss)


def test_recorrupted_noises_are_independent(x64):
    """$y_1 - y$ and $y_2 - y$ are uncorrelated with variances $\\sigma^2\\alpha^2$ and
    $\\sigma^2/\\alpha^2$ (with $y$'s own noise they give two independent noisy copies)."""
    y1, y2 = bj.recorrupt(jnp.zeros(DRAWS), key=jr.key(3), sigma=SIGMA, alpha=ALPHA)
    within_spread(y1 * y2, -(SIGMA**2))  # E[(a z)(-z/a)] = -sigma^2: cancels y's variance
    within_spread(y1**2, SIGMA**2 * ALPHA**2)
    within_spread(y2**2, SIGMA**2 / ALPHA**2)


def test_gradients_are_finite_and_match_finite_differences(problem):
    op, a, w = problem
    _, y = draw(op, jr.key(4))
    direction = jr.normal(jr.key(5), w.shape)
    losses = {
        "sure": lambda w_: bj.sure_loss(lambda o, v: w_ @ v, op, y, key=jr.key(6), sigma=SIGMA),
        "r2r": lambda w_: bj.r2r_loss(lambda o, v: w_ @ v, op, y, key=jr.key(6), sigma=SIGMA),
    }
    for loss in losses.values():
        g = jax.grad(loss)(w)
        assert bool(jnp.all(jnp.isfinite(g)))
        h = 1e-6
        fd = (loss(w + h * direction) - loss(w - h * direction)) / (2 * h)
        np.testing.assert_allclose(jnp.vdot(g, direction), fd, rtol=1e-6)


def test_sigma_zero_is_measurement_consistency(problem):
    op, a, w = problem
    model = lambda o, v: w @ v  # noqa: E731
    _, y = draw(op, jr.key(7))
    consistency = bj.measurement_consistency_loss(model, op, y)
    np.testing.assert_allclose(bj.sure_loss(model, op, y, key=jr.key(0), sigma=0.0), consistency)
    np.testing.assert_allclose(bj.r2r_loss(model, op, y, key=jr.key(0), sigma=0.0), consistency)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda m, o, y: bj.sure_loss(m, o, y, key=jr.key(0), sigma=-0.1), "sigma must be"),
        (lambda m, o, y: bj.sure_loss(m, o, y, key=jr.key(0), sigma=0.1, eps=0.0), "eps must"),
        (
            lambda m, o, y: bj.sure_loss(m, o, y, key=jr.key(0), sigma=0.1, divergence="hutch"),
            "divergence must be one of",
        ),
        (lambda m, o, y: bj.r2r_loss(m, o, y, key=jr.key(0), sigma=-1.0), "sigma must be"),
        (lambda m, o, y: bj.r2r_loss(m, o, y, key=jr.key(0), sigma=0.1, alpha=0.0), "alpha must"),
        (lambda m, o, y: bj.r2r_loss(m, o, y, key=jr.key(0), sigma=0.1, alpha=-2), "alpha must"),
        (lambda m, o, y: bj.make_method("sure", 6, key=jr.key(0), sigma=-1.0), "sigma must"),
        (lambda m, o, y: bj.make_method("r2r", 6, key=jr.key(0), sigma=np.nan), "sigma must"),
    ],
)
def test_bad_inputs_are_refused(problem, call, match):
    op, a, w = problem
    with pytest.raises(ValueError, match=match):
        call(lambda o, v: w @ v, op, jnp.zeros(M_ROWS))


def test_complex_r2r_expectation_is_the_noisier_measurement_mse_plus_a_constant(x64):
    # MRI as in the complex SURE test below: as real vectors of 2m coordinates y1 carries
    # noise of variance sigma^2 (1 + alpha^2) / 2 per coordinate and y2's is independent, so
    # E r2r = (tau^2 ||(M - I) A~||_F^2 + sigma^2 (1 + alpha^2) / 2 ||M||_F^2) / m
    # + sigma^2 (1 + 1 / alpha^2).
    mask = jnp.zeros((4, 4), bool).at[:, :2].set(True)
    op = bj.MRI(mask)
    n, m = 16, 16

    def real_vector(z):
        return jnp.concatenate([jnp.real(z).reshape(-1), jnp.imag(z).reshape(-1)])

    a = jax.vmap(lambda e: real_vector(op.mv(e.reshape(4, 4))))(jnp.eye(n)).T  # (2m, n)
    b = 0.7 * jnp.eye(2 * m) + 0.2 * jr.normal(jr.key(5), (2 * m, 2 * m))
    w = jnp.linalg.pinv(a) @ b
    model = lambda o, v: (w @ real_vector(v)).reshape(4, 4)  # noqa: E731
    mm = a @ w

    def one(key):
        k_x, k_e, k_p = jr.split(key, 3)
        x = TAU * jr.normal(k_x, (4, 4))
        y = bj.GaussianNoise(SIGMA)(op.mv(x), key=k_e)
        return bj.r2r_loss(model, op, y, key=k_p, sigma=SIGMA, alpha=ALPHA)

    loss = jax.jit(jax.vmap(one))(jr.split(jr.key(1), DRAWS))
    r = (mm - jnp.eye(2 * m)) @ a
    noisy = SIGMA**2 * (1 + ALPHA**2) / 2
    constant = SIGMA**2 * (1 + 1 / ALPHA**2)
    expected = float((TAU**2 * jnp.sum(r**2) + noisy * jnp.sum(mm**2)) / m) + constant
    within_spread(loss, expected)
    # Power: recorrupting with real noise (sigma^2 on the real part alone) or with noise of
    # twice the variance moves the noise term by many standard errors.
    assert noisy * float(jnp.sum(mm**2)) / m / 2 > 20 * standard_error(loss)


def test_complex_sure_expectation_is_the_measurement_mse(x64):
    # MRI on real 4 x 4 images (half the frequencies sampled: the other rows of A are zero)
    # with circular noise, sigma^2 per complex entry. As real vectors of 2m coordinates,
    # y~ = A~ x + n~ with n~ ~ N(0, sigma^2/2 I); a linear reconstructor x = W y~ gives
    # g~ = M y~, M = A~ W, and (1/m) E||g - Ax||^2 = (tau^2 ||(M - I) A~||_F^2
    # + sigma^2/2 ||M||_F^2) / m.
    mask = jnp.zeros((4, 4), bool).at[:, :2].set(True)
    op = bj.MRI(mask)
    n, m = 16, 16

    def real_vector(z):
        return jnp.concatenate([jnp.real(z).reshape(-1), jnp.imag(z).reshape(-1)])

    a = jax.vmap(lambda e: real_vector(op.mv(e.reshape(4, 4))))(jnp.eye(n)).T  # (2m, n)
    b = 0.7 * jnp.eye(2 * m) + 0.2 * jr.normal(jr.key(5), (2 * m, 2 * m))
    w = jnp.linalg.pinv(a) @ b
    model = lambda o, v: (w @ real_vector(v)).reshape(4, 4)  # noqa: E731
    mm = a @ w

    def one(key):
        k_x, k_e, k_p = jr.split(key, 3)
        x = TAU * jr.normal(k_x, (4, 4))
        y = bj.GaussianNoise(SIGMA)(op.mv(x), key=k_e)
        mc = bj.sure_loss(model, op, y, key=k_p, sigma=SIGMA)
        exact = bj.sure_loss(model, op, y, key=k_p, sigma=SIGMA, divergence="exact")
        return real_vector(y), mc, exact

    y, mc, exact = jax.jit(jax.vmap(one))(jr.split(jr.key(0), DRAWS))
    r = (mm - jnp.eye(2 * m)) @ a
    expected = float((TAU**2 * jnp.sum(r**2) + SIGMA**2 / 2 * jnp.sum(mm**2)) / m)
    within_spread(mc, expected)
    within_spread(exact, expected)
    # The exact version is the formula by hand: the divergence is the real Jacobian's trace.
    by_hand = jnp.sum((y @ mm.T - y) ** 2, axis=1) / m - SIGMA**2 + SIGMA**2 * jnp.trace(mm) / m
    np.testing.assert_allclose(exact, by_hand, rtol=1e-10, atol=1e-12)
    # The test has power: the real-data weight (2 sigma^2 / m on the divergence) or half the
    # divergence (a probe of unit complex variance) moves the mean by many standard errors.
    assert SIGMA**2 * float(jnp.trace(mm)) / m / 2 > 20 * standard_error(mc)


def test_r2r_output_averages_recorrupted_inputs(problem):
    """For a linear model, the average over recorruptions is f(y) plus noise of variance
    $\\alpha^2\\sigma^2 \\|W\\|^2/\\text{draws}$: with many draws it tends to f(y)."""
    op, a, w = problem
    method = bj.make_method("r2r", N, key=jr.key(0), sigma=SIGMA, num_iters=1)
    method = bj.R2R(model=lambda o, v: w @ v, sigma=method.sigma, draws=4000)
    _, y = draw(op, jr.key(8))
    out = method.output(op, y, None, key=jr.key(9))
    sd = ALPHA * SIGMA * np.sqrt(np.sum(np.asarray(w) ** 2, axis=1) / 4000)
    assert np.all(np.abs(np.asarray(out - w @ y)) < 4 * sd)
    sure = bj.SURE(model=lambda o, v: w @ v, sigma=method.sigma)
    np.testing.assert_allclose(sure.output(op, y, None, key=jr.key(9)), w @ y)


GAIN = 0.05


def test_pure_expectation_is_the_denoising_mse(x64):
    r"""PURE on Poisson denoising ($A = I$, $y = \gamma\,\mathrm{Poisson}(x/\gamma)$) with a
    linear denoiser $W$: $E\|Wy - x\|^2 = \|(W - I)x\|^2 + \gamma\sum_{ij} W_{ij}^2 x_j$,
    and for a linear model PURE is unbiased (its difference is exact)."""
    n = 6
    op = lx.IdentityLinearOperator(jax.ShapeDtypeStruct((n,), jnp.float64))
    x = jnp.linspace(0.2, 1.0, n)
    w = 0.6 * jnp.eye(n) + 0.05 * jr.normal(jr.key(2), (n, n))
    model = lambda o, v: w @ v  # noqa: E731
    noise = bj.PoissonNoise(GAIN)

    def one(key):
        k_y, k_p = jr.split(key)
        y = noise(x, key=k_y)
        return bj.pure_loss(model, op, y, key=k_p, gain=GAIN)

    loss = jax.jit(jax.vmap(one))(jr.split(jr.key(3), DRAWS))
    expected = float(jnp.sum(((w - jnp.eye(n)) @ x) ** 2) + GAIN * jnp.sum(w**2 * x[None, :]))
    within_spread(loss, expected / n)
    # Power: the divergence term (2 gamma sum_i x_i W_ii / n on average) is many errors wide.
    assert 2 * GAIN * float(jnp.sum(jnp.diag(w) * x)) / n > 20 * standard_error(loss)


def test_rei_is_the_risk_estimate_plus_the_noisy_equivariance_term(key):
    """rei_loss = SURE (Gaussian) or PURE (Poisson) + weight x EI's equivariance term; with
    weight 0 it is the risk estimate alone, the loss that denoising needs (A = I, where
    consistency alone is minimised by the identity)."""
    shape = (8, 8)
    op = lx.IdentityLinearOperator(jax.ShapeDtypeStruct(shape, jnp.float32))
    x = jr.uniform(jr.key(4), shape)
    model = bj.UNet(scales=1, width=4, key=jr.key(5))
    k_risk, _ = jr.split(key)
    for noise, risk in (
        (bj.GaussianNoise(SIGMA), lambda y: bj.sure_loss(model, op, y, key=k_risk, sigma=SIGMA)),
        (bj.PoissonNoise(GAIN), lambda y: bj.pure_loss(model, op, y, key=k_risk, gain=GAIN)),
    ):
        y = noise(x, key=jr.key(6))
        rei = lambda weight, y=y, noise=noise: bj.rei_loss(  # noqa: E731
            model, op, y, bj.random_circular_shift, key=key, noise=noise, weight=weight
        )
        np.testing.assert_allclose(rei(0.0), risk(y), rtol=1e-5)
        # The equivariance term: the shifted reconstruction, measured again with the noise.
        assert float(rei(10.0)) > float(rei(0.0)) + 1e-6
        method = bj.make_method(
            "rei",
            64,
            key=key,
            noise=noise,
            reconstructor=model,
            ei_weight=2.0,
            ei_transform=bj.random_circular_shift,
        )
        assert isinstance(method, bj.RobustEI) and method.weight == 2.0
        batch = bj.Batch(op, y[None], sigma=SIGMA, u=y[None])
        k_loss = jr.split(key, 1)[0]  # the key of the batch's one signal
        np.testing.assert_allclose(
            method.loss(batch, key=key),
            bj.rei_loss(
                model, op, y, bj.random_circular_shift, key=k_loss, noise=noise, weight=2.0
            ),
            rtol=1e-5,
        )
    with pytest.raises(TypeError, match="GaussianNoise or PoissonNoise"):
        bj.rei_loss(model, op, x, bj.random_circular_shift, key=key, noise=None)
    with pytest.raises(ValueError, match="ei_weight must be"):
        bj.make_method("ei", 64, key=key, ei_weight=-1.0)
    assert bj.make_method("ei", 64, key=key, ei_weight=100.0).weight == 100.0
