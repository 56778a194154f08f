"""Layer: the base of the DLFS layers, one graph function used two ways.

A subclass writes its computation once, as graph code on tensors (``graph``). Then

* ``layer(x)`` records it in the caller's graph, in a scope named after the layer,
  so a drawing shows the layer as one cluster;
* ``out = layer.forward(x)`` / ``dx = layer.backward(dout)`` is the DLFS protocol on
  numpy arrays: ``forward`` records the same graph on a fresh input tensor, and
  ``backward`` runs the engine's reverse sweep from ``out`` seeded with ``dout``.
  The gradient of each parameter lands on the layer as ``d<name>`` (``dW``, ``db``).

Each call also leaves the book's attributes on the layer (``Affine.x``,
``Relu.mask``, ``SoftmaxWithLoss.y``, …: numpy values of the latest call, as the
book's layers keep them; a ``gg.compile`` replay leaves those of the recorded
call), and a model's ``gradient`` sets ``d<name>`` as ``backward`` does.

Parameters are the attributes listed in ``param_names``. A numpy array there (the
model's own, shared with its ``params`` dict) is wrapped in a new leaf tensor on
every call, so in-place updates of the array train the layer; a Tensor there is used
as it is (to share it between layers, or to ``gradcheck`` the layer).

Names: the scope is the layer's ``name`` and each leaf is named by ``param_labels``
(parameter → name), both set by a model to its own keys (``Affine1``; ``W1``,
``b1``); a layer on its own uses its class name and the parameter names (``Affine``;
``W``, ``b``).
"""
from ..autograd import grad
from ..recording import scope
from ..tensor import Tensor, tensor


class Layer:
    """Base class: subclasses define ``graph(x, *args, <params>, **options)``."""

    param_names = ()
    uses_train_flg = False  # whether ``graph`` takes ``train_flg`` (Dropout, BatchNorm)
    name = None  # the scope's name (None: the class name)
    param_labels = {}  # parameter -> its leaf's name (absent: the parameter's own)

    def __call__(self, x, *args, **kwargs):
        """Record the layer on tensor ``x``; ``self.leaves`` holds the parameter tensors."""
        labels = self.param_labels
        self.leaves = {name: _leaf(getattr(self, name), labels.get(name, name))
                       for name in self.param_names}
        with scope(self.name or type(self).__name__):
            return self.graph(x, *args, **self.leaves, **kwargs)

    @property
    def label(self):
        """How errors name the layer: ``Affine 'Affine1'`` in a model, else ``Affine``."""
        kind = type(self).__name__
        return kind if self.name in (None, kind) else f"{kind} {self.name!r}"

    def shape_error(self, x, expected):
        """The ValueError for an input ``x`` of the wrong shape (``expected`` says the
        right one: ``(N, 784)``), naming this layer."""
        return ValueError(f"{self.label} expects input of shape {expected}, "
                          f"got {tuple(x.shape)}")

    def forward(self, x, *args, **kwargs):
        """DLFS ``forward``: numpy in, numpy out (the graph is kept for ``backward``)."""
        self._x = tensor(x)
        self._out = self(self._x, *args, **kwargs)
        self._freed = False
        return self._out.data

    def training_state(self):
        """What a call in training mode changes outside the graph, to be put back
        by ``restore_training_state`` (None: nothing; see Dropout, BatchNorm)."""
        return None

    def restore_training_state(self, state):
        """Put back what ``training_state`` returned."""

    def backward(self, dout=None, retain_graph=False):
        """DLFS ``backward``: ∂L/∂x for ``dout`` = ∂L/∂out (ones when None).

        Sets ``d<name>`` = ∂L/∂<name> for every parameter, as DLFS layers do. The
        values the forward pass saved are freed, unless ``retain_graph=True``
        (then ``backward`` may run again after one ``forward``).
        """
        if not hasattr(self, "_out"):
            raise RuntimeError(f"{self.label}.backward before any forward: call forward(x) first")
        if self._freed:
            raise RuntimeError(
                f"{self.label}.backward a second time after one forward: the first backward "
                f"freed what forward saved; call forward(x) again, or pass "
                f"retain_graph=True to the first backward")
        leaves = list(self.leaves.values())
        dx, *dparams = grad(self._out, [self._x, *leaves], grad_outputs=dout,
                            retain_graph=retain_graph)
        self._freed = not retain_graph
        self.keep_grads({leaf: dparam.data for leaf, dparam in zip(leaves, dparams)})
        return dx.data

    def keep_grads(self, grads):
        """Set ``d<name>`` (``dW``, ``db``, ``dgamma``, …) for each parameter of the
        latest call whose leaf tensor is in ``grads`` (leaf -> ∂L/∂leaf as an array),
        where the book's layers keep their gradients."""
        for name, leaf in getattr(self, "leaves", {}).items():
            if leaf in grads:
                setattr(self, "d" + name, grads[leaf])


def value_of(x):
    """The value a tensor holds (an array as it is: no copy, nothing recorded), for
    the book's attributes; a numpy value stays as it is."""
    return x._data if isinstance(x, Tensor) else x


def _leaf(value, name):
    return value if isinstance(value, Tensor) else tensor(value, name=name)
