"""Benchmarks of bridge_jax against NumPy, PyTorch (optional) and the machine's GEMM peak.

Run with `python -m benchmarks [--out DIR] [--quick]` or `bridge-jax bench`; see
`benchmarks/RESULTS.md` for the measured table and `benchmarks/run.py` for the workloads.
"""
