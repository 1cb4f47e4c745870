"""One trial: its problems (`make_trial`), training a method on every trial at once
(`train`), scoring it (`evaluate`) and the classical baselines (`baselines`)."""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

import bridge_jax as bj
from bridge_jax.studies._common import image_transform, signal_source
from bridge_jax.studies._config import MethodsConfig
from bridge_jax.studies._runner import training_printer


def make_trial(key, kind: str, value: float, c: MethodsConfig) -> dict:
    """One trial's training and test `Batch`es and the initial Landweber step (unbatched):
    one `bj.Problem` (the configured signals; a Gaussian A shared by every signal, or a fresh
    inpainting mask per signal) samples 2N signals, the first N to train, the others to test
    (disjoint digits: the data set is drawn without replacement)."""
    k = jr.split(key, 3)
    if kind == "cs":
        op = bj.GaussianSensing(c.n, c.m, key=k[0])
        operator, sigma, step = op, value, bj.default_step_size(op)
    else:
        keep = c.n - int(round(value * c.n))

        def operator(kk):
            return bj.Subsample(jnp.sort(jr.permutation(kk, c.n)[:keep]), c.n)

        sigma, step = c.inpaint_sigma, jnp.asarray(1.0)
    problem = bj.Problem(signal_source(c), operator, bj.GaussianNoise(sigma))
    x, ops, y = problem.sample_many(2 * c.signals, key=k[1])
    out = {"step": step}
    for i, split in enumerate(("train", "test")):
        part = slice(i * c.signals, (i + 1) * c.signals)
        ops_i = ops if kind == "cs" else jax.tree_util.tree_map(lambda a, p=part: a[p], ops)
        out[split] = bj.Batch(ops_i, y[part], sigma=sigma, x=x[part], shared_op=kind == "cs")
    return out


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


def init_methods(name: str, c: MethodsConfig, keys, steps, sigmas):
    def one(k, step, sigma):
        extra = {}
        if c.data == "digits":
            t = jax.vmap(
                lambda kk: bj.transform_matrix(functools.partial(image_transform(c), key=kk), c.n)
            )(jr.split(jr.fold_in(k, 7), 16))
            extra = dict(
                views=bj.ViewBank.from_transforms(t, sigma=c.aug_noise),
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
    return name not in bj.SSRL_METHODS and c.reconstructor == "unrolled_shrinkage"


def _per_trial(fn, batches: bj.Batch, c: MethodsConfig, ms, k):
    # The same random minibatch for the loss and the update of a step (DINO's centre).
    k_batch, k_method = jr.split(k)
    index = jr.choice(k_batch, c.signals, (min(c.batch_size, c.signals),), replace=False)
    full = c.batch_size >= c.signals

    def one(m, b, kk):
        return fn(m, b if full else b.subset(index), kk)

    return eqx.filter_vmap(one)(ms, batches, jr.split(k_method, c.trials))


def _loss(batches, c, ms, k):
    return jnp.sum(_per_trial(lambda m, b, kk: m.loss(b, key=kk), batches, c, ms, k))


def _update(batches, c, ms, k):
    return _per_trial(lambda m, b, kk: m.update(b, key=kk), batches, c, ms, k)


def step_functions(data: dict, c: MethodsConfig):
    """`(loss, update)` of a training step for a batch of models (one per trial), each
    `fn(models, key)`: the loss summed over trials, and the methods' own updates (EMA
    targets, DINO's centre). They carry the training batches as pytree leaves (`Partial`), so
    `fit` takes them as inputs of its compiled step: the settings of one problem share it."""
    return (
        jax.tree_util.Partial(_loss, data["train"], c),
        jax.tree_util.Partial(_update, data["train"], c),
    )


def train(name: str, data: dict, c: MethodsConfig, key, checkpoint: str | None):
    """Train one method on every trial at once (a batch of models, one compiled step)."""
    methods = init_methods(
        name, c, jr.split(jr.fold_in(key, 0), c.trials), data["step"], data["train"].sigma
    )
    loss, update = step_functions(data, c)
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
        progress=training_printer,
        name=name,
    )


def _landweber_from(batch: bj.Batch, x0, num_steps: int):
    def one(o, y, x0i):
        return bj.landweber(o, y, x0=x0i, num_steps=num_steps, throw=False)[0]

    return batch.map(one, x0)


def _axis_options(c: MethodsConfig) -> dict:
    """`measure_axes`'s augmentation and transform group for the study's data."""
    if c.data == "digits":
        return dict(augment_fn=image_views(c), transform=image_group(c))
    return dict(angle=c.angle, aug_noise=c.aug_noise)


class EvaluationDraws(eqx.Module):
    """One trial's random draws for `evaluate` (`evaluation_draws`): the keys of the test
    reconstructions and the representation's readout, and `measure_axes`'s draws."""

    keys: jax.Array
    readout_key: jax.Array
    axes: bj.AxisDraws


def evaluation_draws(test_b: bj.Batch, key, c: MethodsConfig) -> EvaluationDraws:
    """What `evaluate` draws from `key`, drawn apart from the method: one program per problem
    shape draws them for every method, and each method's evaluation program has no
    random-number code of its own (most of its operations before, and of its compile time)."""
    k = jr.split(key, 3)
    axes = bj.draw_axes(
        test_b.op,
        test_b.x,
        key=k[2],
        sigma=test_b.sigma,
        shared_op=test_b.shared_op,
        **_axis_options(c),
    )
    return EvaluationDraws(jr.split(k[0], test_b.size), k[1], axes)


def evaluate(method, train_b: bj.Batch, test_b: bj.Batch, draws, c: MethodsConfig) -> dict:
    """Test MSE and measured axes of one trained method on one trial (unbatched); `draws` is
    `evaluation_draws(test_b, key, c)`."""
    keys = draws.keys
    out = {}
    if method.domain == "imaging":

        def represent(o, y, *, key):
            return method.output(o, y, None, key=key)

        reconstruct = represent
        x_hat = test_b.map(lambda o, y, kk: represent(o, y, key=kk), keys)
    else:
        feats = train_b.map(
            lambda o, y, u: method.output(o, y, u, key=draws.readout_key), train_b.u
        )
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
    options = _axis_options(c)
    out.update(
        bj.measure_axes(
            represent,
            reconstruct,
            test_b.op,
            test_b.x,
            draws=draws.axes,
            shared_op=test_b.shared_op,
            transform=options.get("transform"),
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
