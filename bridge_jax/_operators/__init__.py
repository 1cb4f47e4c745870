"""Operators: lineax linear operators on arrays of any shape (see `_base.py`)."""

from ._base import AbstractOperator as AbstractOperator
from ._base import Conjugate as Conjugate
from ._base import Reshaped as Reshaped
from ._base import Transpose as Transpose
from ._base import adjoint as adjoint
from ._base import check_input as check_input
from ._base import check_operator as check_operator
from ._base import dense_matrix as dense_matrix
from ._base import is_complex as is_complex
from ._blur import Blur as Blur
from ._sensing import AbstractMatrixOperator as AbstractMatrixOperator
from ._sensing import GaussianSensing as GaussianSensing
from ._sensing import Mask as Mask
from ._sensing import MatrixOperator as MatrixOperator
from ._sensing import Subsample as Subsample
from ._sensing import random_mask as random_mask
