import jax
import jax.numpy as jnp
import jax.random as jr

import bridge_jax as bj

k_op, k_x, k_noise, k_views, k_ei = jr.split(jr.key(0), 5)
op = bj.GaussianSensing(64, 32, key=k_op)  # A: 32 x 64, entries N(0, 1/m)
xs = bj.sparse_signals(200, 64, 8, key=k_x)  # 200 signals in R^64, 8-sparse
ys = jax.vmap(op.mv)(xs) + 0.05 * jr.normal(k_noise, (200, 32))

# A solver acts on ONE measurement; vmap batches it, jit compiles it.
x_hat, losses = jax.jit(jax.vmap(lambda y: bj.landweber(op, y, num_steps=100)))(ys)
print(f"Landweber MSE {float(jnp.mean((x_hat - xs) ** 2)):.4f}")

# The paper's statistics: SSRL views, their covariance C_SSRL, and what random subspaces give.
views = jax.vmap(lambda k, x: bj.augmentations(x, 10, key=k, angle=0.1, sigma=0.1))(
    jr.split(k_views, 200), xs
)
c_ssrl = bj.augmentation_covariance(views)
align = bj.subspace_alignment(bj.leading_subspace(c_ssrl, 32), bj.row_space(op))
null = bj.random_subspace_baseline(64, 32, key=jr.key(1)).alignment.mean()
print(f"subspace alignment {float(align):.3f} (random subspaces: {float(null):.3f})")

# Equivariant Imaging: a reconstructor trained from the measurements alone.
batch = bj.Batch(op, ys, sigma=0.05)  # no ground truth in it
ei = bj.make_method("ei", 64, key=k_ei, step=bj.default_step_size(op))
ei, curve = bj.fit(lambda m, k: m.loss(batch, key=k), ei, key=jr.key(2), num_steps=50)
x_ei = jax.vmap(lambda y: ei.output(op, y, None, key=jr.key(3)))(ys)
print(f"EI loss {float(curve[0]):.4f} -> {float(curve[-1]):.4f}")
