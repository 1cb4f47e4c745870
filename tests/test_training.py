"""`fit_until_converged`: the stopping rule, the best model, schedules and resuming."""

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import optax
import pytest

import bridge_jax as bj


def _count_up(m, k):
    return -m  # gradient -1: SGD with learning rate 1 puts the model at the step count


def _sequence(values, m):
    return values[jnp.round(m).astype(jnp.int32)]  # the validation value after m updates


def _synthetic(values, **kw):
    """Validation `values[k]` after k updates (a model that counts its steps)."""
    seq = jtu.Partial(_sequence, jnp.asarray(values, jnp.float32))
    kw.setdefault("num_steps", len(values) - 1)
    return bj.fit_until_converged(
        _count_up, jnp.zeros(()), key=jr.key(0), validation=seq, optimizer=optax.sgd(1.0), **kw
    )


SEQ = [5.0, 4.0, 3.0, 3.5, 2.9, 3.0, 3.0, 3.0] + [1.0] * 12


def test_stops_when_patience_runs_out_and_returns_the_best_model():
    # best 5, 4, 3, then 3.5 (1 without improvement), 2.9 (best), 3, 3, 3 (3 without): stop.
    r = _synthetic(SEQ, eval_every=1, patience=3)
    assert (r.reason, r.stopped_at, r.best_step) == ("patience", 7, 4)
    assert float(r.model) == 4.0 and float(r.last_model) == 7.0  # best, and where it stopped
    np.testing.assert_array_equal(r.eval_steps, np.arange(8))
    np.testing.assert_allclose(r.eval_values, SEQ[:8])
    assert r.best_value == pytest.approx(2.9) and r.losses.shape == (7,)
    np.testing.assert_allclose(r.losses, -np.arange(7.0))  # the loss before each update


def test_min_delta_and_patience_semantics():
    # 2.9 beats 3 by 0.1 < min_delta 0.2: no improvement, so steps 3, 4, 5 exhaust patience 3.
    r = _synthetic(SEQ, eval_every=1, patience=3, min_delta=0.2)
    assert (r.reason, r.stopped_at, r.best_step, float(r.model)) == ("patience", 5, 2, 2.0)
    # Patience counts evaluations, not steps: every 2 steps the values are 5, 3, 2.9, 3, 1, 1..
    r = _synthetic(SEQ, eval_every=2, patience=2)
    np.testing.assert_array_equal(r.eval_steps, [0, 2, 4, 6, 8, 10, 12])
    assert (r.reason, r.stopped_at, r.best_step) == ("patience", 12, 8)
    r = _synthetic(SEQ, eval_every=2, patience=1)
    assert (r.reason, r.stopped_at, r.best_step) == ("patience", 6, 4)


def test_the_cap_is_respected_and_the_last_step_evaluated():
    r = _synthetic(SEQ, num_steps=5, eval_every=2, patience=10)
    assert (r.reason, r.stopped_at, r.best_step) == ("num_steps", 5, 4)
    np.testing.assert_array_equal(r.eval_steps, [0, 2, 4, 5])  # and after the last update
    assert r.losses.shape == (5,) and float(r.last_model) == 5.0


def test_the_starting_model_can_be_the_best():
    r = _synthetic([1.0, 2.0, 2.0, 2.0, 2.0], eval_every=1, patience=2)
    assert (r.best_step, r.stopped_at, float(r.model)) == (0, 2, 0.0)


def test_a_schedule_sets_the_learning_rate_of_each_step():
    # loss = w has a constant gradient 1, so each Adam update is -learning_rate(k) (up to
    # Adam's eps); validation = w records the trajectory.
    schedule = optax.warmup_cosine_decay_schedule(0.0, 0.1, 4, 12, end_value=0.01)
    r = bj.fit_until_converged(
        lambda w, k: w,
        jnp.zeros(()),
        key=jr.key(0),
        validation=lambda w: w,
        num_steps=12,
        eval_every=1,
        patience=100,
        learning_rate=schedule,
    )
    expected = np.asarray([schedule(k) for k in range(12)])
    # (float32 parameters: w is rounded to ~1e-8 at every step)
    np.testing.assert_allclose(-np.diff(r.eval_values), expected, rtol=1e-5, atol=1e-6)
    # fit takes the same schedule.
    w, _ = bj.fit(
        lambda w, k: w, jnp.zeros(()), key=jr.key(0), num_steps=12, learning_rate=schedule
    )
    np.testing.assert_allclose(float(w), -expected.sum(), rtol=1e-5)


