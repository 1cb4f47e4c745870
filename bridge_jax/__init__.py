"""bridge_jax: self-supervised representation learning meets self-supervised imaging.

Every function acts on one unbatched signal; batch with `jax.vmap`. Everything exported
here is the public API.
"""

from importlib.metadata import version as _version

from ._analysis._identifiability import group_bounds as group_bounds
from ._analysis._identifiability import group_multiplicities as group_multiplicities
from ._analysis._identifiability import group_rank as group_rank
from ._analysis._identifiability import identifiable_dimension as identifiable_dimension
from ._analysis._identifiability import moi_bounds as moi_bounds
from ._analysis._identifiability import rank_condition as rank_condition
from ._analysis._identifiability import stacked_rank as stacked_rank
from ._analysis._metrics import mse as mse
from ._analysis._metrics import psnr as psnr
from ._analysis._metrics import ssim as ssim
from ._analysis._signal_models import GROUPS as GROUPS
from ._analysis._signal_models import fourier_basis as fourier_basis
from ._analysis._signal_models import fourier_frequencies as fourier_frequencies
from ._analysis._signal_models import group_action as group_action
from ._analysis._signal_models import group_matrices as group_matrices
from ._analysis._signal_models import invariant_subspace as invariant_subspace
from ._analysis._signal_models import random_union as random_union
from ._analysis._signal_models import sparse_in_basis_signal as sparse_in_basis_signal
from ._analysis._signal_models import subspace_signal as subspace_signal
from ._analysis._signal_models import supports as supports
from ._analysis._spectral import augmentation_covariance as augmentation_covariance
from ._analysis._spectral import (
    augmentation_covariance_operator as augmentation_covariance_operator,
)
from ._analysis._spectral import effective_rank as effective_rank
from ._analysis._spectral import eigenspectrum as eigenspectrum
from ._analysis._spectral import normalize_spectrum as normalize_spectrum
from ._analysis._spectral import operator_spectrum as operator_spectrum
from ._analysis._spectral import spectral_correlation as spectral_correlation
from ._analysis._stats import proportion_interval as proportion_interval
from ._analysis._stats import summarize as summarize
from ._analysis._stats import summarize_success as summarize_success
from ._analysis._taxonomy import AxisDraws as AxisDraws
from ._analysis._taxonomy import Taxonomy as Taxonomy
from ._analysis._taxonomy import cosine_similarity_matrix as cosine_similarity_matrix
from ._analysis._taxonomy import cross_domain_pairs as cross_domain_pairs
from ._analysis._taxonomy import draw_axes as draw_axes
from ._analysis._taxonomy import load_taxonomy as load_taxonomy
from ._analysis._taxonomy import measure_axes as measure_axes
from ._augment._images import image_blur as image_blur
from ._augment._images import image_crop as image_crop
from ._augment._images import image_flip as image_flip
from ._augment._images import image_rotate as image_rotate
from ._augment._images import image_shift as image_shift
from ._augment._images import random_circular_shift as random_circular_shift
from ._augment._images import random_flip as random_flip
from ._augment._images import random_image_augmentation as random_image_augmentation
from ._augment._images import random_rot90 as random_rot90
from ._augment._images import random_small_rotation as random_small_rotation
from ._augment._images import transform_matrix as transform_matrix
from ._augment._learned import LearnableAugmentation as LearnableAugmentation
from ._augment._vectors import ViewBank as ViewBank
from ._augment._vectors import augment as augment
from ._augment._vectors import augmentations as augmentations
from ._augment._vectors import cyclic_shift as cyclic_shift
from ._augment._vectors import random_masking as random_masking
from ._augment._vectors import random_rotation as random_rotation
from ._augment._vectors import random_shift as random_shift
from ._augment._vectors import random_skew as random_skew
from ._augment._vectors import rotate as rotate
from ._compat import check_jaxlib as _check_jaxlib
from ._compat import use_unrolled_threefry as use_unrolled_threefry
from ._data._bundled import IMAGE_NAMES as IMAGE_NAMES
from ._data._bundled import ImagePatches as ImagePatches
from ._data._bundled import load_digits as load_digits
from ._data._bundled import load_image as load_image
from ._data._bundled import load_image_patches as load_image_patches
from ._data._bundled import load_mnist as load_mnist
from ._data._problems import AbstractNoise as AbstractNoise
from ._data._problems import AbstractSource as AbstractSource
from ._data._problems import DatasetSource as DatasetSource
from ._data._problems import GaussianNoise as GaussianNoise
from ._data._problems import PoissonGaussianNoise as PoissonGaussianNoise
from ._data._problems import PoissonNoise as PoissonNoise
from ._data._problems import Problem as Problem
from ._data._problems import SparseSource as SparseSource
from ._data._problems import gaussian_noise as gaussian_noise
from ._data._problems import measure as measure
from ._data._problems import poisson_gaussian_noise as poisson_gaussian_noise
from ._data._problems import poisson_noise as poisson_noise
from ._data._sparse import sparse_signal as sparse_signal
from ._data._sparse import sparse_signals as sparse_signals
from ._linalg._core import gram as gram
from ._linalg._core import leading_eigenpairs as leading_eigenpairs
from ._linalg._core import masked_pinv_solve as masked_pinv_solve
from ._linalg._core import operator_norm as operator_norm
from ._linalg._core import pinv_solve as pinv_solve
from ._linalg._subspaces import SubspaceBaseline as SubspaceBaseline
from ._linalg._subspaces import grassmann_distance as grassmann_distance
from ._linalg._subspaces import leading_subspace as leading_subspace
from ._linalg._subspaces import null_space as null_space
from ._linalg._subspaces import principal_angles as principal_angles
from ._linalg._subspaces import random_subspace as random_subspace
from ._linalg._subspaces import random_subspace_baseline as random_subspace_baseline
from ._linalg._subspaces import row_space as row_space
from ._linalg._subspaces import subspace_alignment as subspace_alignment
from ._losses._imaging import cyclic_holdouts as cyclic_holdouts
from ._losses._imaging import ei_loss as ei_loss
from ._losses._imaging import measurement_consistency_loss as measurement_consistency_loss
from ._losses._imaging import measurement_split_loss as measurement_split_loss
from ._losses._imaging import moi_loss as moi_loss
from ._losses._imaging import noise2self_loss as noise2self_loss
from ._losses._imaging import noisier as noisier
from ._losses._imaging import noisier2noise_estimate as noisier2noise_estimate
from ._losses._imaging import noisier2noise_loss as noisier2noise_loss
from ._losses._imaging import pure_loss as pure_loss
from ._losses._imaging import r2r_loss as r2r_loss
from ._losses._imaging import recorrupt as recorrupt
from ._losses._imaging import rei_loss as rei_loss
from ._losses._imaging import row_groups as row_groups
from ._losses._imaging import supervised_loss as supervised_loss
from ._losses._imaging import sure_loss as sure_loss
from ._losses._ssrl import byol_loss as byol_loss
from ._losses._ssrl import dino_loss as dino_loss
from ._losses._ssrl import ema_update as ema_update
from ._losses._ssrl import mae_loss as mae_loss
from ._losses._ssrl import nt_xent_loss as nt_xent_loss
from ._methods._inference import split_inference as split_inference
from ._methods._methods import BYOL as BYOL
from ._methods._methods import DINO as DINO
from ._methods._methods import EI as EI
from ._methods._methods import IMAGING_METHODS as IMAGING_METHODS
from ._methods._methods import MAE as MAE
from ._methods._methods import METHODS as METHODS
from ._methods._methods import MOI as MOI
from ._methods._methods import R2R as R2R
from ._methods._methods import RECONSTRUCTORS as RECONSTRUCTORS
from ._methods._methods import SSDU as SSDU
from ._methods._methods import SSRL_METHODS as SSRL_METHODS
from ._methods._methods import SURE as SURE
from ._methods._methods import AbstractMethod as AbstractMethod
from ._methods._methods import AbstractStatelessMethod as AbstractStatelessMethod
from ._methods._methods import Batch as Batch
from ._methods._methods import MeasurementConsistency as MeasurementConsistency
from ._methods._methods import Noise2Self as Noise2Self
from ._methods._methods import Noisier2Noise as Noisier2Noise
from ._methods._methods import RobustEI as RobustEI
from ._methods._methods import SimCLR as SimCLR
from ._methods._methods import Supervised as Supervised
from ._methods._methods import make_method as make_method
from ._models._base import AbstractReconstructor as AbstractReconstructor
from ._models._base import num_parameters as num_parameters
from ._models._convolutional import AbstractDenoiser as AbstractDenoiser
from ._models._convolutional import DnCNN as DnCNN
from ._models._convolutional import UNet as UNet
from ._models._subspace_union import SparseInBasis as SparseInBasis
from ._models._subspace_union import SubspaceUnion as SubspaceUnion
from ._models._subspace_union import fit_subspaces as fit_subspaces
from ._models._unrolled import UnrolledLandweber as UnrolledLandweber
from ._models._unrolled import UnrolledNet as UnrolledNet
from ._models._unrolled import UnrolledProximalGradient as UnrolledProximalGradient
from ._models._unrolled import UnrolledShrinkage as UnrolledShrinkage
from ._models._vector import Encoder as Encoder
from ._models._vector import MLPReconstructor as MLPReconstructor
from ._operators import MRI as MRI
from ._operators import AbstractMatrixOperator as AbstractMatrixOperator
from ._operators import AbstractOperator as AbstractOperator
from ._operators import Blur as Blur
from ._operators import Downsample as Downsample
from ._operators import GaussianSensing as GaussianSensing
from ._operators import Mask as Mask
from ._operators import MatrixOperator as MatrixOperator
from ._operators import Radon as Radon
from ._operators import Reshaped as Reshaped
from ._operators import StructuredSensing as StructuredSensing
from ._operators import Subsample as Subsample
from ._operators import Transpose as Transpose
from ._operators import adjoint as adjoint
from ._operators import box_mask as box_mask
from ._operators import cartesian_mask as cartesian_mask
from ._operators import dense_matrix as dense_matrix
from ._operators import gaussian_kernel as gaussian_kernel
from ._operators import is_complex as is_complex
from ._operators import is_real_linear as is_real_linear
from ._operators import motion_kernel as motion_kernel
from ._operators import random_kernel as random_kernel
from ._operators import random_mask as random_mask
from ._operators import real_matrix as real_matrix
from ._run._memory import TooLargeError as TooLargeError
from ._run._memory import auto_chunk as auto_chunk
from ._run._memory import device_memory as device_memory
from ._run._memory import memory_needed as memory_needed
from ._run._sweep import SweepError as SweepError
from ._run._sweep import grid_points as grid_points
from ._run._sweep import run_sweep as run_sweep
from ._run._training import FitResult as FitResult
from ._run._training import fit as fit
from ._run._training import fit_scan as fit_scan
from ._run._training import fit_scan_restarts as fit_scan_restarts
from ._run._training import fit_until_converged as fit_until_converged
from ._run._trials import map_trials as map_trials
from ._solvers.ista import fista as fista
from ._solvers.ista import ista as ista
from ._solvers.ista import soft_threshold as soft_threshold
from ._solvers.landweber import default_step_size as default_step_size
from ._solvers.landweber import landweber as landweber
from ._solvers.landweber import landweber_gram as landweber_gram
from ._solvers.landweber import measurement_loss as measurement_loss
from ._solvers.landweber_closed_form import OperatorSVD as OperatorSVD
from ._solvers.landweber_closed_form import landweber_spectral as landweber_spectral
from ._solvers.landweber_closed_form import operator_svd as operator_svd
from ._solvers.lmmse import LMMSE as LMMSE
from ._solvers.lmmse import lmmse_apply as lmmse_apply
from ._solvers.lmmse import lmmse_fit as lmmse_fit
from ._solvers.phase_retrieval import PhaseRetrieval as PhaseRetrieval
from ._solvers.phase_retrieval import amplitude_flow as amplitude_flow
from ._solvers.phase_retrieval import amplitude_gradient as amplitude_gradient
from ._solvers.phase_retrieval import amplitude_loss as amplitude_loss
from ._solvers.phase_retrieval import relative_error as relative_error
from ._solvers.phase_retrieval import spectral_init as spectral_init
from ._solvers.schedules import chebyshev_steps as chebyshev_steps
from ._solvers.schedules import constant_best_step as constant_best_step
from ._solvers.schedules import spectrum_bounds as spectrum_bounds

