"""The studies' configurations: one frozen dataclass per study, a rule per field, one
`validate` (see `Recorded`)."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import bridge_jax as bj
from bridge_jax import store

DIGITS = 1797  # images in scikit-learn's digits data set


# --------------------------------------------------------------------------- validation
# One validation path for every study configuration: each field has a rule (a function
# value -> problem or None), declared with it by `setting`; checks that relate fields are yielded by
# `relations()`, and `Recorded.validate()` runs both, before anything is traced. A rule's
# problem reads after the field's name: "trials must be a positive integer, got 0."


def positive_int(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"must be a positive integer, got {value!r}"
    return None


def nonnegative_int(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"must be an integer >= 0, got {value!r}"
    return None


def seed_value(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        return f"must be an integer in [0, 2^63), got {value!r}"
    return None


def number(low=None, high=None, *, low_open=False, high_open=False):
    """A finite real number in the interval (`None`: unbounded on that side)."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"

    def rule(value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, got {value!r}"
        if not math.isfinite(value):
            return f"must be finite, got {value!r}"
        below = low is not None and (value <= low if low_open else value < low)
        above = high is not None and (value >= high if high_open else value > high)
        if below or above:
            if high is None and low == 0:
                return f"must be {'> 0' if low_open else '>= 0'}, got {value!r}"
            return f"must be in {interval}, got {value!r}"
        return None

    return rule


def known_methods(value) -> str | None:
    if not isinstance(value, tuple):
        return f"must be a tuple of method names, got {value!r}"
    if not value:
        return f"must name at least one method of {', '.join(bj.METHODS)}"
    unknown = [name for name in value if name not in bj.METHODS]
    if unknown:
        return f"has unknown methods {unknown}; allowed: {', '.join(bj.METHODS)}"
    return None


def one_of(allowed):
    def rule(value) -> str | None:
        if value not in allowed:
            return f"must be one of {', '.join(allowed)}, got {value!r}"
        return None

    return rule


def tuple_of(each, *, nonempty: bool = False, allowed=None):
    """A tuple whose entries pass `each` (or, with `allowed`, a subset of `allowed`)."""

    def rule(value) -> str | None:
        if not isinstance(value, tuple):
            return f"must be a tuple, got {value!r}"
        if nonempty and not value:
            return "must not be empty"
        if len(set(value)) != len(value):
            return f"must not repeat an entry, got {value}"
        if allowed is not None:
            if not value or any(v not in allowed for v in value):
                return f"must be a non-empty subset of {allowed}, got {value}"
            return None
        for v in value:
            problem = each(v)
            if problem:
                return f"entries {problem}"
        return None

    return rule


DATA = ("sparse", "digits")
OPERATORS = ("gaussian", "inpainting", "blur")


def setting(default, rule, *, quick=dataclasses.MISSING):
    """A configuration field, declared once: its `default`, its validation `rule` (value ->
    problem or None) and, where it differs from the default, its value in the `quick` setting."""
    metadata = {"rule": rule}
    if quick is not dataclasses.MISSING:
        metadata["quick"] = quick
    return dataclasses.field(default=default, metadata=metadata)


class Recorded:
    """A frozen dataclass configuration that is saved with its results: `as_dict` (JSON-ready),
    `digest` (a short hash identifying it, for resuming saved results) and `validate` (every
    field's rule, then `relations()`; raises `ValueError` naming the field).

    Each field is declared once with `setting(default, rule, quick=...)`; `QUICK` holds only
    the quick values of inherited fields that a subclass changes."""

    QUICK: ClassVar[dict] = {}

    @classmethod
    def rules(cls) -> dict:
        """Each field's validation rule (None for a field declared without `setting`)."""
        return {f.name: f.metadata.get("rule") for f in dataclasses.fields(cls)}

    @classmethod
    def quick(cls, **overrides):
        """The tiny setting (for tests and smoke runs): each field's `quick` value, then `QUICK`
        of each class from the base down, then `overrides`."""
        values = {
            f.name: f.metadata["quick"] for f in dataclasses.fields(cls) if "quick" in f.metadata
        }
        for klass in reversed(cls.__mro__):
            values.update(vars(klass).get("QUICK", {}))
        return cls(**{**values, **overrides})

    def relations(self):
        """Problems among several fields, as messages (none by default)."""
        return iter(())

    def validate(self):
        for field in dataclasses.fields(self):
            rule = field.metadata.get("rule")
            if rule is None:
                raise TypeError(f"{type(self).__name__}.{field.name} has no validation rule.")
            value = getattr(self, field.name)
            problem = rule(value)
            if problem:
                raise ValueError(f"{field.name} {problem}.")
        for problem in self.relations():
            raise ValueError(problem)
        return self

    def as_dict(self) -> dict:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    def digest(self) -> str:
        # The configuration part of `store.digest` (the same canonical JSON), without the code.
        return store.digest(self, code=False)


@dataclasses.dataclass(frozen=True)
class Config(Recorded):
    """The paper's setting (section 3.1) plus the choices the paper leaves open.

    Paper: N = 500 sparse signals in R^64 with s = 8, A in R^{32x64} Gaussian with 1/sqrt(m)
    scaling, K = 10 augmentations per signal, seed 42, 20 trials. Our choices: N(0,1)
    amplitudes; augmentations are rotations with RMS angle 0.1 rad plus N(0, 0.1^2) noise;
    Landweber runs 100 steps of 1/||A||^2; the transfer study uses 7 noise levels from 0.01 to 1
    and the convergence study sigma = 0.1.

    Beyond the paper: `data="digits"` replaces the sparse signals by the 8x8 digits
    of scikit-learn (per trial a random N of them as test signals, N others as the training
    set) and the rotations by real image augmentations T_k (resized crop of at least
    `image_crop` of each side, rotation by U(-image_angle, image_angle) degrees, shift by
    U(-image_shift, image_shift) pixels; plus the same noise). `operator` picks A:
    "gaussian" (the paper's), "inpainting" (observe m random pixels) or "blur" (Gaussian blur
    of width `blur_sigma` pixels, then observe m random pixels); the image operators need a
    square image, n = side^2.
    """

    signals: int = setting(500, positive_int, quick=40)
    n: int = setting(64, positive_int, quick=16)
    m: int = setting(32, positive_int, quick=8)
    s: int = setting(8, positive_int, quick=3)
    k: int = setting(10, positive_int, quick=4)
    trials: int = setting(20, positive_int, quick=3)
    seed: int = setting(42, seed_value)
    angle: float = setting(0.1, number(0))
    aug_noise: float = setting(0.1, number(0))
    num_steps: int = setting(100, positive_int, quick=20)
    convergence_sigma: float = setting(0.1, number(0))
    noise_levels: tuple[float, ...] = setting(
        (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0), tuple_of(number(0)), quick=(0.01, 0.1, 1.0)
    )
    mask_ratios: tuple[float, ...] = setting(
        (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
        tuple_of(number(0, 1, high_open=True)),
        quick=(0.1, 0.5, 0.9),
    )
    null_samples: int = setting(200, positive_int, quick=20)
    data: str = setting("sparse", one_of(DATA))
    operator: str = setting("gaussian", one_of(OPERATORS))
    image_angle: float = setting(15.0, number(0))
    image_shift: float = setting(1.0, number(0))
    image_crop: float = setting(0.75, number(0, 1, low_open=True))
    blur_sigma: float = setting(1.0, number(0, low_open=True))
    DATA: ClassVar[tuple[str, ...]] = DATA
    OPERATORS: ClassVar[tuple[str, ...]] = OPERATORS

    def relations(self):
        if self.m > self.n:
            yield f"m must be <= n (an underdetermined problem), got m={self.m}, n={self.n}."
        if self.s > self.n:
            yield f"s must be <= n, got s={self.s}, n={self.n}."
        if self.m < 2:
            yield f"m must be >= 2 (spectral correlation over the top m), got {self.m}."
        if self.k < 2:
            yield f"k must be >= 2 (a covariance of views needs two), got {self.k}."
        if self.signals < 2:
            yield (
                f"signals must be >= 2 (the experiments estimate covariances and spreads over "
                f"the signals), got {self.signals}."
            )
        # Every trial keeps a key and at least one length-n result: refuse before allocating
        # what cannot fit (a billion trials filled the memory for minutes).
        need, limit = self.trials * (64 + 4 * self.n), bj.device_memory()
        if need > limit:
            yield (
                f"trials: {self.trials} trials need at least {need / 2**30:.1f} GiB (a key and "
                f"a length-{self.n} result each), more than the {limit / 2**30:.1f} GiB here; "
                "use fewer trials."
            )
        if self.data == "digits":
            if self.n != 64:
                yield f"data='digits' has n = 64 (8x8 images), got n={self.n}."
            if 2 * self.signals > DIGITS:
                yield (
                    f"data='digits' draws N test and N training images from {DIGITS}: signals "
                    f"must be <= {DIGITS // 2}, got {self.signals}."
                )
        if (self.data == "digits" or self.operator != "gaussian") and math.isqrt(
            self.n
        ) ** 2 != self.n:
            yield f"image data and operators need n = side^2, got n={self.n}."

    @property
    def variant(self) -> str:
        """Where the results go inside --out: "" for the paper's setting, else e.g. "digits"."""
        if self.data == "sparse" and self.operator == "gaussian":
            return ""
        return self.data if self.operator == "gaussian" else f"{self.data}-{self.operator}"

    @property
    def image_shape(self) -> tuple[int, int]:
        side = math.isqrt(self.n)
        return (side, side)


@dataclasses.dataclass(frozen=True)
class LearnConfig(Config):
    """The paper's setting plus the learning studies' choices.

    `learn_sigma`: measurement noise; `unroll`: the T values; `learn_iters`/`learn_lr`: Adam
    iterations and learning rate; `plain_max`: how far plain Landweber is run to find the
    equivalent number of iterations; `aug_rank`: rank of the learnable rotation generator.
    """

    learn_sigma: float = setting(0.05, number(0))
    unroll: tuple[int, ...] = setting(
        (5, 10, 20), tuple_of(positive_int, nonempty=True), quick=(2, 10)
    )
    learn_iters: int = setting(300, positive_int, quick=15)
    learn_lr: float = setting(0.02, number(0, low_open=True))
    plain_max: int = setting(3000, positive_int, quick=200)
    aug_rank: int = setting(32, positive_int, quick=8)
    aug_steps: int = setting(100, positive_int, quick=10)

    def relations(self):
        yield from super().relations()
        if 10 not in self.unroll:
            yield f"unroll must include T = 10 (the reported setting), got {self.unroll}."
        if not 2 <= self.aug_rank <= self.n:
            yield f"aug_rank must be in [2, n={self.n}], got {self.aug_rank}."


@dataclasses.dataclass(frozen=True)
class MethodsConfig(Config):
    """The paper's setting plus the choices of the eight-methods study.

    Problems: Gaussian CS (one A per trial, m x n) at each of `cs_noise`, and inpainting (a
    random mask per signal hiding `inpaint_ratios` of the entries) at noise `inpaint_sigma`.
    Training: `train_steps` Adam steps on minibatches of `batch_size` of the N training
    signals of each trial, learning rate `train_lr` for the SSRL encoders and the MLP
    reconstructor, `recon_lr` for the learned-ISTA one. Networks: hidden width `width`,
    representations of size `dim`, imaging reconstructors `reconstructor`
    ("unrolled_shrinkage": learned ISTA, or "unrolled_net": Landweber + MLP denoiser) with
    `unroll` iterations. SSRL readout: a linear probe, then `probe_steps` Landweber steps.
    Baselines: `baseline_steps` Landweber steps; FISTA for `fista_steps`.
    """

    cs_noise: tuple[float, ...] = setting(
        (0.01, 0.1, 0.5, 1.0), tuple_of(number(0, low_open=True)), quick=(0.1,)
    )
    inpaint_ratios: tuple[float, ...] = setting(
        (0.3, 0.5, 0.7), tuple_of(number(0, 1, low_open=True, high_open=True)), quick=()
    )
    inpaint_sigma: float = setting(0.1, number(0, low_open=True))
    train_steps: int = setting(300, positive_int, quick=4)
    train_lr: float = setting(1e-3, number(0, low_open=True))
    recon_lr: float = setting(1e-2, number(0, low_open=True))
    batch_size: int = setting(128, positive_int, quick=16)
    width: int = setting(128, positive_int, quick=16)
    dim: int = setting(64, positive_int, quick=8)
    unroll: int = setting(10, positive_int, quick=2)
    reconstructor: str = setting("unrolled_shrinkage", one_of(bj.RECONSTRUCTORS))
    probe_steps: int = setting(20, positive_int, quick=3)
    baseline_steps: int = setting(100, positive_int, quick=10)
    fista_steps: int = setting(300, positive_int, quick=10)
    methods: tuple[str, ...] = setting(
        bj.SSRL_METHODS + bj.IMAGING_METHODS + ("supervised",), known_methods
    )

    # Quick values of inherited fields that differ here.
    QUICK: ClassVar[dict] = dict(signals=32, trials=2)

    def relations(self):
        yield from super().relations()
        if self.signals < 2:
            yield f"signals must be >= 2 (contrastive losses), got {self.signals}."
        if self.operator != "gaussian":
            yield (
                "the methods study defines its own problems (Gaussian CS and inpainting); "
                f"operator must stay 'gaussian', got {self.operator!r}."
            )
        if not self.cs_noise and not self.inpaint_ratios:
            yield "cs_noise and inpaint_ratios are both empty: no problem to train on."


EI_KINDS = ("gaussian", "mask", "blur")
# The theorems study's signal models: one k-dim subspace (or a union), k-sparse in a basis.
SIGNAL_MODELS = ("subspace", "sparse")
SPARSE_SUPPORTS_MAX = 5000  # SparseInBasis enumerates C(n, k) supports
# MOI's first initialisation: Haar-random, or the k leading eigenvectors of the back-projected
# second moment (1/N) sum_i A_i^T y_i y_i^T A_i (measurements only; the others stay random).
MOI_INITS = ("random", "spectral")
MOI_LEARNERS = ("gradient", "varpro")


@dataclasses.dataclass(frozen=True)
class TheoremsConfig(Recorded):
    """`bridge-jax theorems`: learning a signal model from measurements alone, against the
    sensing bounds (definitions in the docstring of bridge_jax/studies/theorems/)."""

    n: int = setting(32, positive_int, quick=12)
    k: tuple[int, ...] = setting((4,), tuple_of(positive_int, nonempty=True), quick=(2,))
    models: tuple[str, ...] = setting(("subspace",), tuple_of(None, allowed=SIGNAL_MODELS))
    restarts: tuple[int, ...] = setting((4,), tuple_of(positive_int, nonempty=True), quick=(2,))
    num_subspaces: int = setting(1, positive_int)
    moi_operators: tuple[int, ...] = setting((1, 2, 4, 8), tuple_of(positive_int), quick=(2,))
    moi_m: tuple[int, ...] = setting(
        (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 28, 32),
        tuple_of(positive_int, nonempty=True),
        quick=(3, 10),
    )
    signals_per_operator: int = setting(32, positive_int, quick=8)
    moi_init: str = setting("random", one_of(MOI_INITS))
    moi_learner: str = setting("varpro", one_of(MOI_LEARNERS))
    varpro_steps: int = setting(100, positive_int)
    ei_groups: tuple[str, ...] = setting(
        ("identity", "shift", "reflection"), tuple_of(None, allowed=bj.GROUPS), quick=("shift",)
    )
    ei_kinds: tuple[str, ...] = setting(EI_KINDS, tuple_of(None, allowed=EI_KINDS), quick=("blur",))
    ei_m: tuple[int, ...] = setting(
        (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 25, 29, 31),
        tuple_of(positive_int, nonempty=True),
        quick=(3, 11),
    )
    ei_signals: int = setting(64, positive_int, quick=16)
    test_signals: int = setting(64, positive_int, quick=8)
    trials: int = setting(8, positive_int, quick=2)
    num_steps: int = setting(1500, positive_int, quick=100)
    learning_rate: float = setting(3e-2, number(0, low_open=True))
    threshold: float = setting(1e-2, number(0, low_open=True))
    views: int = setting(10, positive_int, quick=4)
    angle: float = setting(0.1, number(0))
    aug_noise: float = setting(0.1, number(0))
    seed: int = setting(42, seed_value)

    def relations(self):
        if self.n < 4:
            yield f"n must be >= 4, got {self.n}."
        if max(self.k) >= self.n:
            yield f"k must be < n={self.n}, got {self.k}."
        if "subspace" in self.models and max(self.k) >= self.n // 2:
            yield f"k must be < n/2 (a sum of Fourier bands), got k={self.k}, n={self.n}."
        if "sparse" in self.models and max(math.comb(self.n, k) for k in self.k) > (
            SPARSE_SUPPORTS_MAX
        ):
            yield (
                f"the sparse model's learner enumerates C(n, k) supports, at most "
                f"{SPARSE_SUPPORTS_MAX}: got n={self.n}, k={self.k} (try n=16, k=2)."
            )
        if self.moi_init == "spectral" and (self.models != ("subspace",) or self.num_subspaces > 1):
            yield (
                "moi_init='spectral' estimates one subspace: it needs models=('subspace',) and "
                f"num_subspaces=1, got models={self.models}, num_subspaces={self.num_subspaces}."
            )
        for name in ("moi_m", "ei_m"):
            if max(getattr(self, name)) > self.n:
                yield f"{name} must be <= n={self.n}, got {getattr(self, name)}."


# The imaging benchmark: the tasks and methods it knows (their definitions are in
# bridge_jax/studies/imaging/tasks.py).
IMAGING_TASKS = (
    "mnist_denoise",
    "mnist_poisson",
    "mnist_inpaint",
    "mnist_cs",
    "ct",
    "mri",
    "deblur",
    "sr",
)
IMAGING_METHODS = ("mc", "noise2self", "ei", "rei", "ssdu", "noisier2noise", "sure", "r2r", "moi")
# The (task, method) units the default run leaves out to fit its budget (see ImagingConfig):
# on each task, the methods no expectation of the benchmark is about.
IMAGING_DROPPED = (
    *(f"mnist_denoise/{m}" for m in ("mc", "noise2self", "ssdu", "noisier2noise")),
    *(
        f"{t}/{m}"
        for t in ("mnist_inpaint", "mnist_cs")
        for m in ("noise2self", "ssdu", "noisier2noise", "sure", "r2r")
    ),
    "ct/sure",
    "ct/r2r",
    "deblur/sure",
    "deblur/r2r",
    "deblur/moi",
)
DEFAULT_IMAGING_TASKS = ("mnist_denoise", "mnist_inpaint", "mnist_cs", "ct", "deblur")


def _unit_names(value) -> str | None:
    """A tuple of "task/method" names of the imaging benchmark."""
    if not isinstance(value, tuple):
        return f"must be a tuple of 'task/method' names, got {value!r}"
    methods = IMAGING_METHODS + ("supervised",)
    for name in value:
        task, _, method = str(name).partition("/")
        if task not in IMAGING_TASKS or method not in methods:
            return (
                f"has {name!r}, not a 'task/method' name (tasks: {', '.join(IMAGING_TASKS)}; "
                f"methods: {', '.join(methods)})"
            )
    return None


@dataclasses.dataclass(frozen=True)
class ImagingConfig(Recorded):
    """The imaging benchmark's setting; definitions in the docstring of
    bridge_jax/studies/imaging/__init__.py.

    Data: `mnist_train` / `mnist_test` MNIST digits (disjoint), `patch_size` x `patch_size`
    patches of scikit-image's 16 bundled images: `patches_per_image` training patches and
    `test_patches_per_image` test patches per image, the test patches from a band of each
    image that no training patch touches (a test patch with pixel std below `min_test_std`
    is redrawn). Noise: Gaussian
    `denoise_sigma` (MNIST denoising), Poisson of gain `poisson_gain`, Gaussian `sigma` on
    every other task. Network: a `UNet` of `scales` levels and `width` channels on the task's
    lower reference (`net_input` "pinv": $A^+ y$, Landweber for CT, y for deblurring) or on
    $A^* y$ (`net_input` "adjoint"). Training:
    each of `seeds` seeds (operator, noise, initialisation, minibatches) alone, Adam on
    minibatches of `batch_size`, learning rate warmed up over `warmup_steps` (at most half
    the cap) to
    `learning_rate` then cosine-decayed to 0 at the cap `max_steps`; validated every
    `eval_every` steps on the held-out `val_fraction` of the training measurements (the
    method's own loss), stopped after `patience` evaluations without an improvement larger
    than `min_delta` but never before `min_steps` (half the cap: a network that starts as
    the identity on a good input can first get worse on held-out data; the supervised
    deblurring reference did for its first 400 steps, and patience alone ended two of its
    three seeds there with their starting model), or at the cap. `dropped`: "task/method"
    units left out (`--all-units` runs them).

    Budget (the default run within 2 hours on the 2-core CPU). Measured: CPU milliseconds
    of one training step of one seed (minibatch 8, UNet 2 scales x width 8, single-threaded
    XLA, `resource.getrusage` over 100 steps, the machine at load ~14 from other jobs) on
    MNIST: mc 10-12, noisier2noise 8-11, ssdu 8-11, r2r 11-12, ei 17-20, moi 20, sure
    15-21, noise2self 33 (4 splits); CT (32 x 32, 20 angles): mc 20, ssdu 16, noisier2noise
    24, r2r 25, ei 40, sure 51, noise2self 57 (x1.4-2.4 the MNIST cost). One supervised
    compressed-sensing seed at the default trained its 2,000 steps with 21 evaluations in
    32 CPU s (load ~6) and was still gaining 0.01-0.03 dB per 100 steps at the end (16.15
    dB); most units are expected to reach the cap, where the cosine has brought the step to
    0. Estimate per seed at 2,000 steps (patches x1.3 the MNIST cost, CT as measured, MOI on
    CT ~4.3 mc steps as measured in an earlier run): denoising (ei, sure, r2r, supervised)
    ~120 s, inpainting (mc stops within 4 evaluations: its
    gradient is 0; ei, moi, supervised) ~95 s, compressed sensing (mc, ei, moi, supervised)
    ~110 s, CT (mc, ei, moi, noise2self, ssdu, noisier2noise, supervised) ~530 s, deblurring
    (mc, ei, noise2self, ssdu, noisier2noise, supervised) ~230 s: ~1,090 s per seed, 3,270 s
    for 3 seeds. Compilation and evaluation (the inference rules, the test PSNR at each
    evaluation): a CT unit of 2 seeds x 20 steps took 300-520 s at load ~15 (~1/7 of a
    core), so ~45-75 s unloaded, ~1,200-2,000 s for the 27 units: 75-90 min in all,
    estimated, at width 8 on $A^* y$; measured there: 2,040 s (34 min) with nothing else
    running and the compilation cache warm. At the default (width 16 on the lower reference)
    measured: 4,517 s (75 min), 7,821 CPU s, nothing else running, from an empty compilation
    cache; CT's Noise2Self unit took 1,129 s of it (the Landweber reference of each split
    operator solved in the forward pass). Dropped
    for it: Poisson denoising, MRI and super-resolution (no expectation of the benchmark is
    about them), and on each kept task the methods no expectation is about
    (`IMAGING_DROPPED`); 3 seeds, not more (4 would add ~18 min: too close to the limit for
    an estimate made on a loaded machine). Each seed's compilation
    is reused from the persistent compilation cache (the command line's default).
    Network input and width: on compressed sensing (3 seeds, the runs on
    docs/studies/imaging.md), the lower reference $A^+ y$ instead of $A^* y$ gave the
    supervised UNet +2.2 dB and EI +3.0 dB, and width 16 instead of 8 +1.1 dB (the network,
    not the training, limited width 8) at ~1.5x the training time: the default is both.
    Width 32 gave the supervised reference +1.2 dB more on compressed sensing and +0.7 dB on
    deblurring, at about 3 times the training of width 16: past the budget.
    """

    tasks: tuple[str, ...] = setting(
        DEFAULT_IMAGING_TASKS, tuple_of(None, allowed=IMAGING_TASKS), quick=("mnist_inpaint",)
    )
    methods: tuple[str, ...] = setting(
        IMAGING_METHODS + ("supervised",),
        tuple_of(None, allowed=IMAGING_METHODS + ("supervised",)),
        quick=("mc", "moi", "supervised"),
    )
    dropped: tuple[str, ...] = setting(IMAGING_DROPPED, _unit_names, quick=())
    seeds: int = setting(3, positive_int, quick=2)
    seed: int = setting(0, seed_value)
    mnist_train: int = setting(512, positive_int, quick=16)
    mnist_test: int = setting(64, positive_int, quick=4)
    patches_per_image: int = setting(16, positive_int, quick=2)
    patch_size: int = setting(32, positive_int)
    test_patches_per_image: int = setting(4, positive_int, quick=1)
    min_test_std: float = setting(0.01, number(0))
    denoise_sigma: float = setting(0.2, number(0, low_open=True))
    poisson_gain: float = setting(0.05, number(0, low_open=True))
    sigma: float = setting(0.03, number(0, low_open=True))
    scales: int = setting(2, number(1, 3))
    width: int = setting(16, positive_int, quick=4)
    net_input: str = setting("pinv", one_of(("adjoint", "pinv")))
    max_steps: int = setting(2000, positive_int, quick=6)
    eval_every: int = setting(100, positive_int, quick=2)
    patience: int = setting(4, positive_int, quick=2)
    min_delta: float = setting(0.0, number(0))
    min_steps: int = setting(1000, nonnegative_int, quick=0)
    warmup_steps: int = setting(50, positive_int, quick=1)
    val_fraction: float = setting(0.125, number(0, 0.5, low_open=True, high_open=True))
    batch_size: int = setting(8, positive_int, quick=4)
    learning_rate: float = setting(1e-3, number(0, low_open=True))

    def relations(self):
        if isinstance(self.scales, float):
            yield f"scales must be an integer in [1, 3], got {self.scales!r}."
        if isinstance(self.patch_size, int) and not 8 <= self.patch_size <= 172:
            yield (
                f"patch_size must be in [8, 172] (the smallest image has 172 pixels a side), got "
                f"{self.patch_size}."
            )
        if self.mnist_train + self.mnist_test > 5000:
            yield (
                f"mnist_train + mnist_test must be <= 5000 (the MNIST subset), got "
                f"{self.mnist_train} + {self.mnist_test}."
            )
        fit = min(self.mnist_train, 13 * self.patches_per_image)
        fit -= max(1, round(self.val_fraction * fit))
        if self.batch_size > fit:
            yield (
                f"batch_size must be <= the training images left after the validation split "
                f"({fit} of mnist_train {self.mnist_train} / 13 x patches_per_image "
                f"{13 * self.patches_per_image} at val_fraction {self.val_fraction}), got "
                f"{self.batch_size}."
            )
        if "moi" in self.methods and self.batch_size < 2:
            yield f"moi needs batch_size >= 2 (another image's operator), got {self.batch_size}."
