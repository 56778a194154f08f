"""An ONNX graph being written: ops named by scope, values typed, constants cast.

Every ONNX node is named ``<scope path>/<OpType>`` (``Affine1/MatMul``; a second one
in that scope ``Affine1/MatMul_1``) and its outputs ``<node name>_output_<i>``, as
PyTorch's exporter names them. The builder remembers the numpy dtype of every value,
so an operand can be cast to the dtype an operation computes in (``cast``).
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

INT64 = np.dtype(np.int64)


class Builder:
    """Nodes, initializers and value dtypes of one ONNX graph, for one opset."""

    def __init__(self, opset):
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.dtypes = {}  # value name -> numpy dtype
        self.casts = {}  # (value name, dtype) -> the name of its Cast
        self.taken = set()  # node and value names in use
        self.suffixes = {}  # name -> the last k of the name_k given out
        self.prefix = ""  # "Affine1/": the scope of the node being written

    def unique(self, name):
        """``name``, or ``name_1``, ``name_2``, … when it is taken."""
        candidate = name
        while candidate in self.taken:
            self.suffixes[name] = self.suffixes.get(name, 0) + 1
            candidate = f"{name}_{self.suffixes[name]}"
        self.taken.add(candidate)
        return candidate

    def op(self, op_type, inputs, dtype=None, outputs=1, **attributes):
        """Add one ONNX node; return its output name (a list for ``outputs`` > 1).

        ``dtype``: the first output's dtype (default: the first input's); further
        outputs are int64 (MaxPool's indices)."""
        name = self.unique(self.prefix + op_type)
        names = [self.unique(f"{name}_output_{i}") for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=name,
                                           **attributes))
        self.dtypes[names[0]] = np.dtype(dtype) if dtype is not None else self.dtypes[inputs[0]]
        for extra in names[1:]:
            self.dtypes[extra] = INT64
        return names[0] if outputs == 1 else names

    def constant(self, value, dtype=None):
        """A ``Constant`` node holding ``value`` (cast to ``dtype`` when given)."""
        array = np.asarray(value, dtype=dtype)
        return self.op("Constant", [], dtype=array.dtype,
                       value=numpy_helper.from_array(array, name=""))

    def ints(self, values):
        """A constant int64 vector (shapes, axes, indices)."""
        return self.constant(np.asarray(values, dtype=INT64).reshape(-1))

    def initializer(self, array, name):
        """A named initializer (a parameter) holding ``array``; returns its name."""
        array = np.asarray(array)
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(array, name=name))
        self.dtypes[name] = array.dtype
        return name

    def input(self, name, dtype):
        """Declare a value fed from outside (a graph input); returns its name."""
        name = self.unique(name)
        self.dtypes[name] = np.dtype(dtype)
        return name

    def identity(self, name, as_name):
        """An Identity node whose output is named ``as_name`` (made unique)."""
        out = self.unique(as_name)
        self.nodes.append(helper.make_node("Identity", [name], [out],
                                           name=self.unique(self.prefix + "Identity")))
        self.dtypes[out] = self.dtypes[name]
        return out

    def cast(self, name, dtype):
        """``name`` as ``dtype``: itself, or through a ``Cast`` node."""
        dtype = np.dtype(dtype)
        if self.dtypes[name] == dtype:
            return name
        if (name, dtype) not in self.casts:  # one Cast per value and dtype
            self.casts[name, dtype] = self.op("Cast", [name], dtype=dtype,
                                              to=tensor_type(dtype))
        return self.casts[name, dtype]

    def reduce(self, op_type, name, axes, keepdims):
        """``op_type`` (ReduceSum, ReduceMean, ReduceMax) over ``axes`` (None: all).

        ReduceSum takes its axes as an input from opset 13, the others from opset 18
        (before: an attribute). Reducing no axes is the identity, as in numpy."""
        if axes is not None and len(axes) == 0:
            return self.op("Identity", [name])
        keep = int(bool(keepdims))
        if axes is None:
            return self.op(op_type, [name], keepdims=keep)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [name, self.ints(axes)], keepdims=keep)
        return self.op(op_type, [name], axes=list(axes), keepdims=keep)

    def reshape(self, name, shape):
        """``name`` reshaped to the static ``shape`` (sides of 0 kept: ``allowzero``)."""
        return self.op("Reshape", [name, self.ints(shape)], allowzero=1)

    def model(self, inputs, outputs, name):
        """The ``ModelProto``: ``inputs`` and ``outputs`` are (name, shape) pairs."""
        graph = helper.make_graph(
            self.nodes, name, [self.value_info(n, s) for n, s in inputs],
            [self.value_info(n, s) for n, s in outputs], self.initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        return helper.make_model(graph, opset_imports=opsets, producer_name="graphgrad",
                                 ir_version=helper.find_min_ir_version_for(opsets))

    def value_info(self, name, shape):
        return helper.make_tensor_value_info(name, tensor_type(self.dtypes[name]), shape)


def tensor_type(dtype):
    """The ONNX element type of a numpy dtype."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def check_opset(opset):
    """Raise ValueError for an opset the exporter cannot write (below 17, or newer
    than the installed onnx knows)."""
    newest = onnx.defs.onnx_opset_version()
    if not 17 <= opset <= newest:
        raise ValueError(f"onnx.export: opset {opset} is not supported; choose 17 to "
                         f"{newest} (ScatterElements' add needs 16, this exporter 17)")
