"""Units (one (task, method) with its seeds trained as one vmapped batch of models), saved as
they finish and resumed; the summary, imaging.json and the command line."""

from __future__ import annotations

import os
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import bridge_jax as bj
from bridge_jax import store
from bridge_jax.studies._config import IMAGING_METHODS, IMAGING_TASKS, ImagingConfig
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
from bridge_jax.studies.imaging.plot import BEGIN, END, plot, section
from bridge_jax.studies.imaging.tasks import CS_POOL, TASKS, applicable, images

FORMAT = "bridge_jax.imaging/1"
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
    psnr = jax.vmap(lambda a, b: bj.psnr(a, b, data_range=1.0))(out, truth)
    ssim = jax.vmap(lambda a, b: bj.ssim(a, b, data_range=1.0))(out, truth)
    return jnp.mean(psnr), jnp.mean(ssim)


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
    return {
        "psnr": np.asarray(psnr, np.float64).tolist(),
        "ssim": np.asarray(ssim, np.float64).tolist(),
        "example": np.asarray(example[0], np.float64).round(4).tolist(),
        "truth": np.asarray(test[0], np.float64).round(4).tolist(),
        "measurement": np.asarray(shown[0], np.float64).round(4).tolist(),
    }


def over_seeds(fn, *trees):
    """`fn` on each seed's slice of `trees` (a leading seed axis on their arrays), stacked.

    On a CPU the seeds run one after the other (`lax.map`): XLA:CPU runs a convolution
    vmapped over its weights (one UNet per seed) as a grouped convolution about 4x slower
    than the seeds in turn (measured: 0.57 s against 0.14 s for a gradient of 3 UNets of
    width 8 on 8 MNIST images each). Elsewhere (GPU) they run as one batch (`vmap`).
    """
    if jax.default_backend() != "cpu":
        return eqx.filter_vmap(fn)(*trees)
    arrays, static = eqx.partition(trees, eqx.is_array)
    return jax.lax.map(lambda a: fn(*eqx.combine(a, static)), arrays)


def make_models(c: ImagingConfig, task, method: str, keys):
    """One fresh method per key (a vmapped batch): a UNet trained by `method`."""
    sigma = task.sigma(c) or 0.0
    n = 28 * 28 if task.data == "mnist" else c.patch_size**2

    def make(k):
        k_net, k_method = jr.split(k)
        net = bj.UNet(scales=c.scales, width=c.width, key=k_net)
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

    return eqx.filter_vmap(make)(keys)


