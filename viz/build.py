"""Build the ``graphviz.Digraph`` of a graph in the style of the DLFS apple/orange figure.

Left to right: leaf inputs are their names, operations are circles with their symbol,
and every edge carries the tensor flowing along it: the forward value and, under it in
red, the gradient flowing back. Each result gets an edge of its own, to its name, with
its value and its gradient (the seed: 1 by default). A constant operand (the 1 in
``1 + exp(-x)``) is a small grey number. A tensor used more than once leaves its producer through a junction dot,
so its one value and its one (total) gradient are written once.

A scope (a composite op, a layer) is a labelled ``cluster_`` subgraph, nested like the
scopes; with ``expand=False`` each outermost scope is one box joined to the tensors
that cross its border. Ids are numbered per drawing, in drawing order (nodes in forward
order, scopes as first met), never taken from the global clock: equal graphs built at
different times draw byte for byte the same.

Big graphs stay quick to lay out. Past ``COMPACT_OVER`` drawn operations the values
and gradients move from the edges into the nodes (dot lays out every edge label as
an extra node: 2,000 operations took 27 s with edge labels, 0.4 s like this), and
past ``fold.FOLD_OVER`` operations repeated structure folds into boxes (``fold.py``);
the drawing's title then says how many operations are folded.
"""
import itertools
from collections import defaultdict

import graphviz

from .fold import Fold, fold as fold_graph
from .graph import collect, is_constant, name_of, output_of
from .labels import edge_label, escape, html_label, note_lines, value, value_lines

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
FOLDED = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8eefa", "color": "#4a6fa5"}
NOTE = {"labelloc": "t", "fontsize": "13", "fontcolor": "#4a6fa5"}
COMPACT_OVER = 200  # more drawn operations (or blocks of them, which many tensors join):
#                    values inside the nodes, ranked by newrank
COMPACT = {"newrank": "true"}  # and no "ordering", which slows dot down
COMPACT_OP = {"shape": "ellipse", "margin": "0.04,0.01"}
FLOW = {"weight": "4"}  # compact: straight runs from operation to operation
VALUE_SIZE = 11  # points: a value and gradient inside a compact node


def draw(target, *, grads=True, expand=True, rankdir="LR", fold=True):
    """Draw a Tensor, a list of Tensors or a ``gg.Tape`` as a ``graphviz.Digraph``.

    ``grads=False`` leaves the gradients out; ``expand=False`` collapses each outermost
    scope to one node; ``rankdir`` is graphviz's ("LR", "TB", ...); ``fold=False``
    draws every operation of a big graph (dot may then take minutes). ``.source`` of
    the result is the DOT text (no ``dot`` binary needed); ``viz.render`` writes
    files. A name is written as its ``str``: ``gg.tensor(1.0, name=5)`` is labelled 5.
    """
    return build(collect(target), gradient_color(grads), expand=expand, rankdir=rankdir,
                 fold=fold)


def gradient_color(grads):
    """The ``grad_color`` of a drawing: red for every gradient, or none."""
    def grad_color(tensor):
        return "red" if grads and tensor.grad is not None else None
    return grad_color


def build(graph, grad_color, *, expand=True, rankdir="LR", highlight=None, fold=True,
          marks=None):
    """The Digraph of a ``Graph``.

    ``grad_color(tensor)`` is the colour of that tensor's gradient, or None to leave it
    out; ``highlight`` is a node to fill in yellow (the current step of an animation);
    ``marks`` maps a node to ``(fill colour, {input position: note})``: the node is
    filled, and each note is written in red on the edge of that input (gradcheck's
    blamed node, with backward vs numeric on its inputs).
    """
    drawing = Drawing(graph, grad_color, expand=expand, highlight=highlight, fold=fold,
                      marks=marks)
    return drawing.digraph(rankdir)


