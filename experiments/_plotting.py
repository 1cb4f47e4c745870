"""Figure helpers: mean curves with a +-1 standard deviation band over trials."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def band(ax, x, stats, label, color, linestyle="-", marker=None):
    mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
    ax.plot(x, mean, color=color, linestyle=linestyle, marker=marker, label=label, lw=1.6)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)


def save(fig, fig_dir, name: str) -> str:
    os.makedirs(fig_dir, exist_ok=True)
    path = os.path.join(fig_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
