r"""Self-supervised methods (the paper's eight, then MOI, SURE, R2R and measurement consistency
alone, "mc") and a supervised reference, behind one interface.

A method is an `eqx.Module` holding its networks (and, for BYOL and DINO, its EMA target and
centre). It answers three questions about ONE trial's data, a `Batch`:

- `loss(batch, *, key)`: the training objective on the batch (a scalar);
- `update(batch, *, key)`: the non-gradient state update after each optimiser step (EMA
  targets, DINO's centre); the identity for the others (`AbstractStatelessMethod`);
- `output(op, y, u, *, key)`: what the trained method produces for one measurement: a
  representation for the SSRL methods (`domain == "ssrl"`), a reconstruction of $x$ for the
  imaging methods and the supervised reference (`domain == "imaging"`).

SSRL methods see the back-projections $u = A^+ y$ (the minimum-norm reconstruction, realisable
from the measurements) and augment them with a `ViewBank` (the paper's $K$ rotations + noise).
Imaging methods train a reconstructor `model(op, y) -> x`. Only `Supervised` reads `batch.x`.

Construct a method with `make_method(name, n, *, key, step)`; `METHODS` lists the names.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
from jaxtyping import Array, Float, PRNGKeyArray

from .. import _validate as check
from .._augment._vectors import ViewBank, random_shift
from .._data._problems import AbstractNoise, GaussianNoise, PoissonNoise
from .._linalg._core import pinv_solve
from .._losses._imaging import (
    cyclic_holdouts,
    ei_loss,
    measurement_consistency_loss,
    measurement_split_loss,
    moi_loss,
    noise2self_loss,
    noisier,
    noisier2noise_estimate,
    noisier2noise_loss,
    r2r_loss,
    recorrupt,
    rei_loss,
    row_groups,
    supervised_loss,
    sure_loss,
)
from .._losses._ssrl import byol_loss, dino_loss, ema_update, mae_loss, nt_xent_loss
from .._models._base import AbstractReconstructor
from .._models._convolutional import AbstractDenoiser
from .._models._unrolled import UnrolledNet, UnrolledShrinkage
from .._models._vector import Encoder
from .._operators import check_operator, random_mask
from ._inference import split_inference

SSRL_METHODS = ("simclr", "byol", "dino", "mae")
IMAGING_METHODS = ("noise2self", "ei", "ssdu", "noisier2noise")
# The paper's eight, the supervised reference, then the methods added since (studies derive
# each method's key from its name, not from its position here).
METHODS = SSRL_METHODS + IMAGING_METHODS + ("supervised", "moi", "sure", "r2r", "mc", "rei")


class Batch(eqx.Module):
    r"""One trial's data: $N$ measurements $y_i = A_i x_i + \sigma e_i$ and back-projections.

    `op` is one operator shared by all signals (`shared_op=True`, e.g. one Gaussian $A$ per
    trial) or a batch of operators with a leading axis $N$ (e.g. one random mask per signal).
    `x` (the ground truth) is optional and read only by the supervised reference.
    """

    op: lx.AbstractLinearOperator
    y: Float[Array, "N m"]
    u: Float[Array, "N n"]
    sigma: Float[Array, ""]
    x: Float[Array, "N n"] | None
    shared_op: bool = eqx.field(static=True)

    def __init__(self, op, y, *, sigma, x=None, shared_op: bool = True, u=None):
        if not isinstance(op, lx.AbstractLinearOperator):
            raise TypeError(f"op must be a lineax.AbstractLinearOperator, got {type(op).__name__}.")
        self.op, self.shared_op = op, bool(shared_op)
        if self.shared_op:
            check_operator(op)
            self.y = check.shape("y", y, (None, *op.out_structure().shape))
        else:
            self.y = jnp.asarray(y)
        # A real noise level also for complex measurements (MRI): sigma^2 per entry.
        real = jnp.zeros((), self.y.dtype).real.dtype
        self.sigma = jnp.asarray(check.nonnegative("sigma", sigma), real)
        if x is not None:
            x = jnp.asarray(x)
            # One signal per measurement: vectors (N, n) or images (N, H, W).
            check.shape("x", x, (self.y.shape[0],) + (None,) * max(1, x.ndim - 1))
        self.x = x
        self.u = self.map(lambda o, yi: pinv_solve(o, yi)) if u is None else u

    @property
    def size(self) -> int:
        return self.y.shape[0]

    def subset(self, index) -> Batch:
        """The signals at `index` (an integer array), e.g. a random minibatch."""
        take = lambda a: None if a is None else a[index]  # noqa: E731
        op = self.op if self.shared_op else jax.tree_util.tree_map(take, self.op)
        return Batch(
            op,
            take(self.y),
            sigma=self.sigma,
            x=take(self.x),
            shared_op=self.shared_op,
            u=take(self.u),
        )

    def map(self, fn, *args):
        """`fn(op_i, y_i, *args_i)` for every signal, batched with `vmap`."""
        op_axis = None if self.shared_op else 0
        return jax.vmap(fn, in_axes=(op_axis, 0) + (0,) * len(args))(self.op, self.y, *args)


class AbstractMethod(eqx.Module):
    """The interface of a self-supervised (or supervised) method; see the module docstring."""

    name: ClassVar[str]
    domain: ClassVar[str]

    @abc.abstractmethod
    def loss(self, batch: Batch, *, key: PRNGKeyArray) -> Float[Array, ""]: ...

    @abc.abstractmethod
    def update(self, batch: Batch, *, key: PRNGKeyArray) -> AbstractMethod: ...

    @abc.abstractmethod
    def output(
        self, op: lx.AbstractLinearOperator, y, u, *, key: PRNGKeyArray
    ) -> Float[Array, " d"]: ...


class AbstractStatelessMethod(AbstractMethod):
    """A method without non-gradient state: `update` is the identity."""

    def update(self, batch, *, key):
        return self


# --------------------------------------------------------------------------- SSRL methods


def _two_views(batch: Batch, key, bank: ViewBank):
    k1, k2 = jr.split(key)
    aug = jax.vmap(lambda k, u: bank(u, key=k))
    return aug(jr.split(k1, batch.size), batch.u), aug(jr.split(k2, batch.size), batch.u)


class SimCLR(AbstractStatelessMethod):
    """SimCLR: NT-Xent between projections of two augmented views (Chen et al. 2020)."""

    name: ClassVar[str] = "simclr"
    domain: ClassVar[str] = "ssrl"
    encoder: Encoder
    projector: Encoder
    views: ViewBank
    temperature: float = eqx.field(static=True, default=0.5)

    def loss(self, batch, *, key):
        v1, v2 = _two_views(batch, key, self.views)
        proj = jax.vmap(lambda v: self.projector(self.encoder(v)))
        return nt_xent_loss(proj(v1), proj(v2), temperature=self.temperature)

    def output(self, op, y, u, *, key):
        return self.encoder(u)


class BYOL(AbstractMethod):
    """BYOL: predict the EMA target's projection of the other view (Grill et al. 2020)."""

    name: ClassVar[str] = "byol"
    domain: ClassVar[str] = "ssrl"
    encoder: Encoder
    projector: Encoder
    predictor: Encoder
    target_encoder: Encoder
    target_projector: Encoder
    views: ViewBank
    decay: float = eqx.field(static=True, default=0.99)

    def loss(self, batch, *, key):
        v1, v2 = _two_views(batch, key, self.views)
        online = jax.vmap(lambda v: self.predictor(self.projector(self.encoder(v))))
        target = jax.vmap(lambda v: self.target_projector(self.target_encoder(v)))
        return byol_loss(online(v1), target(v2)) + byol_loss(online(v2), target(v1))

    def update(self, batch, *, key):
        new_target = ema_update(
            (self.target_encoder, self.target_projector),
            (self.encoder, self.projector),
            self.decay,
        )
        return eqx.tree_at(lambda m: (m.target_encoder, m.target_projector), self, new_target)

    def output(self, op, y, u, *, key):
        return self.encoder(u)