_check_jaxlib()

__version__ = _version("bridge_jax")

# The public API: every name re-exported above, and nothing else (tests/test_docs.py checks
# that each is documented on an API page).
__all__ = [
    "AbstractDenoiser",
    "AbstractMatrixOperator",
    "AbstractMethod",
    "AbstractNoise",
    "AbstractOperator",
    "AbstractReconstructor",
    "AbstractSource",
    "AbstractStatelessMethod",
    "AxisDraws",
    "adjoint",
    "amplitude_flow",
    "amplitude_gradient",
    "amplitude_loss",
    "augment",
    "augmentation_covariance",
    "augmentation_covariance_operator",
    "augmentations",
    "auto_chunk",
    "Batch",
    "Blur",
    "box_mask",
    "BYOL",
    "byol_loss",
    "cartesian_mask",
    "chebyshev_steps",
    "constant_best_step",
    "cosine_similarity_matrix",
    "cross_domain_pairs",
    "cyclic_holdouts",
    "cyclic_shift",
    "DatasetSource",
    "default_step_size",
    "dense_matrix",
    "draw_axes",
    "device_memory",
    "DINO",
    "dino_loss",
    "DnCNN",
    "Downsample",
    "effective_rank",
    "EI",
    "ei_loss",
    "eigenspectrum",
    "ema_update",
    "Encoder",
    "fista",
    "fit",
    "FitResult",
    "fit_scan",
    "fit_scan_restarts",
    "fit_subspaces",
    "fit_until_converged",
    "fourier_basis",
    "fourier_frequencies",
    "gaussian_kernel",
    "gaussian_noise",
    "GaussianNoise",
    "GaussianSensing",
    "gram",
    "grassmann_distance",
    "grid_points",
    "group_action",
    "group_bounds",
    "group_matrices",
    "group_multiplicities",
    "group_rank",
    "GROUPS",
    "identifiable_dimension",
    "image_blur",
    "image_crop",
    "image_flip",
    "IMAGE_NAMES",
    "image_rotate",
    "image_shift",
    "ImagePatches",
    "IMAGING_METHODS",
    "invariant_subspace",
    "is_complex",
    "is_real_linear",
    "ista",
    "landweber",
    "landweber_gram",
    "landweber_spectral",
    "leading_eigenpairs",
    "leading_subspace",
    "LearnableAugmentation",
    "LMMSE",
    "lmmse_apply",
    "lmmse_fit",
    "load_digits",
    "load_image",
    "load_image_patches",
    "load_mnist",
    "load_taxonomy",
    "MAE",
    "mae_loss",
    "make_method",
    "map_trials",
    "Mask",
    "masked_pinv_solve",
    "MatrixOperator",
    "measure",
    "measure_axes",
    "measurement_consistency_loss",
    "measurement_loss",
    "measurement_split_loss",
    "MeasurementConsistency",
    "memory_needed",
    "METHODS",
    "RECONSTRUCTORS",
    "MLPReconstructor",
    "MOI",
    "moi_bounds",
    "moi_loss",
    "motion_kernel",
    "MRI",
    "mse",
    "Noise2Self",
    "noise2self_loss",
    "noisier",
    "Noisier2Noise",
    "noisier2noise_estimate",
    "noisier2noise_loss",
    "normalize_spectrum",
    "nt_xent_loss",
    "null_space",
    "num_parameters",
    "operator_norm",
    "operator_spectrum",
    "operator_svd",
    "PhaseRetrieval",
    "pinv_solve",
    "poisson_gaussian_noise",
    "poisson_noise",
    "PoissonGaussianNoise",
    "PoissonNoise",
    "principal_angles",
    "Problem",
    "proportion_interval",
    "psnr",
    "R2R",
    "r2r_loss",
    "Radon",
    "real_matrix",
    "random_circular_shift",
    "random_flip",
    "random_image_augmentation",
    "random_kernel",
    "random_mask",
    "random_masking",
    "random_rot90",
    "random_rotation",
    "random_shift",
    "random_skew",
    "random_small_rotation",
    "random_subspace",
    "random_subspace_baseline",
    "random_union",
    "rank_condition",
    "recorrupt",
    "relative_error",
    "Reshaped",
    "rotate",
    "row_groups",
    "row_space",
    "run_sweep",
    "SimCLR",
    "soft_threshold",
    "sparse_in_basis_signal",
    "sparse_signal",
    "sparse_signals",
    "SparseInBasis",
    "SparseSource",
    "spectral_correlation",
    "spectral_init",
    "spectrum_bounds",
    "split_inference",
    "SSDU",
    "ssim",
    "SSRL_METHODS",
    "stacked_rank",
    "StructuredSensing",
    "Subsample",
    "subspace_alignment",
    "subspace_signal",
    "SubspaceBaseline",
    "SubspaceUnion",
    "summarize",
    "summarize_success",
    "Supervised",
    "supervised_loss",
    "supports",
    "SURE",
    "sure_loss",
    "pure_loss",
    "rei_loss",
    "RobustEI",
    "OperatorSVD",
    "SweepError",
    "Taxonomy",
    "TooLargeError",
    "transform_matrix",
    "Transpose",
    "UNet",
    "UnrolledLandweber",
    "UnrolledNet",
    "UnrolledProximalGradient",
    "UnrolledShrinkage",
    "use_unrolled_threefry",
    "ViewBank",
]