class Drawing:
    """The statements of one drawing: nodes grouped by cluster, then edges.

    With ``ids=True`` every node, edge and cluster gets an SVG id (``gg-n0``,
    ``gg-e3``, ``gg-c1``), and ``shows`` maps the id of each element that writes a
    tensor's value and gradient to that tensor (what ``viz.html`` plays).
    """

    def __init__(self, graph, grad_color, *, expand=True, highlight=None, fold=True,
                 ids=False, marks=None):
        self.graph, self.grad_color, self.expand, self.ids = graph, grad_color, expand, ids
        self.marks = marks or {}
        self.notes = {}  # (tensor, head id) -> note on that edge
        self.made_by = {output_of(node): node for node in graph.nodes}
        self.results = set(graph.outputs)
        self.node_ids = {node: i for i, node in enumerate(graph.nodes)}
        self.scope_ids = scope_ids(graph.nodes)
        self.folds = fold_graph(graph) if fold else {}
        self.fold_ids = {box: i for i, box in enumerate(dict.fromkeys(self.folds.values()))}
        self.inner = inner_leaves(graph.nodes, self.folds)
        self.compact = (len({self.head(node) for node in graph.nodes}) > COMPACT_OVER
                        or any(box.kind == "block" for box in self.fold_ids))
        self.highlighted = None if highlight is None else self.head(highlight)
        self.members = defaultdict(list)  # scope (None: top level) -> [(id, attributes)]
        self.edges = []  # (tail id, head id, attributes)
        self.boxes = {}  # id of each box drawn (a collapsed scope, a Fold) -> what it holds
        self.shows = {}  # SVG id of an element writing a tensor's value -> the tensor
        self.counter = itertools.count()
        for node in graph.nodes:
            self.add_node(node)
        self.add_edges()

    def group(self, node):
        """The box that draws ``node``: its Fold, its outermost scope when scopes are
        collapsed, else None (its own circle)."""
        if node in self.folds:
            return self.folds[node]
        if self.expand or node.scope is None:
            return None
        return node.scope.path()[0]

    def cluster(self, node):
        """The scope whose cluster holds ``node``'s circle (None: top level)."""
        return node.scope if self.expand else None

    def head(self, node):
        """The id of what draws ``node``: its circle, or its box."""
        top = self.group(node)
        if top is None:
            return f"n{self.node_ids[node]}"
        return f"f{self.fold_ids[top]}" if isinstance(top, Fold) else f"s{self.scope_ids[top]}"

    def place(self, scope, name, attributes, tensor=None):
        """Declare node ``name`` in the cluster of ``scope``; ``tensor``: the one whose
        value and gradient its label writes."""
        if name == self.highlighted:
            attributes = attributes | HIGHLIGHT
        if self.ids:
            attributes = attributes | {"id": f"gg-{name}"}
            if tensor is not None:
                self.shows[f"gg-{name}"] = tensor
        self.members[scope].append((name, attributes))

    def add_node(self, node):
        top, head = self.group(node), self.head(node)
        if top is None:
            out = output_of(node)
            lines = [escape(node.op)]
            if self.compact:
                lines += value_lines(out, self.grad_color(out), name_of(out), VALUE_SIZE)
            shape = OP | (COMPACT_OP if self.compact else {})
            if node in self.marks:
                shape = shape | {"fillcolor": self.marks[node][0]}
            self.place(self.cluster(node), head, shape | {"label": html_label(*lines)},
                       out if self.compact else None)
        elif head not in self.boxes:
            self.boxes[head] = top
            if isinstance(top, Fold):
                title, count = top.lines()
                label = html_label(f"<B>{escape(title)}</B>", escape(count))
                self.place(None, head, FOLDED | {"label": label})
            else:
                self.place(None, head,
                           SCOPE | {"label": html_label(f"<B>{escape(top.name)}</B>")})

    def crosses(self, x, node):
        """Whether the edge of ``x`` into ``node`` shows (not inside a box)."""
        top = self.group(node)
        if top is None:
            return True
        producer = self.made_by.get(x)
        if producer is None:
            return not is_constant(x) and x not in self.inner
        return self.group(producer) is not top

    def add_edges(self):
        uses = defaultdict(list)  # tensor -> ids its edges go to, in order
        homes = defaultdict(list)  # tensor -> the cluster of each of those (None: top)
        for node in self.graph.nodes:
            head = self.head(node)
            boxed = self.group(node) is not None
            notes = self.marks[node][1] if node in self.marks else {}
            for position, x in enumerate(node.inputs):
                if position in notes:
                    self.notes[x, head] = notes[position]
                if self.crosses(x, node) and not (boxed and head in uses.get(x, ())):
                    uses[x].append(head)  # into a box: one edge per tensor
                    homes[x].append(None if boxed else self.cluster(node))
        for i, out in enumerate(self.graph.outputs):
            self.place(None, f"out{i}", LEAF | {"label": html_label(escape(name_of(out) or ""))})
            uses[out].append(f"out{i}")
            homes[out].append(None)
        for x, heads in uses.items():
            self.connect(x, heads, homes[x])

    def tail(self, x, home):
        """The id edges of ``x`` start from: its producer, or a new leaf or constant."""
        producer = self.made_by.get(x)
        if producer is not None:
            return self.head(producer)
        name = f"x{next(self.counter)}"
        if is_constant(x):
            self.place(home, name, CONSTANT | {"label": html_label(escape(value(x.data)))})
        elif self.compact:
            lines = [escape(name_of(x) or "")]
            lines += value_lines(x, self.grad_color(x), None, VALUE_SIZE)
            self.place(None, name, LEAF | {"label": html_label(*lines)}, x)
        else:
            text = value(x.data) if x.name is None else name_of(x)
            self.place(None, name, LEAF | {"label": html_label(escape(text))})
        return name

    def connect(self, x, heads, homes):
        """Edges carrying ``x`` to ``heads`` (in the clusters ``homes``); through a
        junction dot when several, in the innermost cluster holding the producer and
        every head, so that folding a cluster keeps the edge of a tensor leaving it
        (compact drawings write the value in the node, and need neither). A constant
        sits in the innermost cluster holding every head, for the same reason."""
        tail = self.tail(x, common_scope(homes))
        producer = self.made_by.get(x)
        if is_constant(x) or self.compact:
            style = CONSTANT_EDGE if is_constant(x) else FLOW if producer else {}
            self.edges.extend((tail, head, style) for head in heads)
            return
        name = name_of(x) if producer is not None and x not in self.results else None
        if len(heads) == 1:
            note = self.notes.get((x, heads[0]))
            label = {"label": edge_label(x, self.grad_color(x), name, note)}
            self.add_edge(tail, heads[0], label, x)
            return
        junction = f"j{next(self.counter)}"
        start = None if producer is None else self.cluster(producer)
        self.place(common_scope([start, *homes]), junction, JUNCTION)
        label = {"label": edge_label(x, self.grad_color(x), name)}
        self.add_edge(tail, junction, label | {"arrowhead": "none"}, x)
        self.edges.extend((junction, head, self.note_label(x, head)) for head in heads)

    def note_label(self, x, head):
        """The label of the edge from a junction: the note on it, if any."""
        note = self.notes.get((x, head))
        return {} if note is None else {"label": html_label(*note_lines(note))}

    def add_edge(self, tail, head, attributes, tensor):
        """An edge whose label writes ``tensor``'s value and gradient."""
        if self.ids:
            attributes = attributes | {"id": f"gg-e{len(self.edges)}"}
            self.shows[attributes["id"]] = tensor
        self.edges.append((tail, head, attributes))

    def note(self):
        """What the title says of folded operations ("" when none are)."""
        if not self.folds:
            return ""
        return (f"{len(self.folds):,} of {len(self.graph.nodes):,} ops folded into "
                f"{len(self.fold_ids)} {'box' if len(self.fold_ids) == 1 else 'boxes'} "
                f"(fold=False draws them all)")

    def digraph(self, rankdir):
        graph = GRAPH | {"rankdir": rankdir}
        if self.compact:
            graph = {k: v for k, v in graph.items() if k != "ordering"} | COMPACT
        if self.folds:
            graph |= NOTE | {"label": html_label(escape(self.note()))}
        dot = graphviz.Digraph(graph_attr=graph, node_attr=NODE, edge_attr=EDGE)
        children = defaultdict(dict)  # scope -> its child scopes (an ordered set)
        for scope in [s for s in self.members if s is not None]:
            path = scope.path()
            for parent, child in zip([None] + path, path):
                children[parent][child] = None
        self.fill(dot, None, children)
        for i, (tail, head, attributes) in enumerate(self.edges):
            if self.ids and "id" not in attributes:
                attributes = attributes | {"id": f"gg-e{i}"}
            dot.edge(tail, head, **attributes)
        return dot

    def fill(self, graph, scope, children):
        """Declare the nodes of ``scope`` in ``graph``, then its child clusters."""
        for name, attributes in self.members.get(scope, ()):
            graph.node(name, **attributes)
        for child in children.get(scope, ()):
            with graph.subgraph(name=f"cluster_s{self.scope_ids[child]}") as sub:
                sub.attr(label=html_label(escape(child.name)), **CLUSTER)
                if self.ids:
                    sub.attr(id=f"gg-c{self.scope_ids[child]}")
                self.fill(sub, child, children)


def inner_leaves(nodes, folds):
    """The leaf inputs whose consumers all sit in one Fold: drawn inside it."""
    if not folds:
        return set()
    boxes = defaultdict(set)
    for node in nodes:
        for x in node.inputs:
            if x.creator is None:
                boxes[x].add(folds.get(node))
    return {x for x, where in boxes.items() if len(where) == 1 and None not in where}


def common_scope(scopes):
    """The innermost scope holding each of ``scopes`` (None, the top level, holds all)."""
    common = None
    for level in zip(*[() if s is None else s.path() for s in scopes]):
        if any(s is not level[0] for s in level):
            break
        common = level[0]
    return common


def scope_ids(nodes):
    """Number the scopes of ``nodes`` in the order they are first met, outermost first."""
    ids = {}
    for node in nodes:
        for scope in node.scope.path() if node.scope is not None else ():
            ids.setdefault(scope, len(ids))
    return ids
