"""Running things: training loops (`fit`, `fit_until_converged`) and resumable sweeps."""
