"""ONNX forms of the fused nodes: Sigmoid, SoftmaxWithLoss and OneHot.

SoftmaxWithLoss is written with the ONNX operators of graphgrad's own forward
(log-sum-exp after max-subtraction, then the targets' log-probabilities). ONNX
Runtime's OneHot has no float64 kernel: float64 rows are made in float32 and cast,
which is exact (they hold 0 and 1).
"""
import numpy as np

from ...nodes import OneHot, Sigmoid, SoftmaxWithLoss
from ...nodes.fused import are_labels
from ..builder import INT64


def sigmoid(ctx, node, out):
    """Sigmoid(x in the result's dtype: float64 for integers, as in numpy)"""
    return ctx.g.op("Sigmoid", ctx.operands(node, out.dtype))


def softmax_with_loss(ctx, node, out):
    """−(1/N) Σₙ log softmax(xₙ)[tₙ] from ReduceMax, Exp, ReduceSum, Log and either
    GatherElements (labels) or a product with the one-hot rows."""
    g = ctx.g
    x_tensor, t_tensor = node.inputs
    x, t = ctx.operands(node)
    n = x_tensor.shape[0] if x_tensor.ndim > 1 else 1
    z = g.op("Sub", [x, g.reduce("ReduceMax", x, [x_tensor.ndim - 1], keepdims=True)])
    log_s = g.op("Log", [g.reduce("ReduceSum", g.op("Exp", [z]), [x_tensor.ndim - 1],
                                  keepdims=True)])
    if are_labels(x_tensor._data, np.asarray(t_tensor._data)):
        rows = g.reshape(z, (-1, x_tensor.shape[-1]))
        labels = g.reshape(g.cast(t, INT64), (-1, 1))
        picked = g.op("GatherElements", [rows, labels], axis=1)
        total = g.op("Sub", [g.reduce("ReduceSum", log_s, None, False),
                             g.reduce("ReduceSum", picked, None, False)])
    else:
        terms = g.op("Mul", [g.cast(t, out.dtype), g.op("Sub", [log_s, z])])
        total = g.reduce("ReduceSum", terms, None, False)
    return g.op("Div", [total, g.constant(n, out.dtype)])


def one_hot(ctx, node, out):
    """OneHot(labels, classes, [0, 1]) for integer labels; one-hot rows are cast."""
    g = ctx.g
    (t,) = ctx.operands(node)
    if not are_labels(node.like, np.asarray(node.inputs[0]._data)):
        return g.cast(t, out.dtype)
    values = g.constant([0, 1], np.float32)
    depth = g.constant(node.like.shape[-1], INT64)
    rows = g.op("OneHot", [g.cast(t, INT64), depth, values], dtype=np.float32, axis=-1)
    return g.cast(rows, out.dtype)


EXPORTS = {Sigmoid: sigmoid, SoftmaxWithLoss: softmax_with_loss, OneHot: one_hot}
