"""Benchmarks of bridge_jax against NumPy, PyTorch (optional) and the machine's GEMM peak.

Run from a checkout (the repository root) with `python -m benchmarks [--quick] --out DIR`; see
`benchmarks/RESULTS.md` for the measured table and `benchmarks/run.py` for the workloads;
`python -m benchmarks --gpu [--quick] --out DIR` for the same and the networks' training steps
on a GPU (`benchmarks/gpu.py`). Not part of the installed package.
"""
