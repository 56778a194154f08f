"""The names of "Deep Learning from Scratch", built on graphgrad, with the book's
signatures, so the book's code runs as printed:

```python
from graphgrad.book import sigmoid, softmax, cross_entropy_error
from graphgrad.book import MulLayer, Trainer
```

* ch3–4 functions (``step_function``, ``identity_function``, ``sigmoid``, ``relu``,
  ``softmax``, ``mean_squared_error``, ``cross_entropy_error``): numpy values in,
  numpy values out, as in the book; a tensor in, a recorded tensor out.
* ch4 gradients (``numerical_diff``, ``numerical_gradient``, ``gradient_descent``).
* ch5's ``MulLayer`` and ``AddLayer`` (graphgrad's ``Mul`` and ``Add`` nodes).
* ch6's ``Trainer``.

The book's layers and networks are ``graphgrad.nn`` and ``graphgrad.models``; numpy
functions (``np.dot``, ``np.exp``, …) work on tensors (``graphgrad.numpy_protocol``).
"""
from .functions import (
    cross_entropy_error, identity_function, mean_squared_error, relu, sigmoid, softmax,
    step_function,
)
from .gradient import gradient_descent, numerical_diff, numerical_gradient
from .layer_naive import AddLayer, MulLayer
from .trainer import Trainer

__all__ = [
    "AddLayer", "MulLayer", "Trainer", "cross_entropy_error", "gradient_descent",
    "identity_function", "mean_squared_error", "numerical_diff", "numerical_gradient",
    "relu", "sigmoid", "softmax", "step_function",
]
