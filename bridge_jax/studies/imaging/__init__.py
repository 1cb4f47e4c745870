"""A self-supervised imaging benchmark that runs on a CPU: which methods learn a
reconstruction from measurements alone, and how much of the gap between the pseudoinverse and
supervised training do they close?

Question: measurement consistency with one fixed operator cannot see the null space of A;
equivariant imaging (EI, a transform group the signal set is invariant to) and multi-operator
imaging (MOI, several operators) can. Does that hold for a learned network on real images,
and what do the denoising-style losses (Noise2Self, SSDU, Noisier2Noise, SURE, R2R) reach?

Definitions (all stated in imaging.json too):
- Tasks. MNIST 28x28 (the 5,000-digit subset of `load_mnist`; `mnist_train` training and
  `mnist_test` test digits): mnist_denoise (A = I, Gaussian sigma 0.2), mnist_poisson (A = I,
  y = g Poisson(x/g), gain g = 0.05), mnist_inpaint (50% of the pixels, one random mask per
  seed), mnist_cs (Gaussian A, m = n/4 = 196). `patch_size` x `patch_size` (32 x 32) patches
  of scikit-image's images (`load_image_patches`, 3 held-out test images): ct (Radon, 40
  evenly spaced angles per 64 pixels of side, 20 on 32 x 32, scaled by 1/sqrt(angles x side)
  to norm ~1), mri (4x Cartesian lines, 8% centre, one mask per seed), deblur
  (circular Gaussian blur of 1.5 px), sr (x2 box downsampling, scaled by 2 so that
  A A^T = I). Gaussian noise `sigma` (0.03) on the measurements of every task but the two
  denoising ones.
- Network: one `UNet(scales, width)` on A^* y for every method (its last layer starts at zero:
  untrained, it returns A^* y). Methods: `make_method(name, reconstructor=UNet)`: mc
  (measurement consistency alone), noise2self and ssdu (evaluated as trained: each measured
  row predicted by splits that hid it, `split_inference`), ei (per-task group: circular
  shifts; small rotations for CT; 90-degree rotations for MRI; the transformed
  reconstruction measured again with the task's noise model, Poisson included),
  noisier2noise, sure, r2r (the last
  three with the known Gaussian sigma), moi (trained on measurements with one operator per
  training image: a random mask / Cartesian mask / set of random angles, as many as the
  fixed operator's (20 on 32 x 32) / random anisotropic blur kernel per image, one of 16
  Gaussian matrices for CS; tested like the others on the seed's fixed operator),
  supervised (the upper reference). Not run where they do not apply (stated in the
  report): MOI without a family (denoising, sr), the Gaussian-noise methods on Poisson
  noise, SURE and R2R on complex (MRI) data. The SSRL
  methods (simclr, byol, dino, mae) learn representations, not reconstructions: not in this
  benchmark.
- Lower reference 'pinv': y for denoising and deblurring (the blurred image), the zero-filled
  A^T y = A^+ y for inpainting and MRI, A^+ y for CS, nearest-neighbour upsampling
  (= A^T y = A^+ y) for sr, 50 Landweber steps from 0 for CT (the exact A^+ y amplifies the noise).
- Training: `train_steps` Adam steps on minibatches of `batch_size` training measurements;
  `seeds` seeds, each its own operator draw, noise, initialisation and minibatches, trained at
  once as one batch of models (one compilation per (task, method); `vmap` over the seeds on a
  GPU, `lax.map` on a CPU, where XLA runs convolutions vmapped over weights ~4x slower).
- Scores: PSNR and SSIM (data range 1, outputs not clipped) averaged over the test images per
  seed; mean and 95% t-interval over seeds; gap closed = (method - pinv) / (supervised - pinv)
  of the mean.
"""

from bridge_jax.studies.imaging.plot import BEGIN, END, expectations, plot, section
from bridge_jax.studies.imaging.run import (
    FORMAT,
    UNIT_FORMAT,
    add_arguments,
    imaging,
    main,
    run_from_args,
    run_reference,
    run_unit,
    unit_digest,
)
from bridge_jax.studies.imaging.tasks import TASKS, Task, applicable

__all__ = [
    "BEGIN",
    "END",
    "FORMAT",
    "TASKS",
    "UNIT_FORMAT",
    "Task",
    "add_arguments",
    "applicable",
    "expectations",
    "imaging",
    "main",
    "plot",
    "run_from_args",
    "run_reference",
    "run_unit",
    "section",
    "unit_digest",
]
