"""viz: the apple/orange figure, labels, clusters, escaping, files, animation, text."""
import re
import shutil
import stat
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import graphgrad as gg
from graphgrad.cli import demo
from graphgrad.models import TwoLayerNet
import viz
from viz.labels import number, value

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
SVG = "{http://www.w3.org/2000/svg}"
FORWARD = ["100", "2", "150", "3", "1.1", "200", "450", "650", "715"]
GRADIENTS = ["1.1", "2.2", "3.3", "110", "165", "650"]


def apple_orange():
    """The DLFS figure 5-17 graph after backward: (2 × 100 + 3 × 150) × 1.1."""
    price, _ = demo.apple_orange()
    return price


def sigmoid_graph(x=1.0):
    x = gg.tensor(x, name="x")
    with gg.scope("sigmoid"):
        y = 1 / (1 + gg.exp(x * -1))
    y.backward()
    return y


def svg_texts(svg):
    """(text, fill) of every text element of an SVG; dot writes '-' as '&#45;'."""
    root = ET.fromstring(svg)
    return [(t.text, t.get("fill")) for t in root.iter(f"{SVG}text")]


# -- the apple/orange figure ---------------------------------------------------------
@needs_dot
def test_apple_orange_svg_shows_values_and_red_gradients():
    texts = svg_texts(viz.to_svg(apple_orange()))
    black = {text for text, fill in texts if fill != "red"}
    red = {text for text, fill in texts if fill == "red"}
    assert set(FORWARD) <= black
    assert set(GRADIENTS) <= red
    assert {"apple", "apple_num", "orange", "orange_num", "tax", "price"} <= black


def test_edges_carry_value_over_gradient_and_the_output_its_seed():
    source = viz.draw(apple_orange()).source
    assert '<715<BR/><FONT COLOR="red">1</FONT>>' in source
    assert '<100<BR/><FONT COLOR="red">2.2</FONT>>' in source
    assert '<650<BR/><FONT COLOR="red">1.1</FONT>>' in source
    assert source.count("shape=circle") == 4
    assert source.count("label=<×>") == 3 and source.count("label=<+>") == 1


def test_no_gradients_without_backward_or_with_grads_false():
    price = apple_orange()
    assert "red" not in viz.draw(price, grads=False).source
    fresh = gg.tensor(2.0, name="a") * 3
    assert "red" not in viz.draw(fresh).source
    assert "<6>" in viz.draw(fresh).source


@needs_dot
def test_grads_false_svg_has_no_red():
    texts = svg_texts(viz.to_svg(viz.draw(apple_orange(), grads=False)))
    assert all(fill != "red" for _, fill in texts)
    assert "715" in {text for text, _ in texts}


@pytest.mark.parametrize("x, text", [
    (715.0000000000001, "715"), (2.2000000000000002, "2.2"), (110.00000000000001, "110"),
    (0.1 + 0.2, "0.3"), (-0.0, "0"), (1e-7, "1e-7"), (-2.5e-12, "-2.5e-12"),
    (1234567.0, "1.235e6"), (0.7310585786, "0.7311"), (np.float32(1.1), "1.1"),
    (np.int64(3), "3"), (float("nan"), "nan"), (float("-inf"), "-inf")])
def test_numbers_read_as_a_person_writes_them(x, text):
    assert number(x) == text


def test_small_arrays_are_written_in_full_one_row_per_line():
    assert value([1.0, 2.5, 3.0]) == "[1 2.5 3]"
    assert value(np.array(2.0)) == "2"
    assert value(np.array([[1.0, 2], [3, 4]])) == "[[1 2]\n [3 4]]"
    assert value(np.arange(12.0).reshape(4, 3)).splitlines() == [
        "[[0 1 2]", " [3 4 5]", " [6 7 8]", " [9 10 11]]"]
    assert value(np.zeros((0, 3))) == "[]"


def test_max_and_maximum_have_labels_of_their_own():
    x = gg.tensor(np.array([1.0, -2.0]), name="x")
    source = viz.draw(gg.max(gg.maximum(x, 0.0))).source
    assert source.count("label=<max>") == 1 and source.count("label=<maximum>") == 1