class DINO(AbstractMethod):
    """DINO: self-distillation from a centred, sharpened EMA teacher (Caron et al. 2021).

    Both views are "global" (there is no crop of a 1-D signal that keeps its meaning); the
    teacher sees each view and the student the other one.
    """

    name: ClassVar[str] = "dino"
    domain: ClassVar[str] = "ssrl"
    encoder: Encoder
    head: Encoder
    teacher_encoder: Encoder
    teacher_head: Encoder
    center: Float[Array, " k"]
    views: ViewBank
    decay: float = eqx.field(static=True, default=0.99)
    center_momentum: float = eqx.field(static=True, default=0.9)
    student_temperature: float = eqx.field(static=True, default=0.1)
    teacher_temperature: float = eqx.field(static=True, default=0.04)

    def _logits(self, v1, v2):
        student = jax.vmap(lambda v: self.head(self.encoder(v)))
        teacher = jax.vmap(lambda v: self.teacher_head(self.teacher_encoder(v)))
        return student(v1), student(v2), teacher(v1), teacher(v2)

    def loss(self, batch, *, key):
        s1, s2, t1, t2 = self._logits(*_two_views(batch, key, self.views))
        kw = dict(
            student_temperature=self.student_temperature,
            teacher_temperature=self.teacher_temperature,
        )
        return 0.5 * (dino_loss(s1, t2, self.center, **kw) + dino_loss(s2, t1, self.center, **kw))

    def update(self, batch, *, key):
        # The same views as the loss at this step (the training loop passes the same key).
        _, _, t1, t2 = self._logits(*_two_views(batch, key, self.views))
        batch_center = jnp.concatenate([t1, t2]).mean(0)
        center = self.center_momentum * self.center + (1 - self.center_momentum) * batch_center
        teacher = ema_update(
            (self.teacher_encoder, self.teacher_head), (self.encoder, self.head), self.decay
        )
        return eqx.tree_at(
            lambda m: (m.teacher_encoder, m.teacher_head, m.center),
            self,
            (*teacher, jax.lax.stop_gradient(center)),
        )

    def output(self, op, y, u, *, key):
        return self.encoder(u)


