"""Measuring what was computed: spectra, signal models and identifiability, the taxonomy, image
metrics, summaries over trials."""
