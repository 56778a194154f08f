"""Fold the repeated structure of a big graph into boxes, so that dot can draw it.

Past ``FOLD_OVER`` operations a drawing keeps the shape of the computation and folds
its bulk, in this order:

1. a scope repeated ``RUN_MIN`` or more times in a row (the steps of a loop, the
   blocks of a network): the first and last instance stay, the ones between fold
   into one box (``step ×2,498``);
2. a chain of ``CHAIN_MIN`` or more operations, each feeding only the next: its first
   and last ``KEEP`` operations stay, the middle folds (``chain (× + relu ×) ×498``);
3. should more than ``MAX_DRAWN`` operations still be drawn, the rest fold into
   blocks of operations consecutive in recording order (``ops 1,201–2,400``).

A leaf input whose every consumer sits in one box (the ``x_i`` of a chain) folds
with it. Each box says what it holds: ``× 1,992 ops folded``.
"""
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .graph import output_of

FOLD_OVER = 2500
RUN_MIN = 3
CHAIN_MIN = 24
KEEP = 4
MAX_DRAWN = 400
PERIOD_MAX = 8  # the longest repeating op pattern a chain's title names


@dataclass(eq=False)
class Fold:
    """Operations drawn as one box: ``title`` says what they are."""

    title: str
    nodes: list = field(repr=False)
    kind: str = "chain"  # "scope" (a run of one scope), "chain" or "block"

    def lines(self):
        """The box's label: what it is, and how many operations it holds."""
        return [self.title, f"× {len(self.nodes):,} ops folded"]

    def ops(self):
        """How many operations of each symbol the box holds, most first."""
        return Counter(node.op for node in self.nodes).most_common()


def fold(graph):
    """``{node: Fold}`` for the folded nodes of ``graph`` (empty up to FOLD_OVER)."""
    if len(graph.nodes) <= FOLD_OVER:
        return {}
    folds = {}
    for box in scope_runs(graph.nodes):
        folds.update(dict.fromkeys(box.nodes, box))
    for box in chains(graph, folds):
        folds.update(dict.fromkeys(box.nodes, box))
    for box in blocks(graph.nodes, folds):
        folds.update(dict.fromkeys(box.nodes, box))
    return folds


def scope_runs(nodes):
    """A Fold for the middle of each run of RUN_MIN or more outermost scopes of one name."""
    instances = defaultdict(list)  # outermost scope -> its nodes, scopes as first met
    for node in nodes:
        if node.scope is not None:
            instances[node.scope.path()[0]].append(node)
    runs, run = [], []
    for scope in instances:
        if run and run[-1].name != scope.name:
            runs.append(run)
            run = []
        run.append(scope)
    runs.append(run)
    return [Fold(f"{run[0].name} ×{len(run) - 2:,}",
                 [node for scope in run[1:-1] for node in instances[scope]], "scope")
            for run in runs if len(run) >= RUN_MIN]


def chains(graph, taken):
    """A Fold for the middle of each chain of CHAIN_MIN or more nodes not in ``taken``:
    each node's output is used only by the next, in the same scope."""
    uses = Counter(x for node in graph.nodes for x in node.inputs)
    uses.update(graph.outputs)  # a result is one more use: it ends a chain
    made_by = {output_of(node): node for node in graph.nodes}
    after = {}
    for node in graph.nodes:
        if node in taken:
            continue
        for x in node.inputs:
            before = made_by.get(x)
            if (before is not None and before not in taken and uses[x] == 1
                    and before.scope is node.scope):
                after[before] = node
    before_count = Counter(after.values())
    linked = {n: m for n, m in after.items() if before_count[m] == 1}
    followers = set(linked.values())
    heads = [n for n in linked if n not in followers]
    folds = []
    for head in heads:
        chain = [head]
        while chain[-1] in linked:
            chain.append(linked[chain[-1]])
        if len(chain) >= CHAIN_MIN:
            middle = chain[KEEP:-KEEP]
            folds.append(Fold(chain_title([n.op for n in middle]), middle))
    return folds


def chain_title(ops):
    """``chain (× + relu ×) ×498`` for a repeating pattern, else ``chain of 37 ops``."""
    for period in range(1, PERIOD_MAX + 1):
        if len(ops) % period == 0 and ops == ops[:period] * (len(ops) // period):
            return f"chain ({' '.join(ops[:period])}) ×{len(ops) // period:,}"
    return f"chain of {len(ops):,} ops"


def blocks(nodes, folds):
    """Folds of the ``nodes`` not in ``folds``, consecutive in recording order, when
    they and the boxes so far are more than MAX_DRAWN."""
    rest = [(i, node) for i, node in enumerate(nodes, start=1) if node not in folds]
    if len(rest) + len(set(folds.values())) <= MAX_DRAWN:
        return []
    size = math.ceil(len(rest) / (MAX_DRAWN // 2))
    parts = [rest[i:i + size] for i in range(0, len(rest), size)]
    return [Fold(f"ops {part[0][0]:,}–{part[-1][0]:,}", [node for _, node in part], "block")
            for part in parts]
