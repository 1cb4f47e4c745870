"""The study's constants (initialisations, data, fields) and its configuration."""

from __future__ import annotations

import dataclasses
import math

from bridge_jax.studies._config import (
    Recorded,
    number,
    positive_int,
    seed_value,
    setting,
    tuple_of,
)

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

    n: int = setting(64, positive_int)
    s: int = setting(8, positive_int)
    ratios: tuple[float, ...] = setting(
        (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
        tuple_of(number(0, low_open=True), nonempty=True),
        quick=(2.0, 6.0),
    )
    noise_levels: tuple[float, ...] = setting(
        (0.0, 0.001, 0.01, 0.1), tuple_of(number(0), nonempty=True), quick=(0.0, 0.01)
    )
    data: tuple[str, ...] = setting(DATA, tuple_of(None, allowed=DATA))
    fields: tuple[str, ...] = setting(FIELDS, tuple_of(None, allowed=FIELDS))
    trials: int = setting(100, positive_int, quick=6)
    seed: int = setting(42, seed_value)
    num_steps: int = setting(1000, positive_int, quick=100)
    stop_tol: float = setting(1e-7, number(0))
    step_size: float = setting(0.6, number(0, low_open=True))
    power_iters: int = setting(100, positive_int)
    k: int = setting(10, positive_int)
    angle: float = setting(0.1, number(0))
    aug_noise: float = setting(0.1, number(0))
    train_signals: int = setting(500, positive_int, quick=50)
    threshold: float = setting(1e-2, number(0, low_open=True))

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
