"""ONNX export and import of graphgrad graphs (the ``onnx`` extra:
``pip install 'graphgrad[onnx]'``).

    import graphgrad.onnx
    graphgrad.onnx.export(lambda x, t: net.loss_graph(x, t), (x, t), "net.onnx",
                          gradients=True)        # outputs: the loss, grad_W1, …
    model = graphgrad.onnx.load("net.onnx")       # a callable rebuilding the graph
    loss, *grads = model(x, t)

``import graphgrad`` does not import this package (nor onnx).
"""
from .export import export
from .load import load
from .ops import UnsupportedOperationError

__all__ = ["export", "load", "UnsupportedOperationError"]
