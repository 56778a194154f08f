"""Every primitive operation as a node class with ``forward`` and ``backward``.

Each works on its own in the DLFS layer style (``Mul().forward(100, 2) == 200``)
and, called on tensors, records itself in the graph.
"""
from .arithmetic import Add, Div, Mul, Neg, Pow, Sub
from .cast import Cast
from .conv import Col2im, Fold, Im2col, MaxPool, PoolGather, PoolScatter, Unfold
from .device import ToDevice
from .elementwise import Exp, Log, Maximum, OverflowingExp, Relu, Tanh
from .fused import OneHot, Sigmoid, SoftmaxWithLoss
from .linalg import Dot, MatMul, MatMulAdd
from .reduction import BroadcastTo, Max, Mean, Sum, SumTo
from .shape import Copy, GetItem, GetItemGrad, Reshape, SetItem, Transpose

__all__ = [
    "Col2im", "Fold", "Im2col", "MaxPool", "PoolGather", "PoolScatter", "Unfold",
    "Add", "BroadcastTo", "Cast", "Copy", "Div", "Dot", "Exp", "GetItem", "GetItemGrad",
    "Log", "MatMul", "MatMulAdd", "Max", "Maximum", "Mean", "Mul", "Neg", "OneHot", "OverflowingExp",
    "Pow", "Relu", "Reshape", "SetItem", "Sub",
    "Sigmoid", "SoftmaxWithLoss", "Sum", "SumTo", "Tanh", "ToDevice", "Transpose",
]
