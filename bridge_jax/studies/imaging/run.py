"""Units (one (task, method) with its seeds, each trained alone until its own held-out
measurement loss stops improving), saved as they finish and resumed (a killed unit from its
seeds' checkpoints); the inference rules, the summary, imaging.json and the command line."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import lineax as lx
import numpy as np
import optax

import bridge_jax as bj
from bridge_jax import store
from bridge_jax.studies._config import (
    DEFAULT_IMAGING_TASKS,
    IMAGING_METHODS,
    IMAGING_TASKS,
    ImagingConfig,
)
from bridge_jax.studies._report import write_section
from bridge_jax.studies._runner import (
    UserError,
    check_writable,
    load_or_compute,
    progress_printer,
    study_config,
    training_printer,
    write_timing,
)
from bridge_jax.studies._runner import unit_digest as _unit_digest
from bridge_jax.studies.imaging.plot import BEGIN, END, expectations, plot, section
from bridge_jax.studies.imaging.tasks import CS_POOL, TASKS, applicable, images

FORMAT = "bridge_jax.imaging/2"
UNIT_FORMAT = "bridge_jax.imaging-unit/1"
REFERENCE = "pinv"  # the lower reference's name in imaging.json
METRICS = ("psnr", "ssim")


def _take(ops, index):
    """The operators at `index` of a batch of operators (array leaves indexed)."""
    return jax.tree_util.tree_map(lambda a: a[index] if eqx.is_array(a) else a, ops)


def _measure_all(op, x, noise, key):
    return jax.vmap(lambda xi, k: bj.measure(op, xi, noise, key=k))(x, jr.split(key, x.shape[0]))


def seed_data(c: ImagingConfig, task, key, *, family: bool) -> dict:
    """One seed's operator and measurements (train and test); with `family`, MOI's training
    set: one operator per image (for compressed sensing one of `CS_POOL` matrices)."""
    train, test = images(c, task.data)[:2]
    shape = train.shape[1:]
    k_op, k_train, k_test, k_fam, k_fam_noise = jr.split(key, 5)
    noise = task.noise(c)
    op = task.operator(k_op, shape)
    d = {
        "x_train": train,
        "op": op,
        "y_train": _measure_all(op, train, noise, k_train),
        "y_test": _measure_all(op, test, noise, k_test),
    }
    if family:
        n = train.shape[0]
        pool = CS_POOL if task.name == "mnist_cs" else n
        fam = eqx.filter_vmap(lambda k: task.family(k, shape))(jr.split(k_fam, pool))
        assign = jnp.arange(n) % pool
        ops = _take(fam, assign)
        keys = jr.split(k_fam_noise, n)
        d["fam"], d["assign"] = fam, assign
        d["y_fam"] = jax.vmap(lambda o, xi, k: bj.measure(o, xi, noise, key=k))(ops, train, keys)
    return d


def _seed_keys(c: ImagingConfig, task: str, what: int):
    base = jr.fold_in(jr.fold_in(jr.key(c.seed), 100 + IMAGING_TASKS.index(task)), what)
    return jr.split(base, c.seeds)


def all_seed_data(c: ImagingConfig, task, *, family: bool = False):
    """`seed_data` for every seed, with a leading seed axis on every array."""
    keys = _seed_keys(c, task.name, 0)
    return eqx.filter_vmap(lambda k: seed_data(c, task, k, family=family))(keys)


def _metrics(out, truth):
    """Per image PSNR and SSIM (data range 1, outputs not clipped)."""
    psnr = jax.vmap(lambda a, b: bj.psnr(a, b, data_range=1.0))(out, truth)
    ssim = jax.vmap(lambda a, b: bj.ssim(a, b, data_range=1.0))(out, truth)
    return psnr, ssim


def _display(task, op, y):
    """The measurement as an image for the figure."""
    y = jnp.asarray(y)
    if jnp.iscomplexobj(y):
        return jnp.log1p(jnp.abs(jnp.fft.fftshift(y)))
    if y.ndim == 1:
        side = int(np.sqrt(y.size))
        return y[: side * side].reshape(side, side)
    return y


def run_reference(c: ImagingConfig, task) -> dict:
    """The lower reference on every seed's test measurements (nothing trained)."""
    test = images(c, task.data).test
    data = all_seed_data(c, task)

    # The images are arguments, not constants of the program (XLA would fold SSIM on them).
    @eqx.filter_jit
    def run(data, test):
        def one(d):
            out = jax.vmap(lambda y: task.reference(d["op"], y))(d["y_test"])
            return (*_metrics(out, test), out[0], _display(task, d["op"], d["y_test"][0]))

        return eqx.filter_vmap(one)(data)

    psnr, ssim, example, shown = run(data, test)
    psnr, ssim = np.asarray(psnr, np.float64), np.asarray(ssim, np.float64)
    return {
        "rule": "reference",
        "rules": {"reference": {"psnr": psnr.tolist(), "ssim": ssim.tolist()}},
        "psnr": psnr.mean(axis=1).tolist(),
        "ssim": ssim.mean(axis=1).tolist(),
        "example": np.asarray(example[0], np.float64).round(4).tolist(),
        "truth": np.asarray(test[0], np.float64).round(4).tolist(),
        "measurement": np.asarray(shown[0], np.float64).round(4).tolist(),
    }


