"""Build the ``graphviz.Digraph`` of a graph in the style of the DLFS apple/orange figure.

Left to right: leaf inputs are their names, operations are circles with their symbol,
and every edge carries the tensor flowing along it: the forward value and, under it in
red, the gradient flowing back. Each result gets an edge of its own, to its name, with
its value and seed gradient 1. A constant operand (the 1 in ``1 + exp(-x)``) is a small
grey number. A tensor used more than once leaves its producer through a junction dot,
so its one value and its one (total) gradient are written once.

A scope (a composite op, a layer) is a labelled ``cluster_`` subgraph, nested like the
scopes; with ``expand=False`` each outermost scope is one box joined to the tensors
that cross its border. Ids are numbered per drawing, in drawing order (nodes in forward
order, scopes as first met), never taken from the global clock: equal graphs built at
different times draw byte for byte the same.
"""
import itertools
from collections import defaultdict

import graphviz

from .graph import collect, is_constant, name_of, output_of
from .labels import edge_label, escape, html_label, note_lines, value

FONT = {"fontname": "Helvetica"}
GRAPH = FONT | {"nodesep": "0.25", "ranksep": "0.45", "ordering": "in"}  # operands top-down
NODE = FONT | {"fontsize": "14"}
EDGE = FONT | {"fontsize": "12", "arrowsize": "0.7"}
OP = {"shape": "circle", "style": "filled", "fillcolor": "white", "margin": "0.02"}
SCOPE = {"shape": "box", "style": "rounded,filled", "fillcolor": "white"}
LEAF = {"shape": "plaintext"}
CONSTANT = {"shape": "plaintext", "fontsize": "10", "fontcolor": "gray35"}
CONSTANT_EDGE = {"color": "gray45", "arrowsize": "0.5"}
JUNCTION = {"shape": "point", "width": "0.07"}
CLUSTER = {"style": "rounded,dashed", "color": "gray55", "fontcolor": "gray35"}
HIGHLIGHT = {"fillcolor": "#ffe066", "penwidth": "2"}


def draw(target, *, grads=True, expand=True, rankdir="LR"):
    """Draw a Tensor, a list of Tensors or a ``gg.Tape`` as a ``graphviz.Digraph``.

    ``grads=False`` leaves the gradients out; ``expand=False`` collapses each outermost
    scope to one node; ``rankdir`` is graphviz's ("LR", "TB", ...). ``.source`` of the
    result is the DOT text (no ``dot`` binary needed); ``viz.render`` writes files.
    A name is written as its ``str``: ``gg.tensor(1.0, name=5)`` is labelled 5.
    """
    def grad_color(tensor):
        return "red" if grads and tensor.grad is not None else None

    return build(collect(target), grad_color, expand=expand, rankdir=rankdir)


def build(graph, grad_color, *, expand=True, rankdir="LR", highlight=None, marks=None):
    """The Digraph of a ``Graph``.

    ``grad_color(tensor)`` is the colour of that tensor's gradient, or None to leave it
    out; ``highlight`` is a node to fill in yellow (the current step of an animation);
    ``marks`` maps a node to ``(fill colour, {input position: note})``: the node is
    filled, and each note is written in red on the edge of that input (gradcheck's
    blamed node, with backward vs numeric on its inputs).
    """
    return _Drawing(graph, grad_color, expand, highlight, marks or {}).digraph(rankdir)


