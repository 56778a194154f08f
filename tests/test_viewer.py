"""viz.html without a browser: the page's contract (ids, classes, the data it plays),
escaping, the chain-rule step with numbers, folding big graphs, viz.show.
tests/test_viewer_browser.py drives the same pages in headless Chromium."""
import inspect
import json
import re
import shutil
import time

import numpy as np
import pytest

import graphgrad as gg
import viz
from graphgrad import nodes
from benchmarks.viz_draw import scalar_graph as scalar_chain
from graphgrad.cli import demo
from viz.chain_rule import chain_step
from viz.graph import collect

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
NASTY = 'x</script><script>alert("1")</script>\'&'


def apple_orange():
    price, _ = demo.apple_orange()
    return price


def page_data(page):
    """The JSON object a page plays."""
    text = re.search(r'<script type="application/json" id="gg-data">(.*?)</script>', page, re.S)
    return json.loads(text.group(1))


# -- each node class states its rule once, in its docstring ----------------------------
def test_node_rule_is_read_from_the_docstring_math():
    rule = nodes.Mul.rule()
    assert (rule.forward, rule.output, rule.seed) == ("z = x · y", "z", "∂L/∂z")
    assert rule.gradients == (("x", "∂L/∂z · y"), ("y", "∂L/∂z · x"))
    assert nodes.Exp.rule().gradients == (("x", "∂L/∂y · y"),)
    assert nodes.MaxPool.rule().output == "y"  # y[n, c, i, j] = ...
    assert "larger input" in nodes.Maximum.rule().prose and not nodes.Maximum.rule().gradients


@pytest.mark.parametrize("name", nodes.__all__)
def test_every_node_class_states_a_rule_or_says_it_in_words(name):
    rule = getattr(nodes, name).rule()
    assert rule.gradients or rule.prose
    for symbol, expression in rule.gradients:
        assert symbol and expression and "  " not in expression


@pytest.mark.parametrize("name", nodes.__all__)
def test_a_rule_names_the_inputs_in_the_order_forward_takes_them(name):
    """The viewer pairs a rule's gradients with the node's inputs by position."""
    cls = getattr(nodes, name)
    parameters = list(inspect.signature(cls.forward).parameters)[1:]
    symbols = [symbol.lower() for symbol, _ in cls.rule().gradients]
    assert symbols == parameters[:len(symbols)]


def test_the_fused_matmul_add_step_gives_each_input_its_own_gradient():
    x = gg.tensor(np.array([[1.0, 2.0]]), name="X")
    w = gg.tensor(np.array([[3.0], [4.0]]), name="W")
    b = gg.tensor(np.array([0.5]), name="b")
    z = gg.functions.matmul_add(x, w, b)
    z.backward()
    assert chain_step(collect(z).nodes[0])["lines"] == [
        "∂L/∂X = ∂L/∂Z @ Yᵀ = [[3 4]]", "∂L/∂Y = Xᵀ @ ∂L/∂Z = [[1]\n [2]]",
        "∂L/∂B = ∂L/∂Z summed down to B's shape = [1]"]


# -- the chain-rule step with its numbers ----------------------------------------------
def test_apple_mul_step_has_the_books_numbers():
    price = apple_orange()  # holds the graph
    step = chain_step(collect(price).nodes[0])
    assert step["forward"] == "z = x · y"
    assert step["lines"] == ["∂L/∂x = ∂L/∂z · y = 1.1 × 2 = 2.2",
                             "∂L/∂y = ∂L/∂z · x = 1.1 × 100 = 110"]


