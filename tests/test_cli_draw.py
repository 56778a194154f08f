"""graphgrad draw FILE.py: which result it draws, its options, its errors."""
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from graphgrad.cli import main

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")

APPLE = """
    import graphgrad as gg
    apple = gg.tensor(100.0, name="apple")
    out = apple * 2 * 1.1
    out.name = "price"
    out.backward()
    other = gg.tensor(5.0, name="other")
"""
SCOPED = """
    import graphgrad as gg
    x = gg.tensor(0.5, name="x")
    with gg.scope("sigmoid"):
        y = 1 / (1 + gg.exp(x * -1))
    y.backward()
"""


def script(tmp_path, text, name="graph.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@needs_dot
def test_draws_out_to_svg(tmp_path, capsys):
    output = tmp_path / "price.svg"
    assert main(["draw", str(script(tmp_path, APPLE)), "-o", str(output)]) == 0
    svg = output.read_text()
    assert ">220<" in svg and ">2.2<" in svg and 'fill="red"' in svg
    assert "other" not in svg
    assert str(output) in capsys.readouterr().out


def test_without_out_draws_the_last_tensor(tmp_path):
    path = script(tmp_path, """
        import graphgrad as gg
        a = gg.tensor(2.0, name="a")
        first = a * 3
        last = a + 4
    """)
    output = tmp_path / "g.dot"
    assert main(["draw", str(path), "-o", str(output)]) == 0
    source = output.read_text()
    assert "label=<+>" in source and "×" not in source


def test_main_block_is_skipped(tmp_path):
    main_block = "    if __name__ == '__main__':\n        raise SystemExit(9)\n"
    path = script(tmp_path, APPLE + main_block)
    assert main(["draw", str(path), "-o", str(tmp_path / "g.dot")]) == 0


def test_no_grads_and_collapse(tmp_path):
    path = script(tmp_path, SCOPED)
    plain = tmp_path / "plain.dot"
    assert main(["draw", str(path), "-o", str(plain), "--no-grads"]) == 0
    assert "red" not in plain.read_text() and "cluster_" in plain.read_text()
    collapsed = tmp_path / "collapsed.dot"
    assert main(["draw", str(path), "-o", str(collapsed), "--collapse"]) == 0
    source = collapsed.read_text()
    assert "<B>sigmoid</B>" in source and "cluster_" not in source and "red" in source


@pytest.mark.parametrize("rankdir", [None, "TB", "BT", "RL"])
def test_rankdir_option(tmp_path, rankdir):
    output = tmp_path / "g.dot"
    option = [] if rankdir is None else ["--rankdir", rankdir]
    assert main(["draw", str(script(tmp_path, APPLE)), "-o", str(output), *option]) == 0
    assert f"rankdir={rankdir or 'LR'}" in output.read_text()


def test_unknown_rankdir_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["draw", str(script(tmp_path, APPLE)), "--rankdir", "diagonal"])
    assert exit.value.code == 2 and "TB" in capsys.readouterr().err


@needs_dot
@pytest.mark.parametrize("format, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"),
                                           ("dot", b"digraph")])
def test_format_option(tmp_path, format, magic):
    output = tmp_path / "graph.out"
    assert main(["draw", str(script(tmp_path, APPLE)), "-o", str(output),
                 "--format", format]) == 0
    assert output.read_bytes().startswith(magic)


def test_default_output_is_named_after_the_file(tmp_path, monkeypatch):
    path = script(tmp_path, APPLE, name="apple.py")
    monkeypatch.chdir(tmp_path)
    assert main(["draw", str(path), "--format", "dot"]) == 0
    assert (tmp_path / "apple.dot").read_text().startswith("digraph")


