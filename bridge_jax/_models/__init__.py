"""Learned reconstructors (`AbstractReconstructor`): vector networks, unrolled networks,
convolutional networks for images."""
