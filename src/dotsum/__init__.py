"""dotsum: Keras, TensorFlow and NumPy tensor products with their exact reference semantics,
each compiled to one inspectable einsum :class:`Plan` and run as one XLA call.

>>> from dotsum import keras as K
>>> print(K.dot.plan((2, 3, 4), (7, 6, 4, 5)).subscripts)
abk,cdkf->abcdf
"""

from dotsum import keras, ops, tf
from dotsum._dispatch import clear_caches
from dotsum._lower import Lowering
from dotsum._plan import Operand, Plan

__all__ = ["Lowering", "Operand", "Plan", "clear_caches", "keras", "ops", "tf"]
__version__ = "0.1.0"
