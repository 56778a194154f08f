"""Neural-network layers with the DLFS names, built from graphgrad nodes.

```python
layer = Affine(W, b)
y = layer(x)                  # in a graph: Tensors in and out, scope "Affine"
out = layer.forward(x_array)  # DLFS protocol: numpy in and out
dx = layer.backward(dout)     # ... then layer.dW, layer.db
```
"""
from ..nodes.conv import col2im, fold, im2col, unfold
from .conv import Convolution, Pooling
from .layer import Layer
from .layers import Affine, BatchNormalization, Dropout, Relu, Sigmoid, SoftmaxWithLoss

__all__ = [
    "Affine", "BatchNormalization", "Convolution", "Dropout", "Layer", "Pooling", "Relu",
    "Sigmoid", "SoftmaxWithLoss", "col2im", "fold", "im2col", "unfold",
]