def test_steps_of_other_rules_and_of_arrays():
    x = gg.tensor(-1.5, name="x")
    y = gg.tanh(x) / x
    y.backward()
    tanh, div = collect(y).nodes
    assert chain_step(tanh)["lines"] == [
        "∂L/∂x = ∂L/∂y · (1 − y²) = (-0.6667) × (1 − (-0.9051)²) = -0.1205"]
    assert chain_step(div)["lines"][1].startswith("∂L/∂y = −∂L/∂z · x / y² = −1 × (-0.9051)")
    a = gg.tensor(np.ones((2, 3)), name="a")
    b = gg.sum(a * 2)
    b.backward()
    # an array: the rule and the result, no substituted numbers; a constant: no line
    assert chain_step(collect(b).nodes[0])["lines"] == ["∂L/∂x = ∂L/∂z · y = [[2 2 2]\n [2 2 2]]"]


def test_a_node_freed_by_backward_still_shows_its_step():
    x = gg.tensor(3.0, name="x")
    y = gg.exp(x * x)
    y.backward()  # frees what the nodes saved
    assert chain_step(collect(y).nodes[1])["lines"][0].endswith("= 1 × 8103 = 8103")


# -- the page -------------------------------------------------------------------------
@needs_dot
def test_page_is_self_contained_and_marks_ops_values_and_gradients(tmp_path):
    path = viz.html(apple_orange(), tmp_path / "price.html")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<script") == 2
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "fetch(" not in page and "<link" not in page and " src=" not in page
    assert sorted(re.findall(r'data-node="(\d+)" data-op="([^"]+)"', page)) == [
        ("0", "×"), ("1", "×"), ("2", "+"), ("3", "×")]
    values = re.findall(r'class="gg-value"[^>]*>([^<]+)<', page)
    grads = re.findall(r'class="gg-grad"[^>]*>([^<]+)<', page)
    assert sorted(values) == sorted(["100", "2", "150", "3", "200", "450", "650", "1.1", "715"])
    assert sorted(grads) == sorted(["2.2", "110", "3.3", "165", "1.1", "1.1", "1.1", "650", "1"])
    assert 'id="gg-panel"' in page


@needs_dot
def test_steps_run_forward_then_backward_in_reverse_tape_order():
    data = page_data(viz.html(apple_orange()))
    texts = [step["text"].split(":")[0] for step in data["steps"]]
    assert texts == ["start", "forward 1/4", "forward 2/4", "forward 3/4", "forward 4/4",
                     "seed", "backward 1/4", "backward 2/4", "backward 3/4", "backward 4/4"]
    by_grad = {}
    for tensor in data["tensors"]:
        by_grad.setdefault(tensor["at"][1], set()).add(tensor["grad"])
    assert [by_grad[step] for step in sorted(by_grad)] == [
        {"1"}, {"1.1", "650"}, {"1.1"}, {"3.3", "165"}, {"2.2", "110"}]
    assert all(tensor["at"][0] >= 1 for tensor in data["tensors"])  # none at Home


@needs_dot
def test_the_seed_step_says_the_seed_the_backward_was_given():
    x = gg.tensor(np.array([1.0, 2.0]), name="x")
    y = x * 3
    y.name = "y"
    y.backward(np.array([2.0, 5.0]))
    steps = [step["text"] for step in page_data(viz.html(y))["steps"]]
    assert steps[2] == "seed: ∂L/∂y = [2 5]; press → to go backward"
    z = gg.tensor(2.0, name="a") * 3
    z.backward(retain_graph=True)
    z.backward()  # accumulates: z.grad is 2
    steps = [step["text"] for step in page_data(viz.html(z))["steps"]]
    assert steps[2] == "seed: ∂L/∂output = 2; press → to go backward"
    h = gg.tensor(2.0, name="x") * 3
    h.name = "h"
    z = h * h
    z.name = "z"
    z.backward()  # h, drawn as a result too, gets its gradient from z, not a seed
    steps = [step["text"] for step in page_data(viz.html([z, h]))["steps"]]
    assert steps[3] == "seed: ∂L/∂z = 1; press → to go backward"


