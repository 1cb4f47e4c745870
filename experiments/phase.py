"""Phase retrieval (beyond the paper): how often does amplitude flow recover x from
y = |Ax|^2, against the number of measurements m/n and the noise, from each initialisation?

Question: the paper's linear analysis says an SSRL-informed start helps Landweber only early
(it converges anyway). Phase retrieval is non-convex: the start decides whether gradient
descent finds x at all. Does an SSRL-informed start change the success rate, and does it
need the ground truth to do so?

Runs `bridge_jax/studies/phase/` (its docstring states every definition), the same code as
`bridge-jax phase`; writes DIR/phase.json, DIR/figures/phase_*.png and a section of
DIR/report.md.
"""

from bridge_jax.studies import phase as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/phase.py"))
