"""Eight methods, one interface (issue 5): train all eight and measure the taxonomy.

Question: trained on the same problems, how well does each of SimCLR, BYOL, DINO, MAE (SSRL),
Noise2Self, EI, SSDU, Noisier2Noise (imaging) and a supervised reference reconstruct, and where
does each trained model actually sit on the paper's four axes (invariance, masking,
equivariance, physics), measured on the model rather than scored by hand?

Definitions.
- Problems (one trial = one draw of everything; N training and N test signals, n, s as in the
  paper): Gaussian CS, one A (m x n, N(0, 1/m)) per trial, y = Ax + sigma e for each sigma in
  `cs_noise`; inpainting, a random mask per signal keeping round((1 - rho) n) entries, noise
  `inpaint_sigma`, for each rho in `inpaint_ratios`.
- Imaging methods and the supervised reference train `UnrolledNet` (Landweber steps with a
  shared residual MLP denoiser, starting as plain Landweber) with their own loss (see
  `bridge_jax/_losses.py`); their reconstruction is the network's output (Noisier2Noise: the
  corrected estimate, averaged over 4 noisier copies of the test measurement).
- SSRL methods train an MLP encoder on back-projections u = A^+ y (realisable) with views from
  a `ViewBank`: 16 rotations of RMS angle 0.1 rad drawn once per trial (the paper's T_k), one
  picked at random per view, plus fresh N(0, 0.1^2) noise; MAE masks half the entries instead.
  Reconstruction: a linear probe from the representation to x fitted on the training signals
  (it uses their ground truth, as the linear-evaluation protocol does), then `probe_steps`
  Landweber steps from the probe's output, as the paper's transfer section initialises
  reconstruction from SSRL. `probe_mse` is the probe alone.
- Training: `train_steps` Adam steps (learning rate `train_lr`) on random minibatches of
  `batch_size` of the N training signals (the same draw for all trials at a step).
- MSE over all n entries of the test signals, mean over the test set; 95% t-intervals over
  trials. Baselines on the same data: Landweber from zero, the pseudoinverse A^+ y, FISTA with
  lambda = sigma sqrt(2 log n), and the LMMSE estimate fitted from the training pairs
  (supervised, linear in u).
- Measured axes (`bridge_jax.measure_axes`, on the test signals): invariance of the method's
  output (representation or reconstruction) to the SSRL augmentation, invariance to hiding 30%
  of the measurements (masking), equivariance of its signal estimate to cyclic shifts, and its
  measurement consistency (physics), each 1 - discrepancy / (the same between unrelated
  signals), clipped to [0, 1]. A method's vector is the mean over trials and settings.
- Claims tested: SSRL methods sit in I-M (I + M > E + P); imaging methods in E-P; DINO and
  Noise2Self are the most similar cross-domain pair (cosine similarity of the 4-vectors).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import store, summarize
from bridge_jax.studies._common import (
    MethodsConfig,
    digits_array,
    image_transform,
    output_folder,
    to_numpy,
)
from bridge_jax.studies._report import fmt, write_section
from bridge_jax.studies._runner import (
    OneLineParser,
    UserError,
    add_config_arguments,
    check_writable,
    config_from_args,
    load_cached,
)

NAME = "methods"
STREAM = 21
FORMAT = "bridge_jax.methods/1"
UNIT_FORMAT = "bridge_jax.methods-unit/1"
BEGIN, END = "<!-- eight-methods:begin -->", "<!-- eight-methods:end -->"
EIGHT = bj.SSRL_METHODS + bj.IMAGING_METHODS
AXES = ("invariance", "masking", "equivariance", "physics")
PAIR = ("dino", "noise2self")
BASELINES = ("landweber", "pinv", "fista", "lmmse")
# pinv is not drawn: it coincides with Landweber (which converges to it) on these problems.
BASELINE_STYLES = {"landweber": ":", "fista": "-.", "lmmse": (0, (5, 1, 1, 1, 1, 1))}


def settings(c: MethodsConfig) -> list[tuple[str, str, float]]:
    """(label, problem kind, value) for every problem of the study."""
    cs = [(f"cs_sigma{v:g}", "cs", v) for v in c.cs_noise]
    return cs + [(f"inpaint_rho{v:g}", "inpaint", v) for v in c.inpaint_ratios]


# --------------------------------------------------------------------------- data


def make_trial(key, kind: str, value: float, c: MethodsConfig) -> dict:
    """One trial's training and test `Batch`es and the initial Landweber step (unbatched)."""
    k = jr.split(key, 6)
    if kind == "cs":
        op = bj.GaussianSensing(c.n, c.m, key=k[0])
        ops, sigma, step = (op, op), value, bj.default_step_size(op)
    else:
        keep = c.n - int(round(value * c.n))

        def masks(kk):
            draw = lambda k2: bj.Subsample(jnp.sort(jr.permutation(k2, c.n)[:keep]), c.n)  # noqa: E731
            return jax.vmap(draw)(jr.split(kk, c.signals))

        ops, sigma, step = (masks(k[0]), masks(k[1])), c.inpaint_sigma, jnp.asarray(1.0)
    out = {"step": step}
    if c.data == "digits":  # N training and N test images, disjoint, drawn per trial
        pool = jnp.asarray(digits_array())
        order = jr.permutation(k[2], pool.shape[0])
        signals = (pool[order[: c.signals]], pool[order[c.signals : 2 * c.signals]])
    else:
        signals = tuple(bj.sparse_signals(c.signals, c.n, c.s, key=k[2 + i]) for i in range(2))
    for i, split in enumerate(("train", "test")):
        x = signals[i]
        op_axis = None if kind == "cs" else 0
        clean = jax.vmap(lambda o, xi: o.mv(xi), in_axes=(op_axis, 0))(ops[i], x)
        y = bj.GaussianNoise(sigma)(clean, key=k[4 + i])
        out[split] = bj.Batch(ops[i], y, sigma=sigma, x=x, shared_op=kind == "cs")
    return out


