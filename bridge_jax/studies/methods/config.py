"""The study's constants and problems (its configuration is `MethodsConfig`)."""

from __future__ import annotations

import bridge_jax as bj
from bridge_jax.studies._config import MethodsConfig

NAME = "methods"
STREAM = 21
FORMAT = "bridge_jax.methods/1"
UNIT_FORMAT = "bridge_jax.methods-unit/1"
BEGIN, END = "<!-- eight-methods:begin -->", "<!-- eight-methods:end -->"
EIGHT = bj.SSRL_METHODS + bj.IMAGING_METHODS
AXES = ("invariance", "masking", "equivariance", "physics")
PAIR = ("dino", "noise2self")
BASELINES = ("landweber", "pinv", "fista", "lmmse")
# pinv is not drawn: it coincides with Landweber (which converges to it) on these problems.
BASELINE_STYLES = {"landweber": ":", "fista": "-.", "lmmse": (0, (5, 1, 1, 1, 1, 1))}


def settings(c: MethodsConfig) -> list[tuple[str, str, float]]:
    """(label, problem kind, value) for every problem of the study."""
    cs = [(f"cs_sigma{v:g}", "cs", v) for v in c.cs_noise]
    return cs + [(f"inpaint_rho{v:g}", "inpaint", v) for v in c.inpaint_ratios]