class WithReference(bj.AbstractOperator):
    """`operator` (whose action, transpose and matrix it has) carrying `reference`, the
    matrix of the task's lower reference for it as an operator from measurements to images:
    a reference linear in y (an SVD pseudoinverse, Landweber from 0) applied to each of the
    m unit measurements once, instead of solved again in every forward pass."""

    operator: lx.AbstractLinearOperator
    reference: bj.MatrixOperator

    def _apply(self, x):
        return self.operator.mv(x)

    def transpose(self):
        return self.operator.transpose()

    def as_matrix(self):
        return self.operator.as_matrix()

    def in_structure(self):
        return self.operator.in_structure()

    def out_structure(self):
        return self.operator.out_structure()


def with_reference(op, matrix) -> WithReference:
    """`op` carrying `matrix`, the `(n, m)` matrix of its task's lower reference
    (`Task.reference_matrix`)."""
    out_shape = op.in_structure().shape
    return WithReference(
        op, bj.MatrixOperator(matrix, in_shape=op.out_structure().shape, out_shape=out_shape)
    )


def _map_operators(f, ops):
    """`f` on each operator of a batch of operators (array leaves batched), one after the
    other: a reference solved on all m unit measurements of every operator at once (MOI's CT
    family: one operator per training patch) would hold them all in memory."""
    dynamic, static = eqx.partition(ops, eqx.is_array)
    return jax.lax.map(lambda d: f(eqx.combine(d, static)), dynamic)


class PinvInput(bj.AbstractDenoiser):
    """A network on the task's lower reference (A^+ y; Landweber for CT) instead of A^* y:
    its precomputed matrix where the operator carries one (`WithReference`), else
    `inverse(op, y)` solved in every forward pass: on the splits of Noise2Self and SSDU (a
    subset of the rows, drawn afresh each step), the reference of the split operator."""

    net: bj.AbstractDenoiser
    inverse: object = eqx.field(static=True)

    def denoise(self, x):
        return self.net.denoise(x)

    def __call__(self, op, y, *, key=None):
        if isinstance(op, WithReference):
            return self.net.denoise(op.reference.mv(y))
        return self.net.denoise(self.inverse(op, y))


def precompute_reference(c: ImagingConfig, task, data: dict) -> dict:
    """Every seed's operator, and every operator of MOI's family, with the matrix of the
    task's lower reference (`WithReference`), where the network's input is that reference
    (`net_input` "pinv") and the task's reference is costly (`Task.reference_matrix`: the
    SVD pseudoinverse for compressed sensing, Landweber in closed form for CT); `data`
    unchanged otherwise."""
    if c.net_input != "pinv" or task.reference_matrix is None:
        return data
    per_seed = eqx.filter_jit(functools.partial(_map_operators, task.reference_matrix))
    wrap = eqx.filter_vmap(with_reference)
    data = dict(data)
    data["op"] = wrap(data["op"], per_seed(data["op"]))
    if "fam" in data:
        fam = data["fam"]
        matrices = eqx.filter_jit(functools.partial(_map_operators, per_seed))(fam)
        data["fam"] = eqx.filter_vmap(wrap)(fam, matrices)
    return data


