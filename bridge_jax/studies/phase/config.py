"""The study's constants (initialisations, data, fields) and its configuration."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from bridge_jax.studies._config import Recorded, each, number, positive_int, seed_value, tuple_of

FORMAT = "bridge_jax.phase/1"
UNIT_FORMAT = "bridge_jax.phase-unit/1"
BEGIN, END = "<!-- phase:begin -->", "<!-- phase:end -->"
INITS = {
    "spectral": "leading eigenvector of (1/m) sum y_i a_i a_i^*, scaled to sqrt(mean y)",
    "random": "Gaussian direction scaled to sqrt(mean y)",
    "zero": "x0 = 0 (a stationary point of the amplitude loss)",
    "ssrl_oracle": "mean of K views of the clean x [uses ground truth]",
    "ssrl_spectral": "mean of K views of the spectral estimate (realisable)",
    "ssrl_subspace": "spectral estimate projected onto the leading n/4-dim eigenspace of "
    "training views (realisable)",
    "blur_spectral": "control: the spectral estimate blurred (Gaussian, 1 px, 8x8 grid), "
    "rescaled to sqrt(mean y)",
}
DATA = ("sparse", "digits")
FIELDS = ("real", "complex")


@dataclasses.dataclass(frozen=True)
class PhaseConfig(Recorded):
    """The phase-retrieval study's setting; see the module docstring for every definition."""

    n: int = 64
    s: int = 8
    ratios: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
    noise_levels: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
    data: tuple[str, ...] = DATA
    fields: tuple[str, ...] = FIELDS
    trials: int = 100
    seed: int = 42
    num_steps: int = 1000
    stop_tol: float = 1e-7
    step_size: float = 0.6
    power_iters: int = 100
    k: int = 10
    angle: float = 0.1
    aug_noise: float = 0.1
    train_signals: int = 500
    threshold: float = 1e-2

    QUICK: ClassVar[dict] = dict(
        ratios=(2.0, 6.0), noise_levels=(0.0, 0.01), trials=6, num_steps=100, train_signals=50
    )

    RULES: ClassVar[dict] = {
        **each("n s trials num_steps power_iters k train_signals", positive_int),
        "seed": seed_value,
        "ratios": tuple_of(number(0, low_open=True), nonempty=True),
        "noise_levels": tuple_of(number(0), nonempty=True),
        "data": tuple_of(None, allowed=DATA),
        "fields": tuple_of(None, allowed=FIELDS),
        **each("step_size threshold", number(0, low_open=True)),
        **each("angle aug_noise stop_tol", number(0)),
    }

    def relations(self):
        if math.isqrt(self.n) ** 2 != self.n:
            yield f"n must be a square (signals on a side x side grid), got {self.n}."
        if "digits" in self.data and self.n != 64:
            yield f"digits are 8x8 images: n must be 64, got {self.n}."
        if self.s > self.n:
            yield f"s must be <= n, got s={self.s}, n={self.n}."
        if any(round(r * self.n) < 1 for r in self.ratios):
            yield f"every ratio must give m = round(ratio n) >= 1, got {self.ratios}."
        if "digits" in self.data and self.train_signals > 1797 - self.trials:
            yield (
                f"digits: train_signals + trials must be <= 1797, got {self.train_signals} + "
                f"{self.trials}."
            )
