"""Figure helpers: mean curves with a band from the 16th to the 84th percentile over trials.

The percentile band covers the middle 68% of trials (+-1 sd for a normal spread) and, unlike
mean +- sd, stays positive on logarithmic axes.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bridge_jax import store  # noqa: E402


def band(ax, x, stats, label, color, linestyle="-", marker=None):
    mean = np.asarray(stats["mean"])
    ax.plot(x, mean, color=color, linestyle=linestyle, marker=marker, label=label, lw=1.6)
    ax.fill_between(x, stats["p16"], stats["p84"], color=color, alpha=0.2, lw=0)


def save(fig, fig_dir, name: str) -> str:
    os.makedirs(fig_dir, exist_ok=True)
    path = os.path.join(fig_dir, name)
    fig.tight_layout()
    store.save_figure(fig, path, dpi=130)
    plt.close(fig)
    return path