def make_model(c: ImagingConfig, task, method: str, key):
    """One fresh method: a UNet (on A^* y, or on the lower reference with `net_input` "pinv")
    trained by `method`."""
    sigma = task.sigma(c) or 0.0
    n = 28 * 28 if task.data == "mnist" else c.patch_size**2
    k_net, k_method = jr.split(key)
    net = bj.UNet(scales=c.scales, width=c.width, key=k_net)
    if c.net_input == "pinv":
        net = PinvInput(net, task.reference)
    # EI measures its transformed reconstructions with the task's own noise model.
    return bj.make_method(
        method,
        n,
        key=k_method,
        sigma=sigma,
        reconstructor=net,
        ei_transform=task.group,
        noise=task.noise(c),
        **task.method_kwargs(method, c),
    )


# Network forward passes per training image and step (Noise2Self: one per group; EI and MOI:
# the reconstruction and that of its re-measured transform; SURE: two for the Monte-Carlo
# divergence; the rest: one).
FORWARD_PASSES = {"noise2self": 4, "ei": 2, "rei": 3, "moi": 2, "sure": 2}

# Each method's inference rules: the first is its paper's (the one reported, fixed before any
# run: no ground truth chooses it); the others are measured beside it.
RULES = {
    "noise2self": ("j_invariant", "split_mean", "split_weighted", "network"),
    "ssdu": ("network", "split_mean", "j_invariant", "split_weighted"),
    "noisier2noise": ("corrected", "corrected_cutoff", "network"),
    "r2r": ("recorrupted_mean", "network"),
}
RULE_DEFINITIONS = {
    "network": "f(A, y): the network on the full measurement",
    "j_invariant": "each measured row predicted by the splits that hid it, mapped back with "
    "A^+ (split_inference without sigma; Batson & Royer's J-invariant f_J for A = I)",
    "split_mean": "the mean over the splits of the network on the rows each kept (deepinv's "
    "split-averaged evaluation)",
    "split_weighted": "split_inference with the known sigma (each row's held-out prediction "
    "weighted against its own measurement, A^+ cut at the noise level): the library's output",
    "corrected": "Moran et al.'s corrected estimate, A x = 2 A f(z) - z in data space mapped "
    "back with the exact A^+, averaged over 4 noisier copies z",
    "corrected_cutoff": "the same with A^+ cut at the noise level (the library's output)",
    "recorrupted_mean": "the network on 4 recorrupted copies, averaged (Pang et al.; the "
    "library's output)",
}


# Where the exact A^+ amplifies the noise past the signal (`ill_conditioned`), the paper rules
# that map a measurement-domain estimate back through it are ill-posed: Noise2Self is then
# reported by the split mean, Noisier2Noise by f(y); the paper rule stays beside them.
ILL_CONDITIONED_RULES = {
    "noise2self": ("split_mean", "j_invariant", "split_weighted", "network"),
    "noisier2noise": ("network", "corrected", "corrected_cutoff"),
}


def rules(method: str, ill: bool = False) -> tuple[str, ...]:
    """`method`'s inference rules, the one reported first: its paper's, or on an
    ill-conditioned operator (`ill`) the one that needs no exact A^+."""
    if ill and method in ILL_CONDITIONED_RULES:
        return ILL_CONDITIONED_RULES[method]
    return RULES.get(method, ("network",))


def ill_conditioned(op, sigma) -> bool:
    """Whether a non-zero singular value of `op` lies below `sigma` (at least 1e-4) times the
    largest: the exact A^+ then multiplies noise of level `sigma` past the signal's scale. It
    uses the operator and the known noise level alone, no data (null-space directions, the
    singular values below 1e-6 of the largest, do not count)."""
    matrix = bj.real_matrix(op) if bj.is_real_linear(op) else bj.dense_matrix(op)
    sv = np.linalg.svd(
        np.asarray(matrix).astype(np.complex128 if jnp.iscomplexobj(matrix) else np.float64),
        compute_uv=False,
    )
    nonzero = sv[sv > 1e-6 * sv[0]]
    return bool(nonzero[-1] < max(float(sigma), 1e-4) * sv[0])


def _splits(model, op, key):
    shape = op.out_structure().shape
    if model.name == "noise2self":
        return bj.row_groups(shape, model.num_groups, key=key)
    return bj.cyclic_holdouts(shape, model.holdout, model.draws, key=key)


