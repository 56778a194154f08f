"""The mapping table: for each graphgrad node class, the function that writes its
ONNX form, one module per node family (as in ``graphgrad.nodes``).

* ``EXPORTS[cls](ctx, node, out)`` adds the ONNX nodes computing ``out`` (the node's
  output tensor) and returns the name of that value;
* ``SAVED[(cls, attr)](ctx, node)`` computes again a value the node's forward pass
  saved for its backward (a mask) from its inputs, for exported gradients;
* ``BACKWARD_PROBLEMS[cls](node)`` says why the node's recorded backward cannot be
  exported (None if it can).

A class is looked up exactly: a subclass (a user's node) has no mapping of its own.
"""
from . import arithmetic, cast, conv, device, elementwise, fused, linalg, reduction, shape

_FAMILIES = (arithmetic, cast, conv, device, elementwise, fused, linalg, reduction, shape)
EXPORTS = {cls: fn for family in _FAMILIES for cls, fn in family.EXPORTS.items()}
SAVED = {key: fn for family in _FAMILIES for key, fn in getattr(family, "SAVED", {}).items()}
BACKWARD_PROBLEMS = {cls: fn for family in _FAMILIES
                     for cls, fn in getattr(family, "BACKWARD_PROBLEMS", {}).items()}


class UnsupportedOperationError(NotImplementedError):
    """A recorded operation that has no ONNX form."""


def lookup(node, where):
    """The export function of ``node``'s class; ``where`` names its scope."""
    try:
        return EXPORTS[type(node)]
    except KeyError:
        raise UnsupportedOperationError(
            f"onnx.export: no ONNX mapping for {describe(node, where)}; graphgrad.onnx.ops "
            f"maps {', '.join(sorted(cls.__name__ for cls in EXPORTS))}") from None


def describe(node, where):
    """``Square (x²) in scope 'Affine1'``"""
    return f"{node.name} ({node.op})" + (f" in scope {where!r}" if where else "")
