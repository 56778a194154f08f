"""Scope labels for ONNX node names: ``Affine1/MatMul``.

A scope (``gg.scope``, a layer call) is labelled with its name, numbered 1, 2, …
in order of appearance where several scopes of one name share a parent (the two
``Affine`` layers of a TwoLayerNet are ``Affine1`` and ``Affine2``; a single
``Relu`` stays ``Relu``), and prefixed with its parent's label.
"""
from collections import defaultdict


def scope_labels(nodes):
    """{scope: "Outer/Inner/"} for every scope of ``nodes`` and its parents."""
    scopes = []
    for node in nodes:
        for s in node.scope.path() if node.scope is not None else ():
            if s not in scopes:
                scopes.append(s)
    siblings = defaultdict(list)  # (parent, name) -> scopes, in order of appearance
    for s in scopes:
        siblings[s.parent, s.name].append(s)
    labels = {}
    for s in scopes:  # parents come before their children
        group = siblings[s.parent, s.name]
        name = s.name if len(group) == 1 else f"{s.name}{group.index(s) + 1}"
        labels[s] = labels.get(s.parent, "") + name + "/"
    return labels