def infer(rule: str, model, op, y, key):
    """One reconstruction of `y` by the trained `model` (a method) under `rule`."""
    if rule == "network":
        return model.model(op, y)
    if rule in ("split_weighted", "corrected_cutoff", "recorrupted_mean"):
        return model.output(op, y, y, key=key)
    if rule == "j_invariant":
        return bj.split_inference(model.model, op, y, _splits(model, op, key))
    if rule == "split_mean":
        dtype = op.out_structure().dtype

        def one(hidden):
            keep = bj.Mask(~hidden, dtype=dtype)
            return model.model(keep @ op, keep.mv(y))

        return jnp.mean(jax.vmap(one)(_splits(model, op, key)), axis=0)
    if rule == "corrected":

        def one(k):
            z = bj.noisier(y, key=k, sigma=model.sigma, alpha=model.alpha)
            return bj.noisier2noise_estimate(model.model, op, z, alpha=model.alpha)

        return jnp.mean(jax.vmap(one)(jr.split(key, model.draws)), axis=0)
    raise ValueError(f"unknown inference rule {rule!r}")


@eqx.filter_jit
def scores(rule: str, model, op, y_test, test, key):
    """Per test image PSNR and SSIM of `rule`'s reconstructions, and the first one."""
    out = jax.vmap(lambda y, k: infer(rule, model, op, y, k))(
        y_test, jr.split(key, y_test.shape[0])
    )
    return (*_metrics(out, test), out[0])


def _batch(method: str, d: dict, idx):
    """The measurements at `idx` of `d` (a fit or validation split) as a `Batch`."""
    y = d["y"][idx]
    if method == "moi":
        ops = _take(d["ops"], idx)
        return bj.Batch(ops, y, sigma=d["sigma"], shared_op=False, u=y)
    x = d["x"][idx] if method == "supervised" else None
    return bj.Batch(d["op"], y, sigma=d["sigma"], x=x, u=y)


def train_loss(method: str, batch_size: int, d: dict, model, key):
    """The method's loss on a random minibatch of the fit split."""
    k_idx, k_loss = jr.split(key)
    idx = jr.choice(k_idx, d["y"].shape[0], (batch_size,), replace=False)
    return model.loss(_batch(method, d, idx), key=k_loss)


def validation_loss(method: str, d: dict, model):
    """The method's own loss on every held-out measurement with a fixed key (deterministic);
    the held-out pairs' MSE for the supervised reference. No test image enters it."""
    return model.loss(_batch(method, d, jnp.arange(d["y"].shape[0])), key=jr.key(0))


def split_data(c: ImagingConfig, method: str, d: dict) -> tuple[dict, dict]:
    """One seed's training measurements cut into a fit split and a fixed held-out validation
    split (the last `val_fraction` of the training images, which are in random order)."""
    n = d["y_train"].shape[0]
    n_val = max(1, round(c.val_fraction * n))
    fit, val = slice(0, n - n_val), slice(n - n_val, n)
    sigma = jnp.asarray(d["sigma"])
    parts = []
    for part in (fit, val):
        p = {"sigma": sigma}
        if method == "moi":
            p["y"], p["ops"] = d["y_fam"][part], _take(d["fam"], d["assign"][part])
        else:
            p["y"], p["op"] = d["y_train"][part], d["op"]
            if method == "supervised":
                p["x"] = d["x_train"][part]
        parts.append(p)
    return parts[0], parts[1]


