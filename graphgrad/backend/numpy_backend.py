"""numpy as a graphgrad array namespace: numpy's own functions plus two adjoints."""
import numpy as np
from numpy import (  # noqa: F401  (the namespace's public functions)
    broadcast_to, matmul, reshape, swapaxes, transpose,
)


def _keep_numbers_weak(ufunc):
    """``ufunc``, except that a Python number gives a Python float, not np.float64:
    a number operand takes the other operand's dtype, so ``2 ** x`` with float32
    ``x`` keeps float32 gradients (∂/∂x involves log 2)."""
    def apply(x):
        y = ufunc(x)
        return float(y) if type(x) in (int, float) else y  # not np.float64, a subclass
    apply.__name__ = apply.__qualname__ = ufunc.__name__
    return apply


exp, log, tanh = (_keep_numbers_weak(f) for f in (np.exp, np.log, np.tanh))


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the adjoint of ``np.broadcast_to(·, shape)``.

    Leading axes that broadcasting added are summed away; axes where ``shape`` has
    1 and ``x`` does not are summed with ``keepdims``.
    """
    xshape = getattr(x, "shape", ())
    if xshape == shape:
        return x
    shape = tuple(shape)
    lead = len(xshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and xshape[lead + i] != 1)
    y = np.sum(x, axis=axes, keepdims=True)
    return y.reshape(shape) if lead else y


def getitem_grad(gy, index, shape):
    """Scatter ``gy`` into zeros of ``shape`` at ``index``: the adjoint of ``x[index]``.

    Repeated integer indices accumulate (``np.add.at``).
    """
    gx = np.zeros(shape, dtype=np.result_type(gy))
    np.add.at(gx, index, gy)
    return gx