@needs_dot
def test_the_backward_steps_are_the_nodes_the_sweep_visited():
    x = gg.tensor(np.array([1.0, -2.0]), name="x")
    with gg.Tape() as tape:
        s = x * 2
        other = gg.exp(s)  # recorded, but the loss does not use it
        other.name = "other"
        loss = gg.sum(s * s)
        loss.name = "loss"
    loss.backward()
    data = page_data(viz.html(tape))
    assert [step["text"] for step in data["steps"][6:]] == [
        "backward 1/3: sum (Sum)", "backward 2/3: × (Mul)", "backward 3/3: × (Mul)"]
    s_row = next(t for t in data["tensors"] if t["value"] == "[2 -4]")
    assert data["steps"][s_row["at"][1]]["text"] == "backward 2/3: × (Mul)"  # s · s


@needs_dot
def test_a_leaf_drawn_as_a_result_shows_its_value_by_the_end():
    x, w = gg.tensor(2.0, name="x"), gg.tensor(5.0, name="w")
    z = x * 3
    z.backward()
    data = page_data(viz.html([z, w]))
    row = next(t for t in data["tensors"] if t["name"] == "w")
    assert row["at"][0] is not None and row["at"][0] <= len(data["steps"]) - 1


@needs_dot
def test_without_gradients_the_page_plays_the_forward_pass_only():
    page = viz.html(apple_orange(), grads=False)
    assert 'class="gg-grad"' not in page and 'class="gg-value"' in page
    data = page_data(page)
    assert [s["text"] for s in data["steps"]][-1].startswith("forward 4/4")
    # nor in the side panel: no gradient, each chain rule without numbers
    assert all(row["grad"] is None for row in data["tensors"])
    assert data["nodes"]["gg-n0"]["lines"] == ["∂L/∂x = ∂L/∂z · y", "∂L/∂y = ∂L/∂z · x"]
    fresh = gg.tensor(2.0, name="a") * 3  # no backward yet
    assert len(page_data(viz.html(fresh))["steps"]) == 2


@needs_dot
def test_names_are_text_never_markup_or_script():
    a = gg.tensor(2.0, name=NASTY)
    with gg.scope(NASTY):
        b = a * 3
    b.name = '"><img src=x onerror=alert(1)>'
    b.backward()
    page = viz.html(b)
    assert page.count("</script>") == 2  # the data's and the viewer's own
    assert "<img" not in page and "<script>alert" not in page
    names = {t["name"] for t in page_data(page)["tensors"]}
    assert {NASTY, '"><img src=x onerror=alert(1)>'} <= names
    assert page_data(page)["clusters"]["gg-c0"]["name"] == NASTY


@needs_dot
def test_clusters_list_what_they_hold():
    y = gg.sigmoid(gg.tensor(0.5, name="x"), fused=False)
    y.backward()
    clusters = page_data(viz.html(y))["clusters"]
    assert list(clusters) == ["gg-c0"] and clusters["gg-c0"]["ops"] == 4
    assert {"gg-n0", "gg-n3"} <= set(clusters["gg-c0"]["members"])


def scope_used_twice_outside():
    """z = (h + 1) · 2h with h = x · w computed in scope L: h leaves L through a
    junction dot."""
    x, w = gg.tensor(2.0, name="x"), gg.tensor(3.0, name="w")
    with gg.scope("L"):
        h = x * w
        h.name = "h"
    z = (h + 1) * (h * 2)
    z.backward()
    return z


@needs_dot
def test_folding_a_cluster_keeps_the_edge_of_a_tensor_that_leaves_it():
    data = page_data(viz.html(scope_used_twice_outside()))
    h = next(i for i, t in enumerate(data["tensors"]) if t["name"] == "h")
    carriers = {element for element, i in data["shows"].items() if i == h}
    assert carriers and not carriers & set(data["clusters"]["gg-c0"]["members"])


