"""Reconstruction solvers: one module per algorithm family."""