@pytest.mark.parametrize("text, message", [
    ("x = 3\n", "defines no Tensor at module level"),
    ("out = 3\n", "`out` is a int"),
])
def test_nothing_to_draw_is_a_clear_error(tmp_path, capsys, text, message):
    assert main(["draw", str(script(tmp_path, text)), "-o", str(tmp_path / "g.svg")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "g.svg").exists()


def test_missing_file_and_bad_suffix_exit_2(tmp_path, capsys):
    assert main(["draw", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["draw", str(script(tmp_path, APPLE)), "-o", str(tmp_path / "g.jpg")]) == 2
    assert ".svg, .png, .pdf, .dot or .html" in capsys.readouterr().err


MISMATCH = """
    import graphgrad as gg
    a = gg.tensor([[1.0, 2.0]], name="a")
    b = gg.tensor([[1.0, 2.0, 3.0]], name="b")
    out = a @ b
"""


def test_an_error_in_the_file_shows_its_traceback_and_exits_1(tmp_path, capsys):
    path = script(tmp_path, MISMATCH)
    assert main(["draw", str(path), "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert f'File "{path}", line 5, in <module>\n    out = a @ b' in err
    assert err.rstrip().endswith("(1, 3): matmul: Input operand 1 has a mismatch in its core "
                                 "dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) "
                                 "(size 1 is different from 2)")
    assert "ValueError: MatMul (@) on x 'a' float64 (1, 2)" in err
    assert "runpy" not in err and "cli/draw.py" not in err  # the user's frames only
    assert not (tmp_path / "g.svg").exists()


def test_a_syntax_error_in_the_file_shows_its_line(tmp_path, capsys):
    path = script(tmp_path, "x = 1\ny = (\n")
    assert main(["draw", str(path), "--format", "dot"]) == 1
    err = capsys.readouterr().err
    assert f'File "{path}", line 2' in err and "SyntaxError" in err


def test_a_bad_suffix_is_refused_before_the_file_runs(tmp_path, capsys):
    marker = tmp_path / "ran"
    path = script(tmp_path, textwrap.dedent(APPLE) + f"open({str(marker)!r}, 'w').close()\n")
    assert main(["draw", str(path), "-o", str(tmp_path / "g.jpg")]) == 2
    assert "give a path ending in .svg, .png, .pdf, .dot or .html" in capsys.readouterr().err
    assert not marker.exists()


def test_missing_dot_binary_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["draw", str(script(tmp_path, APPLE)), "-o", str(tmp_path / "g.svg")]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_command_line_exit_status(tmp_path):
    empty = script(tmp_path, "x = 3\n")
    result = subprocess.run([sys.executable, "-m", "graphgrad.cli", "draw", str(empty)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "defines no Tensor" in result.stderr
    failing = script(tmp_path, MISMATCH, name="failing.py")
    result = subprocess.run([sys.executable, "-m", "graphgrad.cli", "draw", str(failing)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "out = a @ b" in result.stderr
    help_text = subprocess.run([sys.executable, "-m", "graphgrad.cli", "draw", "--help"],
                               capture_output=True, text=True).stdout
    assert "`out`" in help_text and "last Tensor" in help_text


@needs_dot
def test_draws_the_viewer_page_by_suffix(tmp_path, capsys):
    output = tmp_path / "price.html"
    assert main(["draw", str(script(tmp_path, APPLE)), "-o", str(output)]) == 0
    page = output.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'data-op="×"' in page
    assert str(output) in capsys.readouterr().out


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_the_viewer_page_follows_rankdir(tmp_path, rankdir):
    """The page's drawing flows as ``--rankdir`` says (it was always left to right)."""
    output = tmp_path / "price.html"
    assert main(["draw", str(script(tmp_path, APPLE)), "-o", str(output),
                 "--rankdir", rankdir]) == 0
    width, height = map(float, re.search(r'<svg [^>]*width="([\d.]+)pt" height="([\d.]+)pt"',
                                         output.read_text()).groups())
    assert (width > height) == (rankdir == "LR")


@needs_dot
def test_view_writes_a_temporary_page_opens_the_browser_and_prints_its_path(
        tmp_path, capsys, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert main(["view", str(script(tmp_path, APPLE, name="apple.py"))]) == 0
    path = capsys.readouterr().out.strip()
    assert path.startswith(str(tmp_path / "apple-")) and path.endswith(".html")
    assert opened == [f"file://{path}"]
    assert "gg-panel" in open(path).read()


def test_view_reports_a_file_without_a_tensor(tmp_path, capsys, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert main(["view", str(script(tmp_path, "x = 3\n"))]) == 2
    assert "graphgrad view:" in capsys.readouterr().err and not opened
