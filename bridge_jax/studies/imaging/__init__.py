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
  of scikit-image's 16 bundled images (`load_image_patches(split="regions")`: every image a
  test source, `test_patches_per_image` test patches from a band of it that no training
  patch touches, flat test patches redrawn): ct (sparse view: the patches inside the
  inscribed disc, Radon with m/n ~0.3 (7 evenly spaced angles on 32 x 32), scaled by
  1/sqrt(angles x side) to norm ~1), mri (4x Cartesian lines, 8% centre, one mask per
  seed), deblur (circular Gaussian blur of 1.5 px), sr (x2 box downsampling, scaled by 2 so
  that A A^T = I). Gaussian noise `sigma` (0.03) on the measurements of every task but the
  two denoising ones. EI's transform group per task: circular shifts (MNIST, deblurring,
  super-resolution), rotations by any angle about the disc centre (CT), 90-degree rotations
  (MRI); EI's weight 10 on compressed sensing (the EI code's), 0.016 on CT (the EI code's
  100 for an unscaled Radon, rescaled to ours of norm ~1), 1 elsewhere.
- Network: one `UNet(scales, width)` (2 scales, width 16) for every method, on the task's
  lower reference (`net_input` "pinv", the default: A^+ y, Landweber for CT, y for
  deblurring, as the EI and MOI code feed theirs; where that reference is an SVD or a
  Landweber solve, its matrix is formed once per operator, each operator of MOI's family
  included, and applied in each forward pass) or on A^* y (`net_input` "adjoint"); its last
  layer starts at zero, so untrained it returns its input. Methods: `make_method(name,
  reconstructor=UNet, **task.method_kwargs)`: mc (measurement consistency alone),
  noise2self, ssdu, ei (per-task group, the transformed reconstruction measured again with
  the task's noise model), rei (robust EI: SURE, or PURE for Poisson noise, plus EI's
  term; on the denoising tasks, where plain EI with A = I learns nothing), noisier2noise,
  sure, r2r (the last three with the known Gaussian sigma), moi (trained on measurements
  with one operator per training image, tested like the others on the seed's fixed
  operator), supervised (the reference trained on pairs).
  Not run where they do not apply (stated in the report). The SSRL methods learn
  representations, not reconstructions: not in this benchmark.
- Lower reference 'pinv': each task's `reference_name` (A^+ y where it is cheap and stable,
  Landweber for CT, y for denoising and deblurring).
- Training to convergence, by a rule without ground truth: each seed trains alone (its own
  operator, noise, initialisation and minibatches; one program reused) with Adam on
  minibatches of `batch_size`, the learning rate warmed up linearly over `warmup_steps`
  and cosine-decayed to 0 at the cap `max_steps` (a fixed function of the step: every
  method gets the same schedule and a killed run resumes exactly; reduce-on-plateau would
  act on the noisy minibatch loss). Every `eval_every` steps the method's OWN loss is taken
  on held-out measurements (the last `val_fraction` of the training images, measured like
  the others and never trained on; a fixed key, so the value is deterministic; supervised:
  the MSE on those held-out pairs); training stops when it has not improved for `patience`
  evaluations (never before `min_steps`: a network that starts as the identity on a good
  input may first get worse on held-out data), or at the cap, and the best evaluated model
  is kept
  (`fit_until_converged`, checkpointed: a killed unit resumes mid-training). The test PSNR
  at each evaluation is recorded, never used.
- Inference: each method is reported by its paper's rule, fixed in advance (no ground truth
  chooses it): Noise2Self the J-invariant prediction (each measured row predicted by the
  splits that hid it; Batson & Royer), SSDU the network on the full y (Yaman et al.),
  Noisier2Noise the corrected estimate 2 A f(z) - z in data space mapped back with the exact
  A^+ (Moran et al.; ill-posed where A is ill-conditioned: f(y) beside it), R2R the average
  over recorrupted copies (Pang et al.), the others f(y). Where the operator is
  ill-conditioned (a non-zero singular value below sigma times the largest: decided from
  the operator and the noise level alone; CT and deblurring here) the exact A^+ that the
  J-invariant rule and the correction need amplifies the noise past the signal: there
  Noise2Self is reported by the split mean and Noisier2Noise by f(y). The alternatives (the
  paper rule there, the split mean of deepinv, the library's weighted split inference and
  noise-cut correction, f(y)) are measured beside it and reported.
- Scores: PSNR and SSIM (data range 1, outputs not clipped) per test image, averaged per
  seed; mean and 95% t-interval over seeds; per source image; gap closed = (method - pinv)
  / (supervised - pinv) of the mean. Each expectation of `plot.EXPECTATIONS` (a one-sided
  claim on a paired PSNR difference against a threshold fixed in advance) is held / failed
  / undecided from the 95% t-interval of the per-seed differences, with a bootstrap
  interval over the test images beside it. Forward passes per image and step are recorded
  (Noise2Self one per split) with those used until each stop.
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
