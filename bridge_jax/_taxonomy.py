"""The four-axis taxonomy of self-supervised methods: scores, similarities, cross-domain pairs."""

from __future__ import annotations

import json
from importlib import resources
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from . import _validate as check


class Taxonomy(NamedTuple):
    """Methods (in file order), their domains, the axes, the score matrix and the reasons."""

    methods: tuple[str, ...]
    domains: tuple[str, ...]
    axes: tuple[str, ...]
    scores: np.ndarray  # (methods, axes)
    reasons: dict[str, dict[str, str]]


def load_taxonomy(path: str | None = None) -> Taxonomy:
    """Load the hand-scored taxonomy (default: the file shipped with bridge_jax)."""
    if path is None:
        text = resources.files("bridge_jax").joinpath("taxonomy.json").read_text()
    else:
        with open(path) as f:
            text = f.read()
    data = json.loads(text)
    axes = tuple(data["axes"])
    methods, domains, rows, reasons = [], [], [], {}
    for name, entry in data["methods"].items():
        missing = [a for a in axes if a not in entry]
        if missing:
            raise ValueError(f"taxonomy entry {name!r} lacks the axes {missing}.")
        methods.append(name)
        domains.append(entry["domain"])
        rows.append([float(entry[a][0]) for a in axes])
        reasons[name] = {a: entry[a][1] for a in axes}
    return Taxonomy(tuple(methods), tuple(domains), axes, np.asarray(rows), reasons)


def cosine_similarity_matrix(vectors: Float[Array, "k d"]) -> Float[Array, "k k"]:
    r"""$S_{ij} = \langle v_i, v_j\rangle / (\|v_i\|\|v_j\|)$; a zero vector gets similarity 0."""
    v = check.shape("vectors", vectors, (None, None))
    norms = jnp.linalg.norm(v, axis=1)
    unit = v / jnp.where(norms > 0, norms, 1.0)[:, None]
    return unit @ unit.T


def cross_domain_pairs(similarity, methods, domains) -> list[tuple[str, str, float]]:
    """All (method of domain A, method of domain B, similarity) pairs, most similar first."""
    sim = np.asarray(similarity)
    pairs = [
        (methods[i], methods[j], float(sim[i, j]))
        for i in range(len(methods))
        for j in range(len(methods))
        if i < j and domains[i] != domains[j]
    ]
    return sorted(pairs, key=lambda p: -p[2])