def schedule(c: ImagingConfig):
    """Linear warm-up over `warmup_steps` (at most half the cap), then cosine decay to 0 at
    the cap `max_steps`."""
    warmup = min(c.warmup_steps, c.max_steps // 2)
    return optax.warmup_cosine_decay_schedule(0.0, c.learning_rate, warmup, c.max_steps, 0.0)


def thin(values, points: int = 200) -> tuple[list, list]:
    """A curve averaged over windows into at most `points` points: (steps, means); step = the
    number of updates at the end of the window."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        return [], []
    w = -(-v.size // points)
    ends = np.arange(w, v.size + w, w).clip(max=v.size)
    means = [float(v[e - w : e].mean()) for e in ends]
    return ends.tolist(), means


def train_seed(
    c,
    task,
    method,
    d,
    test,
    *,
    key_model,
    key_train,
    key_test,
    checkpoint=None,
    progress=None,
    ill=False,
):
    """Train one seed's model until its validation loss stops improving; its curves, its stop
    and its best model's test scores under every inference rule (`ill`: the operator is
    ill-conditioned, see `rules`)."""
    fit_d, val_d = split_data(c, method, d)
    model = make_model(c, task, method, key_model)
    chosen = rules(method, ill)[0]
    trace = {}
    trace_path = None if checkpoint is None else checkpoint + ".trace.json"
    if trace_path is not None and os.path.exists(trace_path):
        with open(trace_path) as f:
            trace = {int(k): v for k, v in json.load(f).items()}

    def record(step, m, value):
        # The test PSNR along the way: recorded, never used to stop.
        psnr = scores(chosen, m, d["op"], d["y_test"], test, key_test)[0]
        trace[step] = float(jnp.mean(psnr))
        if trace_path is not None:
            store.write_json(trace_path, {str(k): v for k, v in sorted(trace.items())})

    r = bj.fit_until_converged(
        jax.tree_util.Partial(train_loss, method, min(c.batch_size, fit_d["y"].shape[0]), fit_d),
        model,
        key=key_train,
        validation=jax.tree_util.Partial(validation_loss, method, val_d),
        num_steps=c.max_steps,
        eval_every=c.eval_every,
        patience=c.patience,
        min_steps=c.min_steps,
        min_delta=c.min_delta,
        learning_rate=schedule(c),
        checkpoint=checkpoint,
        log_every=c.eval_every * 5,
        progress=progress,
        on_evaluate=record,
        name=f"{task.name}/{method}",
    )
    per_rule, example = {}, None
    for rule in rules(method, ill):
        psnr, ssim, ex = scores(rule, r.model, d["op"], d["y_test"], test, key_test)
        per_rule[rule] = {
            "psnr": np.asarray(psnr, np.float64).tolist(),
            "ssim": np.asarray(ssim, np.float64).tolist(),
        }
        if rule == chosen:
            example = np.asarray(ex, np.float64).round(4).tolist()
    steps, losses = thin(r.losses)
    passes = FORWARD_PASSES.get(method, 1) * min(c.batch_size, fit_d["y"].shape[0])
    return {
        "steps": r.stopped_at,
        "best_step": r.best_step,
        "reason": r.reason,
        "forward_passes": r.stopped_at * passes,
        "train_curve": {"steps": steps, "loss": losses},
        "validation_curve": {
            "steps": r.eval_steps.tolist(),
            "loss": r.eval_values.tolist(),
        },
        "test_psnr_curve": {
            "steps": [int(s) for s in r.eval_steps],
            "psnr": [trace.get(int(s)) for s in r.eval_steps],
        },
        "rules": per_rule,
        "example": example,
    }


def run_unit(c: ImagingConfig, task, method: str, *, work_dir=None, progress=None) -> dict:
    """Train `method` on `task`, one seed after the other (each stops at its own step, on its
    own held-out measurements); per seed its curves and the test scores of every inference
    rule. With `work_dir`, each seed checkpoints there and a killed run resumes mid-seed."""
    test = images(c, task.data).test
    data = all_seed_data(c, task, family=method == "moi")
    keys_model = _seed_keys(c, task.name, 1)
    keys_train = _seed_keys(c, task.name, 2)
    keys_test = _seed_keys(c, task.name, 3)
    ill = ill_conditioned(_take(data, 0)["op"], task.sigma(c) or 0.0)
    data = precompute_reference(c, task, data)
    seeds = []
    for s in range(c.seeds):
        d = _take(data, s)
        d["sigma"] = task.sigma(c) or 0.0
        ckpt = None if work_dir is None else os.path.join(work_dir, f"seed{s}.ckpt")
        seeds.append(
            train_seed(
                c,
                task,
                method,
                d,
                test,
                key_model=keys_model[s],
                key_train=keys_train[s],
                key_test=keys_test[s],
                checkpoint=ckpt,
                progress=progress,
                ill=ill,
            )
        )
    chosen = rules(method, ill)[0]
    return {
        "rule": chosen,
        "ill_conditioned": ill,
        "forward_passes_per_step": FORWARD_PASSES.get(method, 1),
        "seeds": [{k: v for k, v in sd.items() if k not in ("rules", "example")} for sd in seeds],
        "rules": {
            rule: {metric: [sd["rules"][rule][metric] for sd in seeds] for metric in METRICS}
            for rule in rules(method, ill)
        },
        "psnr": [float(np.mean(sd["rules"][chosen]["psnr"])) for sd in seeds],
        "ssim": [float(np.mean(sd["rules"][chosen]["ssim"])) for sd in seeds],
        "example": seeds[0]["example"],
    }


def unit_digest(c: ImagingConfig, task: str, method: str) -> str:
    """Identifies a saved unit: the settings it depends on (not the lists of tasks and
    methods, so that adding one keeps the others), the unit and all of the package's code."""
    setting = {k: v for k, v in c.as_dict().items() if k not in ("tasks", "methods")}
    return _unit_digest(setting, "imaging", task=task, method=method)