class MAE(AbstractStatelessMethod):
    """MAE: hide a fraction of the entries of $u$, reconstruct them (He et al. 2022).

    The encoder sees $[m \\odot u, m]$ (values and the visibility mask, as a dense MLP has no
    tokens to drop); the decoder predicts $u$; the loss is on the hidden entries only.
    """

    name: ClassVar[str] = "mae"
    domain: ClassVar[str] = "ssrl"
    encoder: Encoder
    decoder: Encoder
    mask_ratio: float = eqx.field(static=True, default=0.5)

    def _encode(self, u, visible):
        return self.encoder(jnp.concatenate([jnp.where(visible, u, 0.0), visible.astype(u.dtype)]))

    def loss(self, batch, *, key):
        n = batch.u.shape[1]
        keys = jr.split(key, batch.size)
        visible = jax.vmap(lambda k: random_mask(n, self.mask_ratio, key=k))(keys)
        pred = jax.vmap(lambda u, v: self.decoder(self._encode(u, v)))(batch.u, visible)
        return mae_loss(pred, batch.u, ~visible)

    def output(self, op, y, u, *, key):
        return self._encode(u, jnp.ones(u.shape, bool))


# --------------------------------------------------------------------------- imaging methods


def _mean_loss(batch: Batch, key, loss):
    """Mean over the batch of `loss(op_i, y_i, key_i)`, one key per signal."""
    return jnp.mean(batch.map(loss, jr.split(key, batch.size)))


def _check_model(method) -> None:
    """`__check_init__` of every method with a network `model`: the check `make_method` uses."""
    check.reconstructor("model", method.model)


