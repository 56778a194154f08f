"""The book's multiplication and addition layers (ch5, ``layer_naive.py``): graphgrad's
``Mul`` and ``Add`` nodes, which already follow the book's forward/backward API:

```python
mul = MulLayer()
mul.forward(100, 2)   # 200
mul.backward(1)       # (2, 100)
```

Called on tensors (``MulLayer()(apple, num)``) they record themselves in a graph.
"""
from ..nodes import Add, Mul


class MulLayer(Mul):
    """z = x · y;  backward(dout) = (dout · y, dout · x). ``x`` and ``y`` hold the
    latest forward's operands (None before), as in the book."""

    __slots__ = ()

    def __init__(self):
        self.x = self.y = None


class AddLayer(Add):
    """z = x + y;  backward(dout) = (dout, dout)."""

    __slots__ = ()