def _summary(values) -> dict:
    s = bj.summarize(values)
    return {"mean": s["mean"], "ci95": s["ci95"], "n_seeds": s["n_trials"]}


def _gap(value, low, high):
    """The fraction of the reference-to-supervised gap closed (None without a gap)."""
    return None if abs(high - low) < 1e-12 else (value - low) / (high - low)


def _per_source(psnr_images, source, names) -> dict:
    """Mean PSNR over seeds and over each source image's test images."""
    per_image = np.mean(np.asarray(psnr_images, np.float64), axis=0)
    source = np.asarray(source)
    return {
        name: float(per_image[source == i].mean())
        for i, name in enumerate(names)
        if np.any(source == i)
    }


def _row(unit: dict, source, names) -> dict:
    """One method's summary: the chosen rule's scores, every rule's, steps and passes."""
    row = {metric: _summary(unit[metric]) for metric in METRICS}
    row["rule"] = unit["rule"]
    row["rules"] = {
        rule: {metric: _summary(np.mean(v[metric], axis=1)) for metric in METRICS}
        for rule, v in unit["rules"].items()
    }
    row["per_source_psnr"] = _per_source(unit["rules"][unit["rule"]]["psnr"], source, names)
    if "seeds" in unit:
        seeds = unit["seeds"]
        row["steps"] = _summary([sd["steps"] for sd in seeds])
        row["best_step"] = [sd["best_step"] for sd in seeds]
        row["stopped_by"] = [sd["reason"] for sd in seeds]
        row["forward_passes_per_step"] = unit["forward_passes_per_step"]
        row["forward_passes"] = _summary([sd["forward_passes"] for sd in seeds])
    return row


def _checkpoint_dir(out: str, task: str, method: str, digest: str, fresh: bool) -> str:
    """The unit's folder of per-seed checkpoints, emptied when it belongs to another unit
    digest (other settings or code: its checkpoints cannot be resumed) or with `fresh`."""
    path = os.path.join(out, "imaging", task, f"{method}.checkpoints")
    stamp = os.path.join(path, "digest")
    try:
        with open(stamp) as f:
            same = f.read().strip() == digest
    except OSError:
        same = False
    if os.path.isdir(path) and (fresh or not same):
        shutil.rmtree(path)
    os.makedirs(path, exist_ok=True)
    if not os.path.exists(stamp):
        store.atomic_write(stamp, digest.encode())
    return path