class _AbstractReconstructorMethod(AbstractStatelessMethod):
    """An imaging method whose output is its network's reconstruction `model(op, y)`."""

    model: AbstractReconstructor

    __check_init__ = _check_model

    def output(self, op, y, u, *, key):
        return self.model(op, y)


class MeasurementConsistency(_AbstractReconstructorMethod):
    r"""Measurement consistency alone, $\frac1m\|A f(A, y) - y\|^2$
    (`measurement_consistency_loss`): the baseline that cannot see $\ker A$ with one fixed
    operator (any null-space content fits $y$ equally well) and that fits the noise."""

    name: ClassVar[str] = "mc"
    domain: ClassVar[str] = "imaging"

    def loss(self, batch, *, key):
        return jnp.mean(batch.map(lambda op, y: measurement_consistency_loss(self.model, op, y)))


def _split_inference(method) -> bool:
    """Whether a row-holdout method (Noise2Self, SSDU) evaluates with `split_inference`: as
    asked, or by default for networks on $A^* y$ (`AbstractDenoiser`: UNet, DnCNN), whose
    output on seen rows no loss term ties to $y$; unrolled networks (learned ISTA, MoDL) keep
    `model(op, y)`, as Yaman et al. evaluate SSDU: their gradient steps fit the seen rows."""
    if method.split_inference is None:
        return isinstance(method.model, AbstractDenoiser)
    return method.split_inference


def _known(sigma):
    """A known noise level as a constant of the output (no gradient), or None."""
    return None if sigma is None else jax.lax.stop_gradient(sigma)


class Noise2Self(AbstractStatelessMethod):
    """Noise2Self: J-invariant prediction of held-out measurement rows (`noise2self_loss`).

    `output` is Batson & Royer's J-invariant reconstruction (`split_inference` over a fresh
    partition into `num_groups` groups): the loss trains the model's prediction of the rows it
    does not see, never its output on rows it sees, so `model(op, y)` on the full measurement
    is a function training never shaped (a UNet on $A^\\top y$ fell below $y$ itself on
    denoising). `split_inference`: `None` (default) uses it for networks on $A^* y$
    (`AbstractDenoiser`) and `model(op, y)` for the others (unrolled networks, whose gradient
    steps tie the seen rows to $y$); `True` or `False` forces either. `sigma`: the known level
    of Gaussian noise on $y$, or `None` (not known, or other noise); given, the split inference
    weighs each measured row's held-out prediction against its own measurement
    (`split_inference(..., sigma=)`); it receives no gradient.
    """

    name: ClassVar[str] = "noise2self"
    domain: ClassVar[str] = "imaging"
    model: AbstractReconstructor

    __check_init__ = _check_model
    num_groups: int = eqx.field(static=True, default=4)
    split_inference: bool | None = eqx.field(static=True, default=None)
    sigma: Float[Array, ""] | None = None

    def loss(self, batch, *, key):
        def f(op, y, k):
            return noise2self_loss(self.model, op, y, key=k, num_groups=self.num_groups)

        return _mean_loss(batch, key, f)

    def output(self, op, y, u, *, key):
        if not _split_inference(self):
            return self.model(op, y)
        groups = row_groups(op.out_structure().shape, self.num_groups, key=key)
        return split_inference(self.model, op, y, groups, sigma=_known(self.sigma))