def test_larger_arrays_are_summarised_saying_what_the_summary_shows():
    assert value(np.arange(-3.0, 10.0)) == "13, min -3, max 9"
    assert value(np.arange(-3.0, 12.0).reshape(3, 5)) == "3×5, min -3, max 11"
    assert len(value(np.random.default_rng(0).normal(size=(1000, 1000)))) < 40


def test_a_summary_gives_the_finite_range_and_counts_what_is_not_finite():
    """NaN made the summary "min nan, max nan", hiding the values beside it."""
    a = np.arange(-3.0, 12.0)
    a[[2, 5]] = np.nan
    a[7] = np.inf
    assert value(a) == "15, min -3, max 11, 2 NaN, 1 inf"
    assert value(np.full(20, np.nan)) == "20, 20 NaN"
    assert value(np.array([np.inf] * 13 + [-np.inf])) == "14, 14 inf"
    assert value(np.arange(13) % 2 == 0) == "13, min 0, max 1"  # booleans: no isnan


def test_a_matrix_label_breaks_its_rows_into_lines():
    w = gg.tensor(np.array([[1.0, 2], [3, 4]]), name="w")
    y = gg.sum(w * 2)
    y.backward()
    assert "<[[2 4]<BR/> [6 8]]<BR/>" in viz.draw(y).source


def test_constants_are_small_and_unlabelled():
    source = viz.draw(sigmoid_graph()).source
    constant_lines = [line for line in source.splitlines() if "label=<-1>" in line]
    assert len(constant_lines) == 1 and "fontsize=10" in constant_lines[0]


def test_named_intermediate_shows_its_name():
    a = gg.tensor(2.0, name="a")
    h = a * 3
    h.name = "h"
    y = h + 1
    y.backward()
    assert '<h = 6<BR/><FONT COLOR="red">1</FONT>>' in viz.draw(y).source


def test_reused_tensor_leaves_through_one_junction():
    x = gg.tensor(3.0, name="x")
    y = x * x
    y.backward()
    source = viz.draw(y).source
    assert source.count("shape=point") == 1
    assert source.count('<3<BR/><FONT COLOR="red">6</FONT>>') == 1
    assert source.count("-> n") == 2  # both operands of × come from the junction


def scoped_net():
    """A small graph with nested scopes, a constant and a reused tensor, after backward."""
    x = gg.tensor(np.array([1.0, -2.0]), name="x")
    with gg.scope("Layer"):
        with gg.scope("inner"):
            h = gg.exp(x)
        y = gg.sum(h * h + 1)
    y.backward()
    return y


@pytest.mark.parametrize("build", [apple_orange, sigmoid_graph, scoped_net])
@pytest.mark.parametrize("options", [{}, {"expand": False}])
def test_equal_graphs_built_apart_draw_the_same_dot_source(build, options):
    """Ids are numbered per drawing: a graph built later (higher node and scope ids)
    draws byte for byte as the first."""
    first = build()
    gg.tensor(1.0, requires_grad=True) * 2  # moves the global clock between the two
    assert viz.draw(build(), **options).source == viz.draw(first, **options).source


@needs_dot
def test_equal_graphs_built_apart_render_the_same_svg():
    first = viz.to_svg(scoped_net())
    assert viz.to_svg(scoped_net()) == first


@needs_dot
def test_equal_graphs_built_apart_animate_the_same_frames(tmp_path):
    one = viz.animate(sigmoid_graph(), tmp_path / "one")
    two = viz.animate(sigmoid_graph(), tmp_path / "two")
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


def svg_size(svg):
    """(width, height) of an SVG that dot wrote, in points."""
    root = ET.fromstring(svg)
    return tuple(float(root.get(side).removesuffix("pt")) for side in ("width", "height"))


@needs_dot
def test_rankdir_turns_the_drawing():
    price = apple_orange()
    left_right, top_down = viz.draw(price), viz.draw(price, rankdir="TB")
    assert "rankdir=LR" in left_right.source and "rankdir=TB" in top_down.source
    (wide, low), (narrow, tall) = svg_size(viz.to_svg(left_right)), svg_size(viz.to_svg(top_down))
    assert wide > low and narrow < tall