def imaging(config: ImagingConfig, out: str, *, fresh: bool = False) -> dict:
    """Run (or resume) every unit; write DIR/imaging.json, DIR/figures/imaging_*.png and a
    section of DIR/report.md."""
    c = config.validate()
    check_writable(out)
    t0 = time.perf_counter()
    units = [(t, REFERENCE) for t in c.tasks]
    skipped = {}
    for t in c.tasks:
        for m in c.methods:
            why = applicable(TASKS[t], m, c)
            if why is None and f"{t}/{m}" in c.dropped:
                why = "left out of this run for its budget (ImagingConfig.dropped)"
            if why is None:
                units.append((t, m))
            else:
                skipped.setdefault(t, {})[m] = why
    units.sort(key=lambda u: c.tasks.index(u[0]))
    say = progress_printer(len(units))
    saved = {}
    for i, (t, m) in enumerate(units, 1):
        label = f"{t}/{m}"
        path = os.path.join(out, "imaging", t, f"{m}.json")
        digest = unit_digest(c, t, m)

        def compute(t=t, m=m, label=label, digest=digest):
            t_unit = time.perf_counter()
            if m == REFERENCE:
                unit = run_reference(c, TASKS[t])
            else:
                work = _checkpoint_dir(out, t, m, digest, fresh)
                unit = run_unit(
                    c,
                    TASKS[t],
                    m,
                    work_dir=work,
                    progress=lambda name, s, n, loss: training_printer(name, s, n, loss),
                )
                shutil.rmtree(work)  # the unit is saved next: its checkpoints are done with
            write_timing(out, f"imaging/{label}", time.perf_counter() - t_unit)
            return unit

        required = (*METRICS, "rules", "example") + (
            ("truth", "measurement") if m == REFERENCE else ("seeds",)
        )
        unit = load_or_compute(
            path,
            digest,
            compute,
            fmt=UNIT_FORMAT,
            writer="bridge-jax imaging",
            required=required,
            say=lambda status, i=i, label=label: say(i, label, status),
            fresh=fresh,
        )
        saved[(t, m)] = unit
    results, curves, per_image = {}, {}, {}
    for t in c.tasks:
        im = images(c, TASKS[t].data)
        rows = {}
        for (tt, m), unit in saved.items():
            if tt == t:
                rows[m] = _row(unit, im.test_source, im.names)
                if "seeds" in unit:
                    curves.setdefault(t, {})[m] = [
                        {k: sd[k] for k in ("train_curve", "validation_curve", "test_psnr_curve")}
                        for sd in unit["seeds"]
                    ]
        per_image[t] = {
            m: np.asarray(saved[(t, m)]["rules"][saved[(t, m)]["rule"]]["psnr"]) for m in rows
        }
        # Paired by seed (the same operator, noise, initialisation and minibatches for every
        # method): the per-seed PSNR difference to mc and its 95% t-interval.
        if (t, "mc") in saved:
            for m in rows:
                if m not in (REFERENCE, "mc"):
                    diff = np.subtract(saved[(t, m)]["psnr"], saved[(t, "mc")]["psnr"])
                    rows[m]["psnr_minus_mc"] = _summary(diff)
        low, high = rows[REFERENCE], rows.get("supervised")
        for row in rows.values():
            row["gap_closed"] = {
                metric: None
                if high is None
                else _gap(row[metric]["mean"], low[metric]["mean"], high[metric]["mean"])
                for metric in METRICS
            }
        results[t] = rows
    result = {
        "format": FORMAT,
        "config": c.as_dict(),
        "definitions": {
            "tasks": {t: TASKS[t].description for t in c.tasks},
            "reference": {t: TASKS[t].reference_name for t in c.tasks},
            "ei_group": {t: TASKS[t].group_name for t in c.tasks},
            "test_sources": {t: list(images(c, TASKS[t].data).names) for t in c.tasks},
            "metrics": "PSNR (dB) and SSIM (7x7 uniform window) against the ground truth, "
            "data range 1, outputs not clipped, averaged over the test images; per seed, "
            "then mean and 95% t-interval over seeds",
            "gap_closed": "(method - pinv) / (supervised - pinv) on the mean of each metric",
            "psnr_minus_mc": "per-seed PSNR difference method - mc (paired: the same seed's "
            "operator, noise, initialisation and minibatches), mean and 95% t-interval",
            "network": f"UNet(scales={c.scales}, width={c.width}) on "
            + ("A^* y" if c.net_input == "adjoint" else "the task's lower reference (A^+ y)")
            + " for every method",
            "training": STOPPING,
            "rules": {
                **{
                    m: {"well_posed": list(rules(m)), "ill_conditioned": list(rules(m, True))}
                    for m in c.methods
                },
                REFERENCE: {"well_posed": ["reference"], "ill_conditioned": ["reference"]},
            },
            "rule_definitions": RULE_DEFINITIONS,
            "rule_choice": "each method is reported by the first of its rules, fixed in advance "
            "(no ground truth chooses it): its paper's, except where the operator is "
            "ill-conditioned (a non-zero singular value below sigma times the largest, from "
            "the operator and the known noise level alone: `ill_conditioned` per unit), where "
            "Noise2Self's J-invariant rule and Noisier2Noise's correction need the exact A^+ "
            "and are replaced by the split mean and f(y); the others are in `rules`",
            "forward_passes": "network forward passes per training image and step (x the "
            "minibatch per step); `forward_passes` = those used until the stop",
        },
        "results": results,
        "conclusions": expectations(per_image),
        "curves": curves,
        "not_run": skipped,
    }
    store.write_json(os.path.join(out, "imaging.json"), result)
    examples = {t: {m: saved[(t, m)]["example"] for (tt, m) in saved if tt == t} for t in c.tasks}
    shown = {t: {k: saved[(t, REFERENCE)][k] for k in ("truth", "measurement")} for t in c.tasks}
    figures = plot(result, examples, shown, os.path.join(out, "figures"))
    elapsed = time.perf_counter() - t0
    write_timing(out, "imaging", elapsed)
    write_section(out, section(result, figures, out, elapsed=elapsed), BEGIN, END)
    return result


