"""The viewer page in a real browser: headless Chromium driven by selenium.

Each test opens a page written by ``viz.html`` from ``file://``, works it as a learner
would (keys, clicks, typing), checks what is on screen, leaves a screenshot in its
tmp dir, and fails on any error in the browser's console. Without chromium,
chromium-driver (Debian packages; ``make deps`` installs them) or selenium (the test
extra) the tests skip, saying which is missing.
"""
import shutil

import numpy as np
import pytest

import graphgrad as gg
import viz
from graphgrad.cli import demo

from test_viewer import NASTY, scalar_chain, scope_used_twice_outside

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
WINDOW = "1400,800"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="needs selenium: pip install selenium (the test extra)")
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip("needs headless Chromium: apt-get install chromium chromium-driver "
                    "(make deps does)")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", f"--window-size={WINDOW}"):
        options.add_argument(argument)
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    yield chrome
    chrome.quit()


@pytest.fixture
def open_page(browser, tmp_path):
    """Write a target's page, open it from file://; afterwards take a screenshot
    and check the console holds no error."""
    def open_page(target, **options):
        path = viz.html(target, tmp_path / "page.html", **options)
        browser.get(path.resolve().as_uri())
        return browser

    yield open_page
    browser.save_screenshot(str(tmp_path / "screenshot.png"))
    assert (tmp_path / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def press(browser, key, times=1):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(times):
        ActionChains(browser).send_keys(getattr(Keys, key)).perform()


def visible(browser, css):
    """The text of every element matching ``css`` that is on screen."""
    from selenium.webdriver.common.by import By

    return sorted(e.text for e in browser.find_elements(By.CSS_SELECTOR, css) if e.is_displayed())


def find(browser, css):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, css)


def test_home_shows_nothing_and_the_gradients_appear_in_reverse_tape_order(
        open_page, tmp_path):
    price, _ = demo.apple_orange()
    browser = open_page(price)
    press(browser, "END")
    press(browser, "HOME")
    assert visible(browser, ".gg-grad") == [] and visible(browser, ".gg-value") == []
    press(browser, "ARROW_RIGHT", 4)  # the forward pass: four operations
    assert len(visible(browser, ".gg-value")) == 9 and visible(browser, ".gg-grad") == []
    revealed, shown = [], []
    for _ in range(5):  # the seed, then the four nodes in reverse tape order
        press(browser, "ARROW_RIGHT")
        now = visible(browser, ".gg-grad")
        revealed.append(sorted(set(now) - set(shown)) or ["1.1 again"])
        shown = now
        if len(revealed) == 4:
            browser.save_screenshot(str(tmp_path / "mid_backward.png"))
    assert revealed == [["1"], ["1.1", "650"], ["1.1 again"], ["165", "3.3"], ["110", "2.2"]]
    assert sorted(shown) == sorted(["1", "1.1", "650", "1.1", "1.1", "3.3", "165", "2.2", "110"])
    assert "backward 4/4" in find(browser, "#gg-step").text
    assert find(browser, ".gg-current").get_attribute("data-node") == "0"  # the apple ×
    press(browser, "ARROW_LEFT")
    assert "2.2" not in visible(browser, ".gg-grad")
    assert (tmp_path / "mid_backward.png").read_bytes().startswith(b"\x89PNG")


def test_clicking_the_apple_mul_shows_its_chain_rule_step(open_page):
    price, _ = demo.apple_orange()
    browser = open_page(price)
    find(browser, 'g[data-node="0"]').click()
    panel = find(browser, "#gg-panel").text
    assert "× (Mul)" in panel and "apple_num" in panel
    assert "1.1 × 2 = 2.2" in panel and "1.1 × 100 = 110" in panel


def test_buttons_and_slider_play_the_same_steps(open_page):
    price, _ = demo.apple_orange()
    browser = open_page(price)
    find(browser, "#gg-end").click()
    assert len(visible(browser, ".gg-grad")) == 9
    find(browser, "#gg-home").click()
    find(browser, "#gg-next").click()
    assert visible(browser, ".gg-value") == ["100", "2", "200"]
    browser.execute_script("const s = document.getElementById('gg-slider');"
                           "s.value = 5; s.dispatchEvent(new Event('input'));")
    assert visible(browser, ".gg-grad") == ["1"]


