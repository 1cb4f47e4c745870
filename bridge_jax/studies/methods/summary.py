"""The summary over trials and settings, and the paper's taxonomy claims on it."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import bridge_jax as bj
from bridge_jax import summarize
from bridge_jax.studies._config import MethodsConfig
from bridge_jax.studies.methods.config import AXES, BASELINES, EIGHT, PAIR, settings


def _similarity(vectors: np.ndarray) -> np.ndarray:
    return np.asarray(bj.cosine_similarity_matrix(jnp.asarray(vectors)))


def taxonomy_claims(vectors: np.ndarray, methods: list[str], domains: list[str]) -> dict:
    """The paper's three taxonomy claims, evaluated on a (methods x 4) score table."""
    sim = _similarity(vectors)
    pairs = bj.cross_domain_pairs(sim, methods, domains)
    im = vectors[:, 0] + vectors[:, 1]
    ep = vectors[:, 2] + vectors[:, 3]
    dom = np.asarray(domains)
    rank = [i for i, p in enumerate(pairs) if {p[0], p[1]} == set(PAIR)][0] + 1
    return {
        "ssrl_in_im": int(np.sum(im[dom == "ssrl"] > ep[dom == "ssrl"])),
        "imaging_in_ep": int(np.sum(ep[dom == "imaging"] > im[dom == "imaging"])),
        "top_cross_domain_pair": [pairs[0][0], pairs[0][1], pairs[0][2]],
        "dino_noise2self": float(sim[methods.index(PAIR[0]), methods.index(PAIR[1])]),
        "dino_noise2self_rank": rank,
        "cross_domain_pairs": len(pairs),
    }


def summarise(units: dict, c: MethodsConfig) -> dict:
    labels = [s[0] for s in settings(c)]
    methods_out = {}
    for name in c.methods:
        entry = {"domain": "ssrl" if name in bj.SSRL_METHODS else "imaging", "mse": {}}
        if name in bj.SSRL_METHODS:
            entry["probe_mse"] = {}
        axes_all = {a: [] for a in AXES}
        entry["axes_per_setting"] = {}
        entry["learning_curve"] = {}
        for label in labels:
            u = units[f"{label}/{name}"]
            entry["mse"][label] = summarize(u["mse"])
            if "probe_mse" in u:
                entry["probe_mse"][label] = summarize(u["probe_mse"])
            entry["axes_per_setting"][label] = {a: summarize(u[a]) for a in AXES}
            entry["learning_curve"][label] = u["learning_curve"]
            for a in AXES:
                axes_all[a] += list(u[a])
        entry["axes"] = {a: float(np.mean(axes_all[a])) for a in AXES}
        entry["axes_summary"] = {a: summarize(axes_all[a]) for a in AXES}
        methods_out[name] = entry
    base = {
        b: {label: summarize(units[f"{label}/baselines"][b]) for label in labels} for b in BASELINES
    }
    result = {"settings": labels, "methods": methods_out, "baselines": base}
    eight = [m for m in EIGHT if m in c.methods]
    if len(eight) == len(EIGHT):
        tax = bj.load_taxonomy()
        hand = np.asarray([tax.scores[list(tax.methods).index(m)] for m in EIGHT])
        measured = np.asarray([[methods_out[m]["axes"][a] for a in AXES] for m in EIGHT])
        domains = ["ssrl" if m in bj.SSRL_METHODS else "imaging" for m in EIGHT]
        off = ~np.eye(len(EIGHT), dtype=bool)
        ms, hs = _similarity(measured), _similarity(hand)
        centred = measured - measured.mean(0)
        result["taxonomy"] = {
            "methods": list(EIGHT),
            "axes": list(AXES),
            "measured_vectors": measured.tolist(),
            "hand_vectors": hand.tolist(),
            "measured_similarity": ms.tolist(),
            "hand_similarity": hs.tolist(),
            "measured_centred_similarity": _similarity(centred).tolist(),
            "agreement": float(np.corrcoef(ms[off], hs[off])[0, 1]),
            "measured_claims": taxonomy_claims(measured, list(EIGHT), domains),
            "measured_centred_claims": taxonomy_claims(centred, list(EIGHT), domains),
            "hand_claims": taxonomy_claims(hand, list(EIGHT), domains),
        }
    return result