STOPPING = (
    "each seed trains alone (Adam, minibatch `batch_size`, learning rate warmed up linearly "
    "over `warmup_steps` then cosine-decayed to 0 at the cap `max_steps`) until its validation "
    "value has not improved in `patience` evaluations (one every `eval_every` steps, "
    "improvement = lower by more than `min_delta`), but not before `min_steps`, or the cap; "
    "the model kept is the one with "
    "the best validation value. Validation = the method's own loss on held-out measurements "
    "(the last `val_fraction` of the training images, measured like the rest, never trained "
    "on), with a fixed key; for the supervised reference the MSE on those held-out pairs. "
    "The test PSNR at each evaluation is recorded, never used to stop"
)


def _names(text: str, allowed, what: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if not names:
        raise UserError(f"--{what} needs at least one name of {', '.join(allowed)}; got {text!r}.")
    unknown = [s for s in names if s not in allowed]
    if unknown:
        raise UserError(f"--{what}: unknown {unknown}; allowed: {', '.join(allowed)}.")
    return names


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    parser.add_argument(
        "--tasks",
        help=f"comma-separated subset of {','.join(IMAGING_TASKS)} (default: "
        f"{','.join(DEFAULT_IMAGING_TASKS)})",
    )
    parser.add_argument(
        "--methods",
        help=f"comma-separated subset of {','.join(IMAGING_METHODS)},supervised (default: all)",
    )
    parser.add_argument("--seeds", type=int, help="seeds per (task, method) (default 3)")
    parser.add_argument(
        "--steps", type=int, help="the cap on training steps per seed (default 2000)"
    )
    parser.add_argument("--width", type=int, help="UNet width (default 16)")
    parser.add_argument(
        "--net-input",
        choices=("adjoint", "pinv"),
        help="the network's input: the task's lower reference A^+ y (Landweber for CT, y for "
        "deblurring; the default), or A^* y",
    )
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument(
        "--all-units",
        action="store_true",
        help="also run the (task, method) units the default run leaves out for its budget",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny setting (smoke test)")
    parser.add_argument("--fresh", action="store_true", help="recompute saved units")


def run_from_args(args) -> int:
    overrides = {}
    if args.tasks is not None:
        overrides["tasks"] = _names(args.tasks, IMAGING_TASKS, "tasks")
    if args.methods is not None:
        overrides["methods"] = _names(args.methods, IMAGING_METHODS + ("supervised",), "methods")
    if args.all_units:
        overrides["dropped"] = ()
    flags = {
        "seeds": "seeds",
        "seed": "seed",
        "steps": "max_steps",
        "width": "width",
        "net_input": "net_input",
    }
    config = study_config(ImagingConfig, args, flags, **overrides)
    imaging(config, args.out, fresh=args.fresh)
    print(
        f"wrote {os.path.join(args.out, 'imaging.json')} and a section of "
        f"{os.path.join(args.out, 'report.md')}",
        file=sys.stderr,
    )
    return 0


def main(argv=None, prog="python -m bridge_jax.studies.imaging") -> int:
    from bridge_jax.studies import main as run_study

    return run_study("imaging", argv, prog)