@needs_dot
def test_folding_a_cluster_keeps_a_constant_another_cluster_uses():
    x = gg.tensor(5.0, requires_grad=False)  # unnamed, no gradient: drawn as a constant
    with gg.scope("A"):
        a = x * gg.tensor(2.0, name="w1")
    with gg.scope("B"):
        b = x * gg.tensor(3.0, name="w2")
    z = a + b
    z.backward()
    page = viz.html(z)
    constant = re.search(r'<g id="(gg-x\d+)" class="node">\s*<title>[^<]*</title>\s*'
                         r'<text[^>]*>5</text>', page).group(1)
    for cluster in page_data(page)["clusters"].values():
        assert constant not in cluster["members"]


@needs_dot
def test_show_is_an_iframe_with_the_escaped_page(monkeypatch):
    display = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(display, "display", shown.append)
    frame = viz.show(apple_orange())
    assert shown == [frame]
    assert frame.data.startswith("<div><iframe srcdoc=\"&lt;!DOCTYPE html&gt;")
    assert "<script" not in frame.data  # all of the page is inside the attribute


# -- big graphs -----------------------------------------------------------------------
def test_a_2000_op_graph_writes_values_inside_the_nodes():
    source = viz.draw(scalar_chain(500)).source
    assert source.count("shape=ellipse") == 2000 and "newrank=true" in source
    assert "ordering" not in source and "folded" not in source
    assert source.count('COLOR="red"') == 2000 + 501  # every op and every leaf
    assert not re.search(r"->[^\n]*label=", source)  # no edge labels: dot is quick


def test_small_graphs_keep_the_books_edge_labels():
    source = viz.draw(scalar_chain(10)).source
    assert "shape=ellipse" not in source and "ordering=in" in source
    assert '[label=<0.01<BR/><FONT COLOR="red">' in source


def test_a_long_chain_folds_into_one_box_that_says_what_it_holds():
    start = time.perf_counter()
    source = viz.draw(scalar_chain(2500)).source
    assert time.perf_counter() - start < 5
    assert "chain (× + relu ×) ×2,498" in source and "× 9,992 ops folded" in source
    assert "9,992 of 10,000 ops folded into 1 box" in source
    assert source.count("shape=circle") == 8  # four ops at each end stay
    assert "x1234" not in source  # the chain's own inputs fold with it


def test_a_repeated_scope_folds_between_its_first_and_last_instance():
    source = viz.draw(scalar_chain(1000, scoped=True)).source
    assert "step ×998" in source and "× 3,992 ops folded" in source
    assert source.count("subgraph cluster_") == 2
    assert len(viz.draw(scalar_chain(1000, scoped=True), fold=False).source) > 50 * len(source)


def test_what_no_pattern_folds_goes_into_blocks_in_recording_order():
    x = gg.tensor(np.float64(1.0), name="x")
    level = [x * float(i) for i in range(2048)]
    while len(level) > 1:  # a tree of sums: no chain, no scope
        level = [a + b for a, b in zip(level[::2], level[1::2])]
    source = viz.draw(level[0]).source
    assert "ops 1–21" in source and source.count("ops folded>") == 195
    assert "4,095 of 4,095 ops folded into 195 boxes" in source
    assert not re.search(r"->[^\n]*label=", source)  # blocks: the quick, compact style


@needs_dot
def test_the_viewer_of_a_folded_graph_can_unfold_its_boxes():
    page = viz.html(scalar_chain(2500))
    data = page_data(page)
    assert data["note"].startswith("9,992 of 10,000 ops folded")
    assert data["nodes"]["gg-f0"]["ops"] == [["×", 4996], ["+", 2498], ["relu", 2498]]
    assert '<div class="gg-unfold" data-box="gg-f0" hidden><p>the first 120 of its 9,992 ops' \
        in page
    assert len(data["steps"]) == 1 + 9 + 1 + 9  # a box is one step each way


@needs_dot
def test_compact_nodes_mark_their_value_and_gradient_lines():
    page = viz.html(scalar_chain(60))  # 240 ops: values inside the nodes
    assert page.count('class="gg-value"') == 240 + 61  # every op and every leaf
    assert page.count('class="gg-grad"') == 240 + 61
    assert len(re.findall(r'<g id="gg-n\d+" class="node" data-node', page)) == 240
