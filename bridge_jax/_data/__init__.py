"""Where signals come from and how they are measured: bundled data, synthetic signals, sources,
noise models and `Problem`."""
