"""bridge_jax: self-supervised representation learning meets self-supervised imaging.

Every function acts on one unbatched signal; batch with `jax.vmap`. Everything exported
here is the public API.
"""

import importlib.metadata

from ._augmentations import ViewBank as ViewBank
from ._augmentations import add_noise as add_noise
from ._augmentations import augment as augment
from ._augmentations import augmentations as augmentations
from ._augmentations import cyclic_shift as cyclic_shift
from ._augmentations import random_masking as random_masking
from ._augmentations import random_rotation as random_rotation
from ._augmentations import random_shift as random_shift
from ._augmentations import random_skew as random_skew
from ._compat import check_jaxlib as _check_jaxlib
from ._data import load_digits as load_digits
from ._images import Blur as Blur
from ._images import image_blur as image_blur
from ._images import image_crop as image_crop
from ._images import image_flip as image_flip
from ._images import image_rotate as image_rotate
from ._images import image_shift as image_shift
from ._images import random_image_augmentation as random_image_augmentation
from ._images import transform_matrix as transform_matrix
from ._learned_augment import LearnableAugmentation as LearnableAugmentation
from ._losses import ei_loss as ei_loss
from ._losses import measurement_consistency_loss as measurement_consistency_loss
from ._losses import measurement_split_loss as measurement_split_loss
from ._losses import noise2self_loss as noise2self_loss
from ._losses import noisier as noisier
from ._losses import noisier2noise_estimate as noisier2noise_estimate
from ._losses import noisier2noise_loss as noisier2noise_loss
from ._losses import supervised_loss as supervised_loss
from ._methods import BYOL as BYOL
from ._methods import DINO as DINO
from ._methods import EI as EI
from ._methods import IMAGING_METHODS as IMAGING_METHODS
from ._methods import MAE as MAE
from ._methods import METHODS as METHODS
from ._methods import SSDU as SSDU
from ._methods import SSRL_METHODS as SSRL_METHODS
from ._methods import AbstractMethod as AbstractMethod
from ._methods import Batch as Batch
from ._methods import Noise2Self as Noise2Self
from ._methods import Noisier2Noise as Noisier2Noise
from ._methods import SimCLR as SimCLR
from ._methods import Supervised as Supervised
from ._methods import make_method as make_method
from ._models import Encoder as Encoder
from ._models import MLPReconstructor as MLPReconstructor
from ._models import UnrolledNet as UnrolledNet
from ._models import UnrolledShrinkage as UnrolledShrinkage
from ._operators import AbstractMatrixOperator as AbstractMatrixOperator
from ._operators import Composed as Composed
from ._operators import GaussianSensing as GaussianSensing
from ._operators import LinearOperator as LinearOperator
from ._operators import Mask as Mask
from ._operators import MatrixOperator as MatrixOperator
from ._operators import Subsample as Subsample
from ._operators import operator_norm as operator_norm
from ._operators import pinv_solve as pinv_solve
from ._operators import random_mask as random_mask
from ._phase import PhaseRetrieval as PhaseRetrieval
from ._phase import amplitude_flow as amplitude_flow
from ._phase import amplitude_gradient as amplitude_gradient
from ._phase import amplitude_loss as amplitude_loss
from ._phase import relative_error as relative_error
from ._phase import spectral_init as spectral_init
from ._schedules import chebyshev_steps as chebyshev_steps
from ._schedules import constant_best_step as constant_best_step
from ._schedules import spectrum_bounds as spectrum_bounds
from ._signals import sparse_signal as sparse_signal
from ._signals import sparse_signals as sparse_signals
from ._solvers.ista import fista as fista
from ._solvers.ista import ista as ista
from ._solvers.ista import soft_threshold as soft_threshold
from ._solvers.landweber import default_step_size as default_step_size
from ._solvers.landweber import landweber as landweber
from ._solvers.landweber import landweber_gram as landweber_gram
from ._solvers.landweber import measurement_loss as measurement_loss
from ._solvers.lmmse import LMMSE as LMMSE
from ._solvers.lmmse import lmmse_apply as lmmse_apply
from ._solvers.lmmse import lmmse_fit as lmmse_fit
from ._solvers.spectral import SVD as SVD
from ._solvers.spectral import landweber_spectral as landweber_spectral
from ._solvers.spectral import operator_svd as operator_svd
from ._spectral import augmentation_covariance as augmentation_covariance
from ._spectral import effective_rank as effective_rank
from ._spectral import eigenspectrum as eigenspectrum
from ._spectral import normalize_spectrum as normalize_spectrum
from ._spectral import operator_spectrum as operator_spectrum
from ._spectral import spectral_correlation as spectral_correlation
from ._ssrl_losses import byol_loss as byol_loss
from ._ssrl_losses import dino_loss as dino_loss
from ._ssrl_losses import ema_update as ema_update
from ._ssrl_losses import mae_loss as mae_loss
from ._ssrl_losses import nt_xent_loss as nt_xent_loss
from ._stats import proportion_interval as proportion_interval
from ._stats import summarize as summarize
from ._stats import summarize_success as summarize_success
from ._subspaces import SubspaceBaseline as SubspaceBaseline
from ._subspaces import grassmann_distance as grassmann_distance
from ._subspaces import leading_subspace as leading_subspace
from ._subspaces import null_space as null_space
from ._subspaces import principal_angles as principal_angles
from ._subspaces import random_subspace as random_subspace
from ._subspaces import random_subspace_baseline as random_subspace_baseline
from ._subspaces import row_space as row_space
from ._subspaces import subspace_alignment as subspace_alignment
from ._sweep import SweepError as SweepError
from ._sweep import auto_chunk as auto_chunk
from ._sweep import grid_points as grid_points
from ._sweep import run_sweep as run_sweep
from ._taxonomy import Taxonomy as Taxonomy
from ._taxonomy import cosine_similarity_matrix as cosine_similarity_matrix
from ._taxonomy import cross_domain_pairs as cross_domain_pairs
from ._taxonomy import load_taxonomy as load_taxonomy
from ._taxonomy import measure_axes as measure_axes
from ._training import fit as fit
from ._unrolled import UnrolledLandweber as UnrolledLandweber

_check_jaxlib()

__version__ = importlib.metadata.version("bridge_jax")
