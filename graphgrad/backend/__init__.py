"""Array namespaces: the functions node code calls on arrays *or* on tensors.

A node's ``backward`` is written once, against a namespace ``xp``:

* on plain arrays (the usual first-order sweep, or a node used standalone in the
  DLFS layer style) ``xp`` is :mod:`graphgrad.backend.numpy_backend`: numpy plus
  the two helpers numpy lacks, ``sum_to`` and ``getitem_grad``;
* on tensors (``create_graph=True``) ``xp`` is :mod:`graphgrad.functions`, so the
  same code records a differentiable graph of the backward pass.
"""
from ..tensor import Tensor
from . import numpy_backend


def get_namespace(*values):
    """``graphgrad.functions`` if any value is a Tensor, else the numpy namespace."""
    for value in values:
        if isinstance(value, Tensor):
            from .. import functions
            return functions
    return numpy_backend


def shape_of(value):
    """The shape of an array, tensor or scalar (a number has shape ``()``)."""
    return getattr(value, "shape", ())