def run_unit(c: ImagingConfig, task, method: str, *, progress=None) -> dict:
    """Train `method` on `task` for every seed at once; PSNR/SSIM on the test images."""
    train, test = images(c, task.data)[:2]
    data = all_seed_data(c, task, family=method == "moi")
    sigma = task.sigma(c) or 0.0
    n_train, b = train.shape[0], min(c.batch_size, train.shape[0])
    models = make_models(c, task, method, _seed_keys(c, task.name, 1))

    def one_loss(model, d, k):
        k_idx, k_loss = jr.split(k)
        idx = jr.choice(k_idx, n_train, (b,), replace=False)
        if method == "moi":
            ops = _take(d["fam"], d["assign"][idx])
            y = d["y_fam"][idx]
            batch = bj.Batch(ops, y, sigma=sigma, shared_op=False, u=y)
        else:
            y = d["y_train"][idx]
            x = d["x_train"][idx] if method == "supervised" else None
            batch = bj.Batch(d["op"], y, sigma=sigma, x=x, u=y)
        return model.loss(batch, key=k_loss)

    def loss_fn(models, k):
        # The sum over seeds: each seed's gradient is its own (see `fit`).
        return jnp.sum(over_seeds(one_loss, models, data, jr.split(k, c.seeds)))

    models, losses = bj.fit(
        loss_fn,
        models,
        key=_seed_keys(c, task.name, 2)[0],
        num_steps=c.train_steps,
        learning_rate=c.learning_rate,
        log_every=max(1, c.train_steps // 4),
        progress=progress,
        name=f"{task.name}/{method}",
    )

    @eqx.filter_jit
    def evaluate(models, data, test, keys):
        def one(model, d, k):
            ks = jr.split(k, test.shape[0])
            out = jax.vmap(lambda y, kk: model.output(d["op"], y, y, key=kk))(d["y_test"], ks)
            return (*_metrics(out, test), out[0])

        return over_seeds(one, models, data, keys)

    psnr, ssim, example = evaluate(models, data, test, _seed_keys(c, task.name, 3))
    return {
        "psnr": np.asarray(psnr, np.float64).tolist(),
        "ssim": np.asarray(ssim, np.float64).tolist(),
        "example": np.asarray(example[0], np.float64).round(4).tolist(),
        "final_loss": float(np.asarray(losses)[-1]) / c.seeds,
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

        def compute(t=t, m=m, label=label):
            t_unit = time.perf_counter()
            if m == REFERENCE:
                unit = run_reference(c, TASKS[t])
            else:
                unit = run_unit(
                    c,
                    TASKS[t],
                    m,
                    progress=lambda name, s, n, loss: training_printer(name, s, n, loss / c.seeds),
                )
            write_timing(out, f"imaging/{label}", time.perf_counter() - t_unit)
            return unit

        required = (*METRICS, "example") + (("truth", "measurement") if m == REFERENCE else ())
        unit = load_or_compute(
            path,
            unit_digest(c, t, m),
            compute,
            fmt=UNIT_FORMAT,
            writer="bridge-jax imaging",
            required=required,
            say=lambda status, i=i, label=label: say(i, label, status),
            fresh=fresh,
        )
        saved[(t, m)] = unit
    results = {}
    for t in c.tasks:
        rows = {}
        for (tt, m), unit in saved.items():
            if tt == t:
                rows[m] = {metric: _summary(unit[metric]) for metric in METRICS}
        # Paired by seed (the same operator, noise, initialisation and minibatches for every
        # method): the per-seed PSNR difference to mc and its 95% t-interval.
        if (t, "mc") in saved:
            for (tt, m), unit in saved.items():
                if tt == t and m not in (REFERENCE, "mc"):
                    diff = np.subtract(unit["psnr"], saved[(t, "mc")]["psnr"])
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
            "metrics": "PSNR (dB) and SSIM (7x7 uniform window) against the ground truth, "
            "data range 1, outputs not clipped, averaged over the test images; per seed, "
            "then mean and 95% t-interval over seeds",
            "gap_closed": "(method - pinv) / (supervised - pinv) on the mean of each metric",
            "psnr_minus_mc": "per-seed PSNR difference method - mc (paired: the same seed's "
            "operator, noise, initialisation and minibatches), mean and 95% t-interval",
            "network": f"UNet(scales={c.scales}, width={c.width}) on A^* y for every method",
        },
        "results": results,
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
        "--tasks", help=f"comma-separated subset of {','.join(IMAGING_TASKS)} (default: all)"
    )
    parser.add_argument(
        "--methods",
        help=f"comma-separated subset of {','.join(IMAGING_METHODS)},supervised (default: all)",
    )
    parser.add_argument("--seeds", type=int, help="seeds per (task, method) (default 3)")
    parser.add_argument("--steps", type=int, help="training steps (default 160)")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="a tiny setting (smoke test)")
    parser.add_argument("--fresh", action="store_true", help="recompute saved units")


def run_from_args(args) -> int:
    overrides = {}
    if args.tasks is not None:
        overrides["tasks"] = _names(args.tasks, IMAGING_TASKS, "tasks")
    if args.methods is not None:
        overrides["methods"] = _names(args.methods, IMAGING_METHODS + ("supervised",), "methods")
    flags = {"seeds": "seeds", "seed": "seed", "steps": "train_steps"}
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