class _Drawing:
    """The statements of one drawing: nodes grouped by cluster, then edges."""

    def __init__(self, graph, grad_color, expand, highlight, marks):
        self.graph, self.grad_color, self.expand = graph, grad_color, expand
        self.marks = marks
        self.notes = {}  # (tensor, head id) -> note on that edge
        self.made_by = {output_of(node): node for node in graph.nodes}
        self.results = set(graph.outputs)
        self.node_ids = {node: i for i, node in enumerate(graph.nodes)}
        self.scope_ids = scope_ids(graph.nodes)
        self.highlighted = None if highlight is None else self.head(highlight)
        self.members = defaultdict(list)  # scope (None: top level) -> [(id, attributes)]
        self.edges = []  # (tail id, head id, attributes)
        self.boxes = set()  # ids of the collapsed scopes drawn so far
        self.counter = itertools.count()
        for node in graph.nodes:
            self.add_node(node)
        self.add_edges()

    def group(self, node):
        """The outermost scope of ``node`` when scopes are collapsed, else None."""
        if self.expand or node.scope is None:
            return None
        return node.scope.path()[0]

    def cluster(self, node):
        """The scope whose cluster holds ``node``'s circle (None: top level)."""
        return node.scope if self.expand else None

    def head(self, node):
        """The id of what draws ``node``: its circle, or its collapsed scope's box."""
        top = self.group(node)
        return f"n{self.node_ids[node]}" if top is None else f"s{self.scope_ids[top]}"

    def place(self, scope, name, attributes):
        if name == self.highlighted:
            attributes = attributes | HIGHLIGHT
        self.members[scope].append((name, attributes))

    def add_node(self, node):
        top, head = self.group(node), self.head(node)
        if top is None:
            fill = {"fillcolor": self.marks[node][0]} if node in self.marks else {}
            self.place(self.cluster(node), head,
                       OP | {"label": html_label(escape(node.op))} | fill)
        elif head not in self.boxes:
            self.boxes.add(head)
            self.place(None, head,
                       SCOPE | {"label": html_label(f"<B>{escape(top.name)}</B>")})

    def crosses(self, x, node):
        """Whether the edge of ``x`` into ``node`` shows (not inside a collapsed scope)."""
        top = self.group(node)
        if top is None:
            return True
        producer = self.made_by.get(x)
        if producer is None:
            return not is_constant(x)
        return self.group(producer) is not top

    def add_edges(self):
        uses = defaultdict(list)  # tensor -> ids its edges go to, in order
        home = {}  # tensor -> cluster of its first consumer (where a constant sits)
        for node in self.graph.nodes:
            head = self.head(node)
            boxed = self.group(node) is not None
            notes = self.marks[node][1] if node in self.marks else {}
            for position, x in enumerate(node.inputs):
                if position in notes:
                    self.notes[x, head] = notes[position]
                if self.crosses(x, node) and not (boxed and head in uses.get(x, ())):
                    uses[x].append(head)  # into a box: one edge per tensor
                    home.setdefault(x, self.cluster(node))
        for i, out in enumerate(self.graph.outputs):
            self.place(None, f"out{i}", LEAF | {"label": html_label(escape(name_of(out) or ""))})
            uses[out].append(f"out{i}")
        for x, heads in uses.items():
            self.connect(x, heads, home.get(x))

    def tail(self, x, home):
        """The id edges of ``x`` start from: its producer, or a new leaf or constant."""
        producer = self.made_by.get(x)
        if producer is not None:
            return self.head(producer)
        name = f"x{next(self.counter)}"
        if is_constant(x):
            self.place(home, name, CONSTANT | {"label": html_label(escape(value(x.data)))})
        else:
            text = value(x.data) if x.name is None else name_of(x)
            self.place(None, name, LEAF | {"label": html_label(escape(text))})
        return name

    def connect(self, x, heads, home):
        """Edges carrying ``x`` to ``heads``; through a junction dot when several."""
        tail = self.tail(x, home)
        if is_constant(x):
            self.edges.extend((tail, head, CONSTANT_EDGE) for head in heads)
            return
        producer = self.made_by.get(x)
        name = name_of(x) if producer is not None and x not in self.results else None
        if len(heads) == 1:
            note = self.notes.get((x, heads[0]))
            self.edges.append((tail, heads[0], {"label": edge_label(
                x, self.grad_color(x), name, note)}))
            return
        junction = f"j{next(self.counter)}"
        self.place(None if producer is None else self.cluster(producer), junction, JUNCTION)
        label = {"label": edge_label(x, self.grad_color(x), name)}
        self.edges.append((tail, junction, label | {"arrowhead": "none"}))
        self.edges.extend((junction, head, self.note_label(x, head)) for head in heads)

    def note_label(self, x, head):
        """The label of the edge from a junction: the note on it, if any."""
        note = self.notes.get((x, head))
        return {} if note is None else {"label": html_label(*note_lines(note))}

    def digraph(self, rankdir):
        dot = graphviz.Digraph(graph_attr=GRAPH | {"rankdir": rankdir},
                               node_attr=NODE, edge_attr=EDGE)
        children = defaultdict(dict)  # scope -> its child scopes (an ordered set)
        for scope in [s for s in self.members if s is not None]:
            path = scope.path()
            for parent, child in zip([None] + path, path):
                children[parent][child] = None
        self.fill(dot, None, children)
        for tail, head, attributes in self.edges:
            dot.edge(tail, head, **attributes)
        return dot

    def fill(self, graph, scope, children):
        """Declare the nodes of ``scope`` in ``graph``, then its child clusters."""
        for name, attributes in self.members.get(scope, ()):
            graph.node(name, **attributes)
        for child in children.get(scope, ()):
            with graph.subgraph(name=f"cluster_s{self.scope_ids[child]}") as sub:
                sub.attr(label=html_label(escape(child.name)), **CLUSTER)
                self.fill(sub, child, children)


def scope_ids(nodes):
    """Number the scopes of ``nodes`` in the order they are first met, outermost first."""
    ids = {}
    for node in nodes:
        for scope in node.scope.path() if node.scope is not None else ():
            ids.setdefault(scope, len(ids))
    return ids