def test_a_cluster_collapses_and_expands(open_page):
    x = gg.tensor(0.5, name="x")
    y = gg.sigmoid(x, fused=False) * 2
    y.backward()
    browser = open_page(y)
    label = find(browser, "g.cluster > text")
    assert label.text == "sigmoid"
    assert len(visible(browser, "g.node[data-op]")) == 5  # the book's four steps and ×2
    label.click()
    assert "gg-collapsed" in find(browser, "g.cluster").get_attribute("class")
    assert visible(browser, "g.node[data-op]") == ["×"]  # the 4 inside are folded
    assert "4 ops folded" in find(browser, ".gg-fold-count").text
    label.click()
    assert len(visible(browser, "g.node[data-op]")) == 5


def test_a_collapsed_cluster_still_shows_what_leaves_it(open_page):
    browser = open_page(scope_used_twice_outside())
    press(browser, "END")
    find(browser, "g.cluster > text").click()
    assert visible(browser, "g.node[data-op]") == ["+", "×", "×"]
    assert "h = 6" in visible(browser, ".gg-value") and "26" in visible(browser, ".gg-grad")
    count, cluster = browser.execute_script(  # over no value: inside the folded box
        "const c = document.querySelector('g.cluster'), t = c.querySelector('.gg-fold-count');"
        "return [t.textContent, [t.getBBox(), c.querySelector('path, polygon').getBBox()]"
        ".map(b => [b.x, b.x + b.width])];")
    assert count == "1 op folded"
    (left, right), (box_left, box_right) = cluster
    assert box_left <= left and right <= box_right


def test_names_are_text_in_the_page_and_found_by_name(open_page):
    from selenium.common.exceptions import NoAlertPresentException

    a = gg.tensor(2.0, name=NASTY)
    b = a * gg.tensor(3.0, name="w")
    b.name = '"><img src=x onerror=alert(1)>'
    b.backward()
    browser = open_page(b)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert browser.execute_script("return document.querySelectorAll('img, svg script').length") == 0
    assert NASTY in visible(browser, "g.node text")
    find(browser, "#gg-find").send_keys("</script>")
    assert find(browser, "#gg-found").text == "1 tensor"
    assert NASTY in find(browser, "#gg-panel").text


def test_a_folded_box_unfolds(open_page):
    browser = open_page(scalar_chain(2500))
    assert "9,992 of 10,000 ops folded" in find(browser, "#gg-note").text
    find(browser, "g#gg-f0").click()
    assert "× 9,992 ops folded" in find(browser, "#gg-panel").text
    find(browser, "#gg-panel button").click()
    assert find(browser, "#gg-unfolded").is_displayed()
    assert "the first 120 of its 9,992 ops" in find(browser, "#gg-unfolded").text
    find(browser, "#gg-fold").click()
    assert not find(browser, "#gg-unfolded").is_displayed()


def test_arrays_show_in_full_when_small_and_summarised_when_large(open_page):
    small = gg.tensor(np.array([1.0, 2.0, 3.0]), name="small")
    large = gg.tensor(np.arange(200.0).reshape(10, 20), name="large")
    y = gg.sum(small * 2) + gg.sum(large)
    y.backward()
    browser = open_page(y)
    find(browser, 'g[data-node="0"]').click()
    assert "[1 2 3]" in find(browser, "#gg-panel").text
    find(browser, "#gg-find").send_keys("large")
    assert "10×20, min 0, max 199, mean 99.5" in find(browser, "#gg-panel").text


def test_scrolling_zooms_and_dragging_pans(open_page):
    from selenium.webdriver.common.action_chains import ActionChains

    def transform():
        """(translation, scale) of the drawing, from its CSS transform."""
        text = browser.execute_script("return document.getElementById('gg-canvas').style.transform")
        translate, scale = text.split(" scale(")
        return translate, float(scale.rstrip(")"))

    price, _ = demo.apple_orange()
    browser = open_page(price)
    before = transform()
    ActionChains(browser).move_to_element_with_offset(find(browser, "#gg-view"), -400, -250) \
        .click_and_hold().move_by_offset(60, 40).release().perform()
    panned = transform()
    assert panned[0] != before[0] and panned[1] == before[1]
    browser.execute_script("document.getElementById('gg-view').dispatchEvent(new WheelEvent("
                           "'wheel', {deltaY: -300, clientX: 300, clientY: 300}))")
    assert transform()[1] > 1.5 * panned[1]
