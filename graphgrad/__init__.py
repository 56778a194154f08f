"""graphgrad: a small computation-graph autodiff engine on numpy.

```python
import graphgrad as gg
apple = gg.tensor(100.0, name="apple")
price = apple * 2 * 1.1
price.backward()          # apple.grad == 2.2
```
"""
from . import nodes
from .activations import cross_entropy_error, sigmoid, softmax, softmax_with_loss
from .autograd import grad
from .functions import (
    add, astype, broadcast_to, div, dot, exp, getitem, log, matmul, max, maximum, mean, mul,
    neg, pow, relu, reshape, sub, sum, sum_to, swapaxes, tanh, transpose,
)
from .node import Node
from .replay import compile
from .recording import Scope, Tape, detect_anomaly, is_grad_enabled, no_grad, scope
from .tensor import Tensor, tensor

__version__ = "0.1.0"