# -- targets -------------------------------------------------------------------------
def test_draw_from_a_tape_and_from_a_list():
    a = gg.tensor(2.0, name="a")
    with gg.Tape() as tape:
        b = a * 3
        c = gg.exp(b * 0)
    d = c + 1
    tape_source = viz.draw(tape).source
    assert tape_source.count("shape=circle") == 3  # d's node is outside the tape
    assert "<1>" in tape_source  # c = exp(0): the tape's output
    list_source = viz.draw([b, d]).source
    assert list_source.count("shape=circle") == 4
    assert "out0" in list_source and "out1" in list_source


def test_draw_rejects_what_it_cannot_draw():
    with pytest.raises(TypeError, match="Tensor, a list of Tensors or a gg.Tape"):
        viz.draw(3.0)
    with pytest.raises(TypeError, match="ndarray"):
        viz.draw([gg.tensor(1.0), np.ones(2)])


# -- clusters ------------------------------------------------------------------------
@needs_dot
def test_scope_is_a_labelled_cluster():
    y = sigmoid_graph()
    source = viz.draw(y).source
    assert source.count("subgraph cluster_") == 1
    assert "label=<sigmoid>" in source
    svg = viz.to_svg(y)
    assert 'class="cluster"' in svg and ">sigmoid<" in svg


def test_composite_sigmoid_is_a_cluster_and_collapses_to_one_node():
    x = gg.tensor(0.5, name="x")
    y = gg.sigmoid(x, fused=False)
    y.backward()
    assert "subgraph cluster_" in viz.draw(y).source
    collapsed = viz.draw(y, expand=False).source
    assert "cluster_" not in collapsed and "shape=circle" not in collapsed
    assert collapsed.count("label=<<B>sigmoid</B>>") == 1
    assert collapsed.count("->") == 2  # x -> sigmoid -> the output


def test_two_layer_net_loss_is_drawn_with_the_models_own_names():
    """W1, b1, Affine1, … as in ``net.params`` and ``net.layers``, not W, b, Affine."""
    net = TwoLayerNet(4, 3, 2)
    loss = net.loss_graph(np.ones((2, 4)), np.array([1, 0]))
    labels = re.findall(r"label=<([^<>]*)>", viz.draw(loss).source)
    for name in ("W1", "b1", "W2", "b2", "Affine1", "Relu1", "Affine2", "x"):
        assert name in labels
    assert not {"W", "b", "Affine", "Relu"} & set(labels)


def test_composite_softmax_with_loss_draws_the_books_two_blocks_nested():
    x = gg.tensor(np.random.default_rng(0).normal(size=(2, 3)), name="x")
    loss = gg.softmax_with_loss(x, np.array([0, 2]), fused=False)
    loss.backward()
    source = viz.draw(loss).source
    depth = {re.search(r"label=<([^<>]*)>", line).group(1): len(line) - len(line.lstrip("\t"))
             for line in source.splitlines() if "color=gray55 fontcolor=gray35" in line}
    assert depth == {"softmax_with_loss": 2, "Softmax": 3, "Cross Entropy Error": 3}
    assert source.index("label=<Softmax>") < source.index("label=<Cross Entropy Error>")
    assert "log y = [[" in source  # the edge from one block to the other says what it is


def test_nested_scopes_nest_and_collapse_to_the_outermost():
    x = gg.tensor(np.array([1.0, -2.0]), name="x")
    with gg.scope("Layer"):
        with gg.scope("inner"):
            h = gg.exp(x)
        y = gg.sum(h * 2)
    y.backward()
    source = viz.draw(y).source
    assert source.count("subgraph cluster_") == 2
    assert source.index("label=<Layer>") < source.index("label=<inner>")
    collapsed = viz.draw(y, expand=False).source
    assert "inner" not in collapsed and collapsed.count("shape=box") == 1