class EI(_AbstractReconstructorMethod):
    """Equivariant Imaging: consistency + equivariance to a transform group (`ei_loss`).

    `transform(x, *, key)` draws one group element and applies it: cyclic shifts
    (`random_shift`, the exact symmetry of i.i.d. sparse signals) by default; for images, the
    groups `random_rot90`, `random_flip`, `random_circular_shift`, `random_small_rotation`,
    or `lambda x, *, key: random_image_augmentation(x, key=key, min_crop=1.0)` (rotations and
    shifts).

    `noise`: the measurements' noise model, with which the transformed reconstruction is
    measured again (`ei_loss`); `None` (default): Gaussian of the batch's level `sigma`. Give
    it for other noise (e.g. `PoissonNoise`): with none, on denoising the identity is a
    minimiser and EI returns $y$. It receives no gradient.
    """

    name: ClassVar[str] = "ei"
    domain: ClassVar[str] = "imaging"
    noise: AbstractNoise | None = None
    weight: float = eqx.field(static=True, default=1.0)
    transform: Callable = eqx.field(static=True, default=random_shift)

    def loss(self, batch, *, key):
        if self.noise is None:
            sigma, noise = batch.sigma, None
        else:
            sigma, noise = 0.0, jax.lax.stop_gradient(self.noise)  # known, not a parameter

        def f(op, y, k):
            return ei_loss(
                self.model,
                op,
                y,
                self.transform,
                key=k,
                sigma=sigma,
                weight=self.weight,
                noise=noise,
            )

        return _mean_loss(batch, key, f)


class RobustEI(_AbstractReconstructorMethod):
    """Robust Equivariant Imaging (Chen, Tachella & Davies 2022): EI with its consistency term
    replaced by an unbiased estimate of the measurement-domain error (`rei_loss`): SURE for
    Gaussian noise (real or complex), PURE (`pure_loss`) for Poisson noise.

    `noise`: the measurements' noise model, known (`GaussianNoise` or `PoissonNoise`); it
    receives no gradient. `weight`, `transform` as in `EI`; `eps` the finite-difference step
    of the risk estimate (`None`: `sure_loss`'s or `pure_loss`'s default). The network is
    trained on $y$ itself, so `output` is `model(op, y)`.
    """

    name: ClassVar[str] = "rei"
    domain: ClassVar[str] = "imaging"
    noise: AbstractNoise
    weight: float = eqx.field(static=True, default=1.0)
    transform: Callable = eqx.field(static=True, default=random_shift)
    eps: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):  # the model is checked by the parent's
        if not isinstance(self.noise, GaussianNoise | PoissonNoise):
            raise TypeError(
                "RobustEI needs a known noise model, GaussianNoise or PoissonNoise, got "
                f"{self.noise!r}."
            )

    def loss(self, batch, *, key):
        def f(op, y, k):
            return rei_loss(
                self.model,
                op,
                y,
                self.transform,
                key=k,
                noise=self.noise,
                weight=self.weight,
                eps=self.eps,
            )

        return _mean_loss(batch, key, f)


class SSDU(AbstractStatelessMethod):
    """SSDU: reconstruct from 60% of the rows, score the other 40% (Yaman et al. 2020).

    `output` averages `draws` splits of the same held-out fraction that together cover every
    row (`cyclic_holdouts`, each row held out twice for the defaults) with `split_inference`:
    each row's prediction comes from the splits that hid it, as in training. Yaman et al.
    evaluate on the full measurement, which suits their unrolled network (its data consistency
    ties the seen rows to $y$) but not a network on $A^\\top y$, whose output on seen rows the
    loss never scores. `split_inference` as in `Noise2Self` (default: split for networks on
    $A^* y$, `model(op, y)` for unrolled ones). `sigma` as in `Noise2Self`.
    """

    name: ClassVar[str] = "ssdu"
    domain: ClassVar[str] = "imaging"
    model: AbstractReconstructor

    __check_init__ = _check_model
    holdout: float = eqx.field(static=True, default=0.4)
    draws: int = eqx.field(static=True, default=5)
    split_inference: bool | None = eqx.field(static=True, default=None)
    sigma: Float[Array, ""] | None = None

    def loss(self, batch, *, key):
        def f(op, y, k):
            return measurement_split_loss(self.model, op, y, key=k, holdout=self.holdout)

        return _mean_loss(batch, key, f)

    def output(self, op, y, u, *, key):
        if not _split_inference(self):
            return self.model(op, y)
        shape = op.out_structure().shape
        held_out = cyclic_holdouts(shape, self.holdout, self.draws, key=key)
        return split_inference(self.model, op, y, held_out, sigma=_known(self.sigma))