# --------------------------------------------------------------------------- train and score


def image_group(c: MethodsConfig):
    """Digits: EI's transform group and the equivariance probe (rotations and shifts)."""
    return image_transform(c, crop=False)


def image_views(c: MethodsConfig):
    """Digits: one SSRL view, the image augmentation plus N(0, aug_noise^2) noise."""

    def view(x, *, key):
        k_t, k_e = jr.split(key)
        t = image_transform(c)(x, key=k_t)
        return t + c.aug_noise * jr.normal(k_e, t.shape, t.dtype)

    return view


def _init(name: str, c: MethodsConfig, keys, steps, sigmas):
    def one(k, step, sigma):
        extra = {}
        if c.data == "digits":
            t = jax.vmap(
                lambda kk: bj.transform_matrix(functools.partial(image_transform(c), key=kk), c.n)
            )(jr.split(jr.fold_in(k, 7), 16))
            extra = dict(
                views=bj.ViewBank.from_transforms(t, noise=c.aug_noise),
                ei_transform=image_group(c),
            )
        return bj.make_method(
            name,
            c.n,
            key=k,
            step=step,
            sigma=sigma,
            width=c.width,
            dim=c.dim,
            num_iters=c.unroll,
            angle=c.angle,
            aug_noise=c.aug_noise,
            reconstructor=c.reconstructor,
            **extra,
        )

    return eqx.filter_vmap(one)(keys, steps, sigmas)


def _is_shrinkage(name: str, c: MethodsConfig) -> bool:
    return name not in bj.SSRL_METHODS and c.reconstructor == "shrinkage"


def _print_progress(name: str, step: int, num_steps: int, loss: float) -> None:
    print(f"  {name}: step {step}/{num_steps} loss {loss:.4g}", file=sys.stderr, flush=True)