def test_reduce_on_plateau_sees_the_loss():
    plateau = optax.contrib.reduce_on_plateau(factor=0.5, patience=2, accumulation_size=1)

    def scale(loss_fn):
        r = bj.fit_until_converged(
            loss_fn,
            jnp.zeros(()),
            key=jr.key(0),
            validation=lambda w: 0.0 * w,
            num_steps=10,
            eval_every=10,
            patience=5,
            optimizer=optax.chain(optax.sgd(0.1), plateau),
        )
        return float(r.opt_state[-1].scale)

    def reference(values):  # optax's rule fed the same losses directly
        state = plateau.init(jnp.zeros(()))
        for v in values:
            _, state = plateau.update(jnp.zeros(()), state, value=jnp.float32(v))
        return float(state.scale)

    assert scale(lambda w, k: -w) == reference(-0.1 * np.arange(10)) == 1.0  # falling: kept
    flat = reference(np.ones(10))
    assert flat < 1.0 and scale(lambda w, k: 0.0 * w + 1.0) == flat  # flat: lowered


def _noisy_quadratic(target, w, k):
    return jnp.sum((w - target + 0.3 * jr.normal(k, w.shape)) ** 2)


def _distance(target, w):
    return jnp.sum((w - target) ** 2)


def test_resume_stops_where_an_uninterrupted_run_stops(tmp_path):
    target = jnp.linspace(-1.0, 1.0, 4)
    run = dict(
        key=jr.key(3),
        validation=jtu.Partial(_distance, target),
        num_steps=400,
        eval_every=5,
        patience=3,
        min_delta=1e-3,
        learning_rate=0.1,
    )
    loss = jtu.Partial(_noisy_quadratic, target)
    whole = bj.fit_until_converged(loss, jnp.zeros(4), **run)
    assert whole.reason == "patience" and 20 < whole.stopped_at < 400

    class Stop(Exception):
        pass

    def interrupt(name, step, num_steps, value):
        if step == 20:
            raise Stop

    path = str(tmp_path / "run.ckpt")
    with pytest.raises(Stop):
        bj.fit_until_converged(
            loss,
            jnp.zeros(4),
            checkpoint=path,
            checkpoint_every=10,
            log_every=1,
            progress=interrupt,
            **run,
        )
    resumed = bj.fit_until_converged(loss, jnp.zeros(4), checkpoint=path, **run)
    for r in (resumed, bj.fit_until_converged(loss, jnp.zeros(4), checkpoint=path, **run)):
        # the second call finds the finished run's checkpoint and returns its result
        assert (r.reason, r.stopped_at, r.best_step) == (
            whole.reason,
            whole.stopped_at,
            whole.best_step,
        )
        np.testing.assert_array_equal(r.model, whole.model)
        np.testing.assert_array_equal(r.last_model, whole.last_model)
        np.testing.assert_array_equal(r.eval_steps, whole.eval_steps)
        np.testing.assert_allclose(r.eval_values, whole.eval_values, rtol=1e-12)
        np.testing.assert_allclose(r.losses, whole.losses, rtol=1e-12)
    # Another stopping rule is another run: its checkpoint is not resumed.
    with pytest.raises(ValueError, match="not a usable checkpoint"):
        bj.fit_until_converged(loss, jnp.zeros(4), checkpoint=path, **{**run, "patience": 4})


def _split_loss(op, ys, model, k):
    keys = jr.split(k, ys.shape[0])
    one = lambda y, kk: bj.measurement_split_loss(model, op, y, key=kk)  # noqa: E731
    return jnp.mean(jax.vmap(one)(ys, keys))


def _unit(op, y_train, y_held, x_test, peek=False):
    """A tiny self-supervised unit: SSDU on compressed sensing, stopped on held-out
    measurements (the method's own loss with fixed splits), scored on test images."""
    if peek:  # a rule that looks at the ground truth, to show the check can fail
        validation = jtu.Partial(
            lambda xs, m: jnp.mean((jax.vmap(lambda x: m(op, op.mv(x)))(xs) - xs) ** 2), x_test
        )
    else:
        validation = jtu.Partial(lambda ys, m: _split_loss(op, ys, m, jr.key(99)), y_held)
    model = bj.UnrolledShrinkage(16, num_iters=3, step=bj.default_step_size(op))
    r = bj.fit_until_converged(
        jtu.Partial(_split_loss, op, y_train),
        model,
        key=jr.key(1),
        validation=validation,
        num_steps=60,
        eval_every=4,
        patience=3,
        learning_rate=3e-2,
    )
    x_hat = jax.vmap(lambda x: r.model(op, op.mv(x)))(x_test)
    return r, float(jnp.mean((x_hat - x_test) ** 2))


