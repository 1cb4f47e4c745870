"""Augmentations and transform groups: SSRL views of vectors, image transforms, learnable
augmentations."""