def train(name: str, data: dict, c: MethodsConfig, key, checkpoint: str | None):
    """Train one method on every trial at once (a batch of models, one compiled step)."""
    batches = data["train"]
    methods = _init(name, c, jr.split(jr.fold_in(key, 0), c.trials), data["step"], batches.sigma)

    def per_trial(fn, ms, k):
        # The same random minibatch for the loss and the update of a step (DINO's centre).
        k_batch, k_method = jr.split(k)
        index = jr.choice(k_batch, c.signals, (min(c.batch_size, c.signals),), replace=False)
        full = c.batch_size >= c.signals

        def one(m, b, kk):
            return fn(m, b if full else b.subset(index), kk)

        return eqx.filter_vmap(one)(ms, batches, jr.split(k_method, c.trials))

    def loss(ms, k):
        return jnp.sum(per_trial(lambda m, b, kk: m.loss(b, key=kk), ms, k))

    def update(ms, k):
        return per_trial(lambda m, b, kk: m.update(b, key=kk), ms, k)

    return bj.fit(
        loss,
        methods,
        key=jr.fold_in(key, 1),
        num_steps=c.train_steps,
        learning_rate=c.recon_lr if _is_shrinkage(name, c) else c.train_lr,
        update_fn=update,
        checkpoint=checkpoint,
        checkpoint_every=max(1, c.train_steps // 4),
        log_every=max(1, c.train_steps // 3),
        progress=_print_progress,
        name=name,
    )


def _landweber_from(batch: bj.Batch, x0, num_steps: int):
    def one(o, y, x0i):
        return bj.landweber(o, y, x0=x0i, num_steps=num_steps, throw=False)[0]

    return batch.map(one, x0)


def evaluate(method, train_b: bj.Batch, test_b: bj.Batch, key, c: MethodsConfig) -> dict:
    """Test MSE and measured axes of one trained method on one trial (unbatched)."""
    k = jr.split(key, 3)
    keys = jr.split(k[0], test_b.size)
    out = {}
    if method.domain == "imaging":

        def represent(o, y, *, key):
            return method.output(o, y, None, key=key)

        reconstruct = represent
        x_hat = test_b.map(lambda o, y, kk: represent(o, y, key=kk), keys)
    else:
        feats = train_b.map(lambda o, y, u: method.output(o, y, u, key=k[1]), train_b.u)
        probe = bj.lmmse_fit(train_b.x, feats)  # the linear-evaluation protocol: uses labels

        def represent(o, y, *, key):
            return method.output(o, y, bj.pinv_solve(o, y), key=key)

        def reconstruct(o, y, *, key):
            return bj.lmmse_apply(probe, represent(o, y, key=key))

        x_probe = test_b.map(
            lambda o, y, u, kk: bj.lmmse_apply(probe, method.output(o, y, u, key=kk)),
            test_b.u,
            keys,
        )
        out["probe_mse"] = jnp.mean((x_probe - test_b.x) ** 2)
        x_hat = _landweber_from(test_b, x_probe, c.probe_steps)
    out["mse"] = jnp.mean((x_hat - test_b.x) ** 2)
    out.update(
        bj.measure_axes(
            represent,
            reconstruct,
            test_b.op,
            test_b.x,
            key=k[2],
            sigma=test_b.sigma,
            shared_op=test_b.shared_op,
            angle=c.angle,
            aug_noise=c.aug_noise,
            **(
                dict(augment_fn=image_views(c), transform=image_group(c))
                if c.data == "digits"
                else {}
            ),
        )
    )
    return out


def baselines(train_b: bj.Batch, test_b: bj.Batch, c: MethodsConfig) -> dict:
    """MSE of the classical reconstructions on one trial (unbatched)."""
    zeros = jnp.zeros_like(test_b.x)
    lam = test_b.sigma * jnp.sqrt(2 * jnp.log(c.n))
    fista = test_b.map(lambda o, y: bj.fista(o, y, lam=lam, num_steps=c.fista_steps)[0])
    lmmse = bj.lmmse_fit(train_b.x, train_b.u)
    estimates = {
        "landweber": _landweber_from(test_b, zeros, c.baseline_steps),
        "pinv": test_b.u,
        "fista": fista,
        "lmmse": jax.vmap(lambda u: bj.lmmse_apply(lmmse, u))(test_b.u),
    }
    return {name: jnp.mean((v - test_b.x) ** 2) for name, v in estimates.items()}


# --------------------------------------------------------------------------- saving


def unit_digest(config: MethodsConfig) -> str:
    """Identifies saved units: the configuration and all of the package's code (the library
    and the studies: any change to them computes the units again)."""
    return store.digest(config, "methods")


def _curve(losses, trials: int, points: int = 100) -> list[float]:
    per_trial = np.asarray(losses) / trials
    idx = np.unique(np.linspace(0, len(per_trial) - 1, min(points, len(per_trial))).astype(int))
    return [[int(i), float(per_trial[i])] for i in idx]


def run_units(c: MethodsConfig, out: str, *, fresh: bool = False) -> dict:
    """Train and evaluate every (setting, method); each is saved as it finishes."""
    digest = unit_digest(c)
    unit_dir = os.path.join(out, "methods")
    grid = settings(c)
    total = len(grid) * (len(c.methods) + 1)
    start, done = time.perf_counter(), 0
    units: dict[str, dict] = {}

    def say(label, what, status):
        elapsed = time.perf_counter() - start
        print(
            f"[{done}/{total}] {label:<16} {what:<13} {status:<28} {elapsed:7.1f}s elapsed",
            file=sys.stderr,
            flush=True,
        )

    for s_index, (label, kind, value) in enumerate(grid):
        key = jr.fold_in(jr.fold_in(jr.key(c.seed), STREAM), s_index)
        trial_keys = jr.split(jr.fold_in(key, 0), c.trials)
        data = None
        for name in ("baselines",) + tuple(c.methods):
            path = os.path.join(unit_dir, f"{label}__{name}.json")
            cached = (
                None
                if fresh
                else load_cached(path, digest, fmt=UNIT_FORMAT, writer="bridge-jax methods")
            )
            if cached is not None:
                units[f"{label}/{name}"] = cached
                done += 1
                say(label, name, "loaded from an earlier run")
                continue
            if data is None:
                data = jax.jit(jax.vmap(lambda k, kind=kind, v=value: make_trial(k, kind, v, c)))(
                    trial_keys
                )
            say(label, name, "running")
            t0 = time.perf_counter()
            if name == "baselines":
                result = to_numpy(
                    jax.jit(jax.vmap(lambda a, b: baselines(a, b, c)))(data["train"], data["test"])
                )
                result = {k: v.tolist() for k, v in result.items()}
            else:
                ckpt = os.path.join(unit_dir, "checkpoints", f"{label}__{name}__{digest}.eqx")
                mkey = jr.fold_in(key, 1 + bj.METHODS.index(name))
                trained, losses = train(name, data, c, mkey, None if fresh else ckpt)
                scores = eqx.filter_jit(
                    eqx.filter_vmap(lambda m, a, b, kk: evaluate(m, a, b, kk, c))
                )(trained, data["train"], data["test"], jr.split(jr.fold_in(mkey, 9), c.trials))
                result = {k: np.asarray(v).tolist() for k, v in scores.items()}
                result["learning_curve"] = _curve(losses, c.trials)
                if os.path.exists(ckpt):
                    os.remove(ckpt)
            result["seconds"] = time.perf_counter() - t0
            store.save_result(path, result, fmt=UNIT_FORMAT, digest=digest)
            units[f"{label}/{name}"] = json.loads(json.dumps(result))
            done += 1
            say(label, name, f"done in {result['seconds']:.1f}s")
    return units


# --------------------------------------------------------------------------- summary


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


# --------------------------------------------------------------------------- figures, report


def plot(result: dict, fig_dir: str) -> list[str]:
    from bridge_jax.studies._plotting import plt, save

    paths = []
    labels = result["settings"]
    groups = [
        ("cs", "Gaussian CS: noise level sigma", "sigma", "log"),
        ("inpaint", "Inpainting: masking ratio rho", "rho", "linear"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, (prefix, title, xlabel, scale) in zip(axes, groups, strict=True):
        cols = [lab for lab in labels if lab.startswith(prefix)]
        if not cols:
            ax.set_visible(False)
            continue
        xs = [float(lab.split("sigma" if prefix == "cs" else "rho")[1]) for lab in cols]
        for i, (name, entry) in enumerate(result["methods"].items()):
            mean = [entry["mse"][lab]["mean"] for lab in cols]
            lo = [entry["mse"][lab]["ci95"][0] for lab in cols]
            hi = [entry["mse"][lab]["ci95"][1] for lab in cols]
            style = "--" if entry["domain"] == "ssrl" else "-"
            ax.plot(xs, mean, style, marker="o", ms=3, color=f"C{i}", label=name)
            ax.fill_between(xs, lo, hi, color=f"C{i}", alpha=0.15, lw=0)
        for b, style in BASELINE_STYLES.items():
            mean = [result["baselines"][b][lab]["mean"] for lab in cols]
            label = f"{b} (baseline)"
            ax.plot(xs, mean, linestyle=style, color="k", lw=1.3, alpha=0.75, label=label)
        ax.set_xscale(scale)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test MSE (95% CI over trials)")
    axes[0].legend(fontsize=7, ncol=2)
    paths.append(save(fig, fig_dir, "methods_mse.png"))

    if "taxonomy" in result:
        tax = result["taxonomy"]
        fig, axes = plt.subplots(1, 4, figsize=(20, 4.8))
        panels = [
            (tax["measured_vectors"], "measured axes", tax["axes"], (0, 1), "viridis"),
            (tax["measured_similarity"], "measured cosine similarity", None, (0, 1), "viridis"),
            (
                tax["measured_centred_similarity"],
                "measured, axes centred over methods",
                None,
                (-1, 1),
                "coolwarm",
            ),
            (tax["hand_similarity"], "hand-scored cosine similarity", None, (0, 1), "viridis"),
        ]
        for ax, (mat, title, cols, lim, cmap) in zip(axes, panels, strict=True):
            mat = np.asarray(mat)
            im = ax.imshow(mat, vmin=lim[0], vmax=lim[1], cmap=cmap)
            ax.set_yticks(range(len(tax["methods"])), tax["methods"])
            ticks = cols if cols is not None else tax["methods"]
            ax.set_xticks(range(len(ticks)), ticks, rotation=45, ha="right")
            mid = 0.5 * (lim[0] + lim[1])
            for (r, col), v in np.ndenumerate(mat):
                dark = v < mid if cmap == "viridis" else abs(v) > 0.6
                color = "w" if dark else "k"
                ax.text(col, r, f"{v:.2f}", ha="center", va="center", fontsize=6, color=color)
            ax.set_title(title)
            fig.colorbar(im, ax=ax, fraction=0.046)
        paths.append(save(fig, fig_dir, "methods_taxonomy.png"))

    fig, ax = plt.subplots(figsize=(7, 4.4))
    label = labels[min(1, len(labels) - 1)]
    for i, (name, entry) in enumerate(result["methods"].items()):
        curve = np.asarray(entry["learning_curve"][label])
        loss = curve[:, 1]
        span = np.ptp(loss) if np.ptp(loss) > 0 else 1.0
        ax.plot(curve[:, 0], (loss - loss.min()) / span, color=f"C{i}", label=name)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("training loss (rescaled to [0, 1])")
    ax.set_title(f"Learning curves, {label} (mean loss over trials)")
    ax.legend(fontsize=7, ncol=2)
    paths.append(save(fig, fig_dir, "methods_learning_curves.png"))
    return paths


def _ci(m: dict) -> str:
    return f"{fmt(m['mean'])} [{fmt(m['ci95'][0])}, {fmt(m['ci95'][1])}]"


def section(result: dict, figures: list[str], out: str, elapsed: float) -> str:
    labels = result["settings"]
    lines = [
        BEGIN,
        "## Eight methods, one interface",
        "",
        "Test MSE, mean [95% CI] over trials (definitions: bridge_jax/studies/methods.py). "
        "SSRL rows: linear probe (fitted with labels) then Landweber; `probe` rows: the probe "
        "alone.",
        "",
        "| method | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for name, entry in result["methods"].items():
        lines.append(f"| {name} | " + " | ".join(_ci(entry["mse"][lab]) for lab in labels) + " |")
        if "probe_mse" in entry:
            cells = " | ".join(_ci(entry["probe_mse"][lab]) for lab in labels)
            lines.append(f"| {name} (probe) | {cells} |")
    for b, per in result["baselines"].items():
        lines.append(f"| *{b}* | " + " | ".join(_ci(per[lab]) for lab in labels) + " |")
    lines += ["", "Measured axes (mean over trials and settings):", ""]
    lines += ["| method | " + " | ".join(AXES) + " |", "|---|" + "---|" * len(AXES)]
    for name, entry in result["methods"].items():
        lines.append(f"| {name} | " + " | ".join(fmt(entry["axes"][a], 3) for a in AXES) + " |")
    if "taxonomy" in result:
        tax = result["taxonomy"]
        lines += [
            "",
            "| claim (paper) | hand scores | measured | measured, centred |",
            "|---|---|---|---|",
        ]
        h, m, mc = tax["hand_claims"], tax["measured_claims"], tax["measured_centred_claims"]
        rows = [
            ("SSRL methods in I-M (of 4)", "ssrl_in_im"),
            ("imaging methods in E-P (of 4)", "imaging_in_ep"),
            ("DINO-Noise2Self similarity (paper 0.67)", "dino_noise2self"),
            ("its rank among 16 cross-domain pairs", "dino_noise2self_rank"),
        ]
        for text, key in rows:
            lines.append(f"| {text} | {fmt(h[key], 3)} | {fmt(m[key], 3)} | {fmt(mc[key], 3)} |")
        tops = [
            f"{c['top_cross_domain_pair'][0]}-{c['top_cross_domain_pair'][1]} "
            f"({c['top_cross_domain_pair'][2]:.2f})"
            for c in (h, m, mc)
        ]
        lines.append(f"| most similar cross-domain pair | {tops[0]} | {tops[1]} | {tops[2]} |")
        lines += [
            "",
            f"Agreement of the measured and hand similarity matrices (Pearson over off-diagonal "
            f"entries): {tax['agreement']:.3f}. Centred: each axis minus its mean over the eight "
            "methods, so that similarity reflects where a method differs from the others.",
        ]
    lines.append("")
    for path in figures:
        lines += [f"![{os.path.basename(path)}]({os.path.relpath(path, out)})", ""]
    lines += [f"Run time: {elapsed:.0f} s.", END]
    return "\n".join(lines)


def methods(config: MethodsConfig, out: str, *, fresh: bool = False) -> dict:
    """Run the study and write DIR/methods.json, DIR/figures/methods_*.png and the report
    (DIR/digits/... for `--data digits`)."""
    t0 = time.perf_counter()
    config.validate()
    out = output_folder(config, out)
    check_writable(out)
    units = run_units(config, out, fresh=fresh)
    result = {"format": FORMAT, "config": config.as_dict(), **summarise(units, config)}
    store.write_json(os.path.join(out, "methods.json"), result)
    figures = plot(result, os.path.join(out, "figures"))
    write_section(out, section(result, figures, out, time.perf_counter() - t0), BEGIN, END)
    return result


def add_arguments(parser) -> None:
    add_config_arguments(parser, data_options=True)
    parser.add_argument(
        "--methods",
        help=f"comma-separated subset of {','.join(bj.METHODS)} (default: all)",
    )
    parser.add_argument("--steps", type=int, help="Adam steps per method (default 300)")


def run_from_args(args) -> int:
    try:
        config = config_from_args(args, MethodsConfig)
        overrides = {}
        if args.methods is not None:
            overrides["methods"] = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        if args.steps is not None:
            overrides["train_steps"] = args.steps
        if overrides:
            config = dataclasses.replace(config, **overrides).validate()
        result = methods(config, args.out, fresh=args.fresh)
    except (ValueError, UserError) as e:
        print(f"bridge-jax: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {os.path.join(output_folder(config, args.out), 'methods.json')}", file=sys.stderr)
    for name, entry in result["methods"].items():
        cells = "  ".join(f"{fmt(entry['mse'][lab]['mean'], 3)}" for lab in result["settings"])
        print(f"  {name:<14} {cells}")
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.methods") -> int:
    parser = OneLineParser(prog=prog, description=__doc__)
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
