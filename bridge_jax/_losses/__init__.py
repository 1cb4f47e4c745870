"""Losses: the self-supervised imaging losses on one measurement and the SSRL losses on a batch of
embeddings."""
