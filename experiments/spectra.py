"""The paper's spectral and subspace statistics (Figures 1 and 4) at image scale.

Question: on MNIST 28 x 28 and 64 x 64 image patches with image augmentations, do the
statistics relating C_SSRL to A^T A (spectral correlation, subspace alignment, Grassmann
distance, measured energy, effective rank) differ from their nulls for MRI, CT, super-
resolution, blur, inpainting and compressed sensing, and for which operators?

Runs `bridge_jax/studies/spectra.py` (its docstring states every definition), the same code as
`bridge-jax spectra`; writes DIR/spectra.json, DIR/figures/spectra.png and a section of
DIR/report.md. Matrix-free: no n x n matrix at n = 4096.
"""

from bridge_jax.studies import spectra as study

if __name__ == "__main__":
    raise SystemExit(study.main(prog="python experiments/spectra.py"))