def test_collapsed_layers_join_by_the_tensors_between_them():
    x = gg.tensor(np.array([1.0, 2.0]), name="x")
    with gg.scope("A"):
        h = x * 2 + 1
    with gg.scope("B"):
        y = gg.sum(h * h)
    y.backward()
    source = viz.draw(y, expand=False).source
    assert source.count("shape=box") == 2
    assert '<[3 5]<BR/><FONT COLOR="red">[6 10]</FONT>>' in source  # A -> B, once
    assert source.count("->") == 3  # x -> A -> B -> output; constants stay inside


# -- escaping ------------------------------------------------------------------------
NASTY = ['q"uote', "{brace}", "<less", "a&b", "back\\slash\\n", "new\nline", "pi π ×",
         "]]>", "tab\there", "\\"]


@needs_dot
def test_nasty_names_render_without_breaking_dot():
    leaves = [gg.tensor(float(i + 1), name=name) for i, name in enumerate(NASTY)]
    y = leaves[0]
    for leaf in leaves[1:]:
        y = y * leaf
    y.name = 'price "<&>" \\'
    with gg.scope('scope "{<&>}"\n\\'):
        z = y * 1
    z.name = "ünïcode"
    z.backward()
    texts = {text for text, _ in svg_texts(viz.to_svg(z))}  # parses as XML
    assert {'q"uote', "{brace}", "<less", "a&b", "back\\slash\\n", "new", "line",
            "pi π ×", "]]>", "tab\\there", "\\", "ünïcode"} <= texts
    assert 'price "<&>" \\ = 3.629e6' in texts
    assert 'scope "{<&>}"' in texts


def test_labels_are_escaped_in_the_dot_source():
    a = gg.tensor(1.0, name='"><x>&')
    source = viz.draw(a * 2).source
    assert "label=<&quot;&gt;&lt;x&gt;&amp;>" in source