class MOI(_AbstractReconstructorMethod):
    """Multi-operator imaging: consistency + being a fixed point through another signal's operator.

    Needs a `Batch` with one operator per signal (`shared_op=False`, e.g. a random mask per
    image): for signal $i$ the other operator is that of signal $j \ne i$, drawn uniformly
    (`moi_loss`). With one shared operator the loss would be measurement consistency alone.
    """

    name: ClassVar[str] = "moi"
    domain: ClassVar[str] = "imaging"
    weight: float = eqx.field(static=True, default=1.0)

    def loss(self, batch, *, key):
        if batch.shared_op or batch.size < 2:
            raise ValueError(
                "MOI needs a Batch of at least 2 signals with one operator each "
                f"(shared_op=False), got shared_op={batch.shared_op} and {batch.size} signals."
            )
        n = batch.size
        other = (jnp.arange(n) + jr.randint(key, (n,), 1, n)) % n
        other_ops = jax.tree_util.tree_map(lambda a: a[other], batch.op)
        loss = lambda op, y, op2: moi_loss(self.model, op, y, op2, weight=self.weight)  # noqa: E731
        return jnp.mean(batch.map(loss, other_ops))


class Noisier2Noise(AbstractStatelessMethod):
    r"""Noisier2Noise: map $z = y + \alpha\sigma\varepsilon$ to $y$, correct at test time.

    `sigma` is the (known) noise level of the measurements, a field because both training and
    the test-time correction need it; it receives no gradient.

    `output` applies the correction (`noisier2noise_estimate`) to `draws` fresh noisier copies
    of the test measurement and averages them (the network was trained on $z$, not $y$).
    """

    name: ClassVar[str] = "noisier2noise"
    domain: ClassVar[str] = "imaging"
    model: AbstractReconstructor

    __check_init__ = _check_model
    sigma: Float[Array, ""]
    alpha: float = eqx.field(static=True, default=1.0)
    draws: int = eqx.field(static=True, default=4)

    def loss(self, batch, *, key):
        sigma = jax.lax.stop_gradient(self.sigma)  # known noise level, not a parameter

        def f(op, y, k):
            return noisier2noise_loss(self.model, op, y, key=k, sigma=sigma, alpha=self.alpha)

        return _mean_loss(batch, key, f)

    def output(self, op, y, u, *, key):
        def one(k):
            z = noisier(y, key=k, sigma=self.sigma, alpha=self.alpha)
            return noisier2noise_estimate(
                self.model, op, z, alpha=self.alpha, sigma=jax.lax.stop_gradient(self.sigma)
            )

        return jnp.mean(jax.vmap(one)(jr.split(key, self.draws)), axis=0)


class SURE(AbstractStatelessMethod):
    r"""SURE: Stein's unbiased estimate of the measurement-domain error (`sure_loss`).

    `sigma` is the (known) Gaussian noise level of the measurements, a field like
    Noisier2Noise's; it receives no gradient. `eps` is the finite-difference step of the
    Monte-Carlo divergence (`None`: $10^{-2}\sigma$). The network is trained on $y$ itself,
    so `output` is `model(op, y)`.
    """

    name: ClassVar[str] = "sure"
    domain: ClassVar[str] = "imaging"
    model: AbstractReconstructor

    __check_init__ = _check_model
    sigma: Float[Array, ""]
    eps: float | None = eqx.field(static=True, default=None)

    def loss(self, batch, *, key):
        sigma = jax.lax.stop_gradient(self.sigma)  # known noise level, not a parameter

        def f(op, y, k):
            return sure_loss(self.model, op, y, key=k, sigma=sigma, eps=self.eps)

        return _mean_loss(batch, key, f)

    def output(self, op, y, u, *, key):
        return self.model(op, y)