def test_the_stopping_rule_uses_no_ground_truth(key):
    k_op, k_x, k_e, k_t = jr.split(key, 4)
    op = bj.GaussianSensing(16, 8, key=k_op)
    xs = bj.sparse_signals(48, 16, 3, key=k_x)
    ys = jax.vmap(op.mv)(xs) + 0.05 * jr.normal(k_e, (48, 8))
    y_train, y_held, x_test = ys[:24], ys[24:32], xs[32:]
    other_test = bj.sparse_signals(16, 16, 3, key=k_t)  # other ground-truth test images
    results = [
        _unit(op, y_train, y_held, t)
        for t in (x_test, x_test[::-1], jr.permutation(k_t, x_test), other_test)
    ]
    first = results[0][0]
    for r, _ in results[1:]:
        assert (r.stopped_at, r.best_step, r.reason) == (
            first.stopped_at,
            first.best_step,
            first.reason,
        )
        np.testing.assert_array_equal(r.eval_values, first.eval_values)
        for a, b in zip(
            jax.tree_util.tree_leaves(r.model), jax.tree_util.tree_leaves(first.model), strict=True
        ):
            np.testing.assert_array_equal(a, b)
    assert results[3][1] != results[0][1]  # the test score did see the other images
    # A rule that peeks at the test images does change with them: the check can fail.
    peeked = [_unit(op, y_train, y_held, t, peek=True)[0] for t in (x_test, other_test)]
    assert not np.array_equal(peeked[0].eval_values, peeked[1].eval_values)


def test_min_steps_lets_a_run_through_an_early_dip():
    """A run that first gets worse (a network that starts as the identity on a good input):
    patience alone stops it at its start; with min_steps it goes on and finds the later
    improvement, and it still stops by patience once past min_steps."""
    dip = [2.0, 2.2, 2.4, 2.3, 2.1, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    plain = _synthetic(dip, eval_every=1, patience=3)
    assert (plain.reason, plain.stopped_at, plain.best_step) == ("patience", 3, 0)
    late = _synthetic(dip, eval_every=1, patience=3, min_steps=5)
    assert (late.reason, late.stopped_at, late.best_step) == ("patience", 9, 6)
    assert float(late.model) == 6.0
    with pytest.raises(TypeError, match="min_steps must be a Python int >= 0"):
        _synthetic(dip, min_steps=-1)


def test_bad_arguments_are_refused():
    fit = lambda **kw: bj.fit_until_converged(  # noqa: E731
        _count_up, jnp.zeros(()), key=jr.key(0), num_steps=3, **kw
    )
    with pytest.raises(TypeError, match="validation must be callable"):
        fit(validation=None)
    with pytest.raises(ValueError, match="patience"):
        fit(validation=lambda m: m, patience=0)
    with pytest.raises(ValueError, match="eval_every"):
        fit(validation=lambda m: m, eval_every=0)
    with pytest.raises(ValueError, match="min_delta"):
        fit(validation=lambda m: m, min_delta=-1.0)
    with pytest.raises(ValueError, match="scalar"):
        fit(validation=lambda m: jnp.stack([m, m]))


def test_on_evaluate_sees_every_evaluation_and_steers_nothing():
    seen = []

    def record(step, model, value):
        seen.append((step, value, float(model)))

    r = _synthetic(SEQ, eval_every=2, patience=2, on_evaluate=record)
    plain = _synthetic(SEQ, eval_every=2, patience=2)
    assert [s for s, _, _ in seen] == list(r.eval_steps) == list(plain.eval_steps)
    assert [m for _, _, m in seen] == [float(s) for s in r.eval_steps]  # the model evaluated
    np.testing.assert_allclose([v for _, v, _ in seen], r.eval_values)
    assert (r.stopped_at, r.best_step) == (plain.stopped_at, plain.best_step)
    with pytest.raises(TypeError, match="on_evaluate must be callable"):
        _synthetic(SEQ, on_evaluate=3)