# -- files ---------------------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize("suffix, magic", [
    ("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_render_by_suffix(tmp_path, suffix, magic):
    path = viz.render(apple_orange(), tmp_path / f"price.{suffix}")
    assert path.read_bytes().startswith(magic)


def test_render_dot_needs_no_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    path = viz.render(apple_orange(), tmp_path / "price.dot")
    assert '<715<BR/><FONT COLOR="red">1</FONT>>' in path.read_text()
    viz.render(apple_orange(), tmp_path / "graph", format="dot")
    assert (tmp_path / "graph").read_text().startswith("digraph")


def test_rendered_file_gets_the_mode_open_gives(tmp_path, new_file_mode):
    path = viz.render(apple_orange(), tmp_path / "price.dot")
    assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(new_file_mode)


def test_missing_dot_raises_one_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (tmp_path / "old.svg").write_text("old")
    with pytest.raises(viz.DotNotFoundError, match="apt-get install graphviz"):
        viz.render(apple_orange(), tmp_path / "old.svg")
    with pytest.raises(viz.DotNotFoundError):
        viz.render(apple_orange(), tmp_path / "new.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.svg"]
    assert (tmp_path / "old.svg").read_text() == "old"
    assert viz.repr_svg(apple_orange()) is None  # Jupyter falls back to the text repr


def test_render_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf or \.dot"):
        viz.render(apple_orange(), tmp_path / "price.jpg")
    assert not list(tmp_path.iterdir())


@needs_dot
def test_jupyter_svg_of_a_tensor():
    price = apple_orange()
    assert viz.repr_svg(price).lstrip().startswith("<?xml")
    assert ">715<" in viz.repr_svg(price)
    assert viz.repr_svg(gg.tensor(1.0, name="leaf")) is None


@needs_dot
def test_jupyter_shows_a_computed_tensor_as_its_graph():
    formatters = pytest.importorskip("IPython.core.formatters")
    shown, _ = formatters.DisplayFormatter().format(apple_orange())  # calls _repr_svg_
    assert shown["image/svg+xml"].lstrip().startswith("<?xml")
    assert ">715<" in shown["image/svg+xml"] and "price" in shown["text/plain"]
    leaf, _ = formatters.DisplayFormatter().format(gg.tensor(1.0, name="leaf"))
    assert list(leaf) == ["text/plain"]


# -- animation -----------------------------------------------------------------------
def red_texts(path):
    return {text for text, fill in svg_texts(path.read_text()) if fill == "red"}


@needs_dot
def test_animate_reveals_gradients_in_backward_order(tmp_path):
    paths = viz.animate(apple_orange(), tmp_path)
    assert [p.name for p in paths] == [f"frame_{i:03d}.svg" for i in range(6)]  # 4 nodes
    assert red_texts(paths[0]) == set()
    assert red_texts(paths[1]) == {"1"}  # the seed
    assert red_texts(paths[2]) == {"1", "1.1", "650"}  # × tax: its inputs' gradients
    assert red_texts(paths[3]) == {"1", "1.1", "650"}  # +: passes 1.1 on, twice
    assert "2.2" in red_texts(paths[5]) and "3.3" in red_texts(paths[5])
    assert red_texts(paths[-1]) >= set(GRADIENTS)
    assert "#ffe066" not in paths[1].read_text()
    assert all("#ffe066" in p.read_text() for p in paths[2:])  # the current node


@needs_dot
def test_animate_plays_only_the_nodes_the_backward_sweep_visited(tmp_path):
    """A Tape may hold a node the loss does not use (``exp(s)`` here): the sweep never
    visits it, so it gets no frame, and the frame count is the swept nodes + 2."""
    x = gg.tensor(2.0, name="x")
    with gg.Tape() as tape:
        s = x * 3
        gg.exp(s)  # recorded, but not part of the loss
        loss = s * s
    loss.backward()
    paths = viz.animate(tape, tmp_path)
    assert len(paths) == 2 + 2
    current = [re.findall(r'<g [^>]*class="node"[^>]*>(?:(?!</g>).)*#ffe066(?:(?!</g>).)*'
                          r'<text[^>]*>([^<]*)</text>', p.read_text(), re.S) for p in paths]
    assert current == [[], [], ["×"], ["×"]]


@needs_dot
def test_animate_png_and_gif(tmp_path):
    from PIL import Image
    paths = viz.animate(sigmoid_graph(), tmp_path, format="gif")
    assert len(paths) == 4 + 2 and all(p.suffix == ".png" for p in paths)
    sizes = {Image.open(p).size for p in paths}
    assert len(sizes) == 1  # hidden gradients keep their place: the layout is steady
    gif = Image.open(tmp_path / "backprop.gif")
    assert gif.n_frames == len(paths)


def test_animate_needs_a_backward_first(tmp_path):
    y = gg.tensor(2.0) * 3
    with pytest.raises(ValueError, match="call backward"):
        viz.animate(y, tmp_path)
    with pytest.raises(ValueError, match="format"):
        viz.animate(apple_orange(), tmp_path, format="jpg")


# -- text ----------------------------------------------------------------------------
def test_text_is_one_line_per_node():
    assert viz.text(apple_orange()) == "\n".join([
        "in apple apple_num orange orange_num tax",
        "a = mul apple apple_num",
        "b = mul orange orange_num",
        "c = add a b",
        "price = mul c tax",
        "out price"])


def test_text_names_constants_shapes_and_scopes():
    x = gg.tensor(np.ones((2, 3)), name="a")  # "a" is taken: fresh names skip it
    with gg.scope("layer"):
        y = gg.sum(gg.exp(x) * 2)
    assert viz.text(y).splitlines() == [
        "in a",
        "b = exp a  # 2×3 layer",
        "c = mul b 2  # 2×3 layer",
        "d = sum c  # layer",
        "out d"]


def test_text_and_draw_take_any_name_as_its_str():
    x, y = gg.tensor(2.0, name=5), gg.tensor(3.0, name=2.5)
    w = x * y
    w.name = 1
    z = w * 2
    z.name = 0  # falsy, still a name
    z.backward()
    assert viz.text(z).splitlines() == [  # "5", "1", "0" are not identifiers
        "in a b", "c = mul a b", "d = mul c 2", "out d"]
    source = viz.draw(z).source
    assert "[label=<5> shape=plaintext]" in source
    assert "[label=<2.5> shape=plaintext]" in source
    assert "label=<1 = 6<BR/>" in source
    assert 'out0 [label=<0> shape=plaintext]' in source