class R2R(AbstractStatelessMethod):
    r"""Recorrupted-to-Recorrupted: map $y + \alpha z$ to $y - z/\alpha$ (`r2r_loss`).

    `sigma` is the (known) noise level of the measurements (no gradient). The network is
    trained on inputs of noise $\sigma\sqrt{1 + \alpha^2}$, not on $y$, so `output` feeds
    it `draws` recorrupted copies $y + \alpha z_k$ and averages the reconstructions (Pang et
    al.'s test-time averaging; it estimates $E[f(A, y_1) \mid y]$, which equals $f(A, y)$ for a
    linear $f$ and removes the extra noise's variance otherwise).
    """

    name: ClassVar[str] = "r2r"
    domain: ClassVar[str] = "imaging"
    model: AbstractReconstructor

    __check_init__ = _check_model
    sigma: Float[Array, ""]
    alpha: float = eqx.field(static=True, default=0.5)
    draws: int = eqx.field(static=True, default=4)

    def loss(self, batch, *, key):
        sigma = jax.lax.stop_gradient(self.sigma)  # known noise level, not a parameter

        def f(op, y, k):
            return r2r_loss(self.model, op, y, key=k, sigma=sigma, alpha=self.alpha)

        return _mean_loss(batch, key, f)

    def output(self, op, y, u, *, key):
        def one(k):
            y1, _ = recorrupt(y, key=k, sigma=self.sigma, alpha=self.alpha)
            return self.model(op, y1)

        return jnp.mean(jax.vmap(one)(jr.split(key, self.draws)), axis=0)


class Supervised(_AbstractReconstructorMethod):
    """The supervised reference: MSE against the ground truth (needs `batch.x`)."""

    name: ClassVar[str] = "supervised"
    domain: ClassVar[str] = "imaging"

    def loss(self, batch, *, key):
        if batch.x is None:
            raise ValueError("Supervised needs the ground truth: build the Batch with x=...")
        return jnp.mean(batch.map(lambda op, y, x: supervised_loss(self.model, op, y, x), batch.x))


# --------------------------------------------------------------------------- construction


# The networks `make_method` builds by name, each named after its class.
RECONSTRUCTORS = ("unrolled_shrinkage", "unrolled_net")


