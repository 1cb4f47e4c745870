"""Experiment 5 (paper Figure 5): the four-axis taxonomy of eight self-supervised methods.

Question: the paper scores SimCLR, BYOL, DINO, MAE (SSRL) and Noise2Self, EI, SSDU,
Noisier2Noise (imaging) on invariance (I), masking (M), equivariance (E) and physics (P), and
reports that SSRL methods cluster in I-M, imaging methods in E-P, and that the most similar
cross-domain pair is DINO-Noise2Self (cosine 0.67). The paper does not publish its scores.

Definitions. Our scores are in `bridge_jax/taxonomy.json`, each with a one-line reason from the
method's own paper, on the levels {0, 0.5, 1}. Similarity: cosine of the 4-vectors. Cluster
claim: a method sits in "I-M" when I + M > E + P and in "E-P" when E + P > I + M. Hand scores
are judgement calls, so the sensitivity analysis redraws the table many times, moving each score
to an adjacent level with probability 1/4, and reports how often each claim survives.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax.studies._common import metric
from bridge_jax.studies._config import Config

NAME = "fig5_taxonomy"
STREAM = 5
FLIP_PROBABILITY = 0.25
PAIR = ("dino", "noise2self")


def _perturb(key, scores):
    k_flip, k_dir = jr.split(key)
    flip = jr.bernoulli(k_flip, FLIP_PROBABILITY, scores.shape)
    step = jnp.where(jr.bernoulli(k_dir, 0.5, scores.shape), 0.5, -0.5)
    step = jnp.where(scores == 0.0, 0.5, jnp.where(scores == 1.0, -0.5, step))
    return jnp.where(flip, scores + step, scores)


def _claims(scores, methods, domains, sim=None):
    if sim is None:
        sim = np.asarray(bj.cosine_similarity_matrix(jnp.asarray(scores)))
    top = bj.cross_domain_pairs(sim, methods, domains)[0]
    im = scores[:, 0] + scores[:, 1]
    ep = scores[:, 2] + scores[:, 3]
    dom = np.asarray(domains)
    return {
        "pair_similarity": sim[methods.index(PAIR[0]), methods.index(PAIR[1])],
        "pair_is_top": float({top[0], top[1]} == set(PAIR)),
        "ssrl_in_im": float(np.mean(im[dom == "ssrl"] > ep[dom == "ssrl"])),
        "imaging_in_ep": float(np.mean(ep[dom == "imaging"] > im[dom == "imaging"])),
        "top_pair": f"{top[0]}-{top[1]}",
        "top_similarity": top[2],
    }


def run(config: Config, progress=None) -> dict:
    tax = bj.load_taxonomy()
    methods, domains = list(tax.methods), list(tax.domains)
    sim = np.asarray(bj.cosine_similarity_matrix(jnp.asarray(tax.scores)))
    hand = _claims(tax.scores, methods, domains)
    num = 50 * config.null_samples
    keys = jr.split(jr.fold_in(jr.key(config.seed), STREAM), num)
    tables = jax.vmap(_perturb, (0, None))(keys, jnp.asarray(tax.scores))
    # One batched call for all tables' similarities (one dispatch per table took seconds).
    sims = np.asarray(jax.vmap(bj.cosine_similarity_matrix)(tables))
    tables = np.asarray(tables)
    perturbed = [_claims(t, methods, domains, s) for t, s in zip(tables, sims, strict=True)]
    col = lambda k: np.asarray([p[k] for p in perturbed])  # noqa: E731
    tops = {}
    for p in perturbed:
        tops[p["top_pair"]] = tops.get(p["top_pair"], 0) + 1
    top_freq = {k: v / num for k, v in sorted(tops.items(), key=lambda kv: -kv[1])[:5]}
    metrics = {
        "taxonomy_dino_noise2self": metric(
            [hand["pair_similarity"]],
            paper=0.67,
            definition="cosine similarity of the hand-scored DINO and Noise2Self 4-axis vectors.",
            readings={
                "perturbed_scores": metric(
                    col("pair_similarity"),
                    paper=None,
                    definition=f"same, over {num} tables with each score moved to an adjacent "
                    f"level with probability {FLIP_PROBABILITY}",
                ),
            },
            most_similar_cross_domain_pair=hand["top_pair"],
            most_similar_cross_domain_similarity=hand["top_similarity"],
            fraction_perturbed_tables_where_dino_noise2self_is_top=float(col("pair_is_top").mean()),
            most_frequent_top_pairs_under_perturbation=top_freq,
        ),
        "taxonomy_ssrl_in_im_fraction": metric(
            [hand["ssrl_in_im"]],
            paper=1.0,
            definition="fraction of SSRL methods with I + M > E + P (paper: all cluster in I-M).",
            readings={
                "perturbed_scores": metric(
                    col("ssrl_in_im"), paper=None, definition="over perturbed tables"
                )
            },
        ),
        "taxonomy_imaging_in_ep_fraction": metric(
            [hand["imaging_in_ep"]],
            paper=1.0,
            definition="fraction of imaging methods with E + P > I + M (paper: all cluster in "
            "E-P).",
            readings={
                "perturbed_scores": metric(
                    col("imaging_in_ep"), paper=None, definition="over perturbed tables"
                )
            },
        ),
    }
    curves = {
        "methods": methods,
        "domains": domains,
        "axes": list(tax.axes),
        "scores": tax.scores.tolist(),
        "similarity": sim.tolist(),
        "reasons": tax.reasons,
        "cross_domain_ranking": bj.cross_domain_pairs(sim, methods, domains),
    }
    return {"metrics": metrics, "curves": curves}


def plot(result: dict, fig_dir) -> list[str]:
    import matplotlib.pyplot as plt

    from bridge_jax.studies._plotting import save

    cv = result["curves"]
    sim = np.asarray(cv["similarity"])
    labels = cv["methods"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.3, 1]})
    im = axes[0].imshow(sim, cmap="viridis", vmin=0, vmax=1)
    axes[0].set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            axes[0].text(
                j,
                i,
                f"{sim[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="w" if sim[i, j] < 0.6 else "k",
            )
    fig.colorbar(im, ax=axes[0], fraction=0.046)
    axes[0].set_title("cosine similarity of hand-scored 4-axis vectors", fontsize=9)
    scores = np.asarray(cv["scores"])
    axes[1].imshow(scores, cmap="Greys", vmin=0, vmax=1.4)
    axes[1].set_xticks(range(4), [a[:5] for a in cv["axes"]], fontsize=8)
    axes[1].set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(4):
            axes[1].text(j, i, f"{scores[i, j]:g}", ha="center", va="center", fontsize=8)
    axes[1].set_title("scores (reasons in results.json)", fontsize=9)
    fig.suptitle("Fig. 5: four-axis taxonomy", fontsize=10)
    return [save(fig, fig_dir, "fig5_taxonomy.png")]


def main(argv=None, prog=None):
    from bridge_jax.studies._runner import single_experiment_main

    return single_experiment_main(NAME, argv, prog=prog)


if __name__ == "__main__":
    raise SystemExit(main())