def make_method(
    name: str,
    n: int,
    *,
    key: PRNGKeyArray,
    step=1.0,
    sigma=0.0,
    width: int = 128,
    dim: int = 64,
    num_iters: int = 5,
    angle=0.1,
    aug_noise=0.1,
    num_rotations: int = 16,
    reconstructor: str | AbstractReconstructor = "unrolled_shrinkage",
    views: ViewBank | None = None,
    ei_transform: Callable | None = None,
    noise: AbstractNoise | None = None,
    ei_weight=1.0,
) -> AbstractMethod:
    """A freshly initialised method.

    **Arguments:** `name` (one of `METHODS`), `n` (signal length), `key`, `step` (initial
    Landweber step of the unrolled reconstructor, e.g. `1/||A||^2`), `sigma` (the known noise
    level, used by Noisier2Noise, SURE and R2R, and by the split inference of Noise2Self and
    SSDU when the noise is Gaussian), `width` (hidden width),
    `dim` (representation size of the SSRL encoders), `num_iters` (unrolled iterations), and
    the SSRL views: a `ViewBank` of `num_rotations` rotations of RMS angle `angle` plus noise
    `aug_noise`, or any `views` bank (e.g. `ViewBank.from_transforms` of image
    augmentations); `ei_transform(x, *, key)`: EI's (and robust EI's) transform group
    (default: cyclic shifts); `ei_weight`: the weight of their equivariance term (default 1;
    the EI papers use 1 for inpainting, 10 for compressed sensing, 100 for CT);
    `noise`: the noise model EI measures its transformed reconstructions with (default:
    Gaussian of the batch's `sigma`; e.g. `PoissonNoise(gain)` for photon counts), and
    robust EI's risk estimate (default: `GaussianNoise(sigma)`; SURE for Gaussian, PURE for
    Poisson noise).
    `reconstructor`: the imaging methods' network, by name (one of `RECONSTRUCTORS`):
    `"unrolled_shrinkage"` (`UnrolledShrinkage`, learned ISTA) or `"unrolled_net"`
    (`UnrolledNet`, Landweber steps with a learned MLP denoiser); or any `AbstractReconstructor`
    instance (e.g. a `UNet`, `DnCNN` or `UnrolledProximalGradient` on images, or the user's own
    network), trained as given; `n`, `step`, `width` and `num_iters` then do not shape it.
    Equal keys give equal encoders, so methods start from the same weights where they share them.
    """
    check.one_of("name", name, METHODS)
    n = check.positive_int("n", n)
    k = jr.split(check.prng_key("key", key), 4)
    if name not in SSRL_METHODS:
        if not isinstance(reconstructor, str):
            model = check.reconstructor("reconstructor", reconstructor)
        elif check.one_of("reconstructor", reconstructor, RECONSTRUCTORS) == "unrolled_shrinkage":
            model = UnrolledShrinkage(n, num_iters=num_iters, step=step)
        else:
            model = UnrolledNet(n, num_iters=num_iters, step=step, width=width, key=k[0])
        cls = {
            "noise2self": Noise2Self,
            "ei": EI,
            "ssdu": SSDU,
            "supervised": Supervised,
            "moi": MOI,
            "mc": MeasurementConsistency,
        }
        if name == "noisier2noise":
            return Noisier2Noise(model=model, sigma=jnp.asarray(check.nonnegative("sigma", sigma)))
        if name in ("sure", "r2r"):
            cls_sigma = SURE if name == "sure" else R2R
            return cls_sigma(model=model, sigma=jnp.asarray(check.nonnegative("sigma", sigma)))
        if name in ("noise2self", "ssdu"):
            # Their split inference weighs each row against its measurement for Gaussian
            # noise of known level; not for other noise models (e.g. Poisson).
            gaussian = noise is None or isinstance(noise, GaussianNoise)
            known = jnp.asarray(check.nonnegative("sigma", sigma)) if gaussian else None
            return cls[name](model=model, sigma=known)
        if name in ("ei", "rei"):
            if ei_transform is not None and not callable(ei_transform):
                raise TypeError(
                    f"ei_transform must be callable (key, x) -> x, got {ei_transform!r}."
                )
            if noise is not None and not isinstance(noise, AbstractNoise):
                raise TypeError(f"noise must be a bridge_jax noise model or None, got {noise!r}.")
            check.nonnegative("ei_weight", ei_weight)
            transform = random_shift if ei_transform is None else ei_transform
            weight = float(ei_weight)
            if name == "ei":
                return EI(model=model, noise=noise, transform=transform, weight=weight)
            if noise is None:
                noise = GaussianNoise(check.nonnegative("sigma", sigma))
            return RobustEI(model=model, noise=noise, transform=transform, weight=weight)
        return cls[name](model=model)
    enc = Encoder(2 * n if name == "mae" else n, dim, width=width, key=k[0])
    proj = Encoder(dim, dim, width=width, key=k[1])
    if views is None:
        views = ViewBank(n, key=k[3], num_rotations=num_rotations, angle=angle, sigma=aug_noise)
    elif not isinstance(views, ViewBank) or views.rotations.shape[1:] != (n, n):
        raise ValueError(f"views must be a ViewBank of (K, {n}, {n}) transforms.")
    if name == "simclr":
        return SimCLR(encoder=enc, projector=proj, views=views)
    if name == "byol":
        pred = Encoder(dim, dim, width=width, key=k[2])
        return BYOL(enc, proj, pred, enc, proj, views)
    if name == "dino":
        return DINO(enc, proj, enc, proj, jnp.zeros(dim), views)
    return MAE(encoder=enc, decoder=Encoder(dim, n, width=width, key=k[1]))
