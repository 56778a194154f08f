"""Regenerate docs/screenshots/viewer_backward.png: the viewer of the DLFS apple/orange
graph, mid backward, as headless Chromium shows it (needs chromium, chromium-driver and
selenium). Screenshots live in docs/screenshots/, apart from the drawings in docs/ that
the examples regenerate (tests/test_examples.py).

The page is stepped to the orange ×, whose chain-rule step the side panel shows.

    python tools/viewer_screenshot.py
"""
import shutil
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import viz  # noqa: E402  (after the path is set)
from graphgrad.cli.demo import apple_orange  # noqa: E402

OUTPUT = ROOT / "docs" / "screenshots" / "viewer_backward.png"
STEPS = 8  # Home, 4 forward, the seed, 3 of the 4 backward steps: the orange ×


def main():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=1400,640", "--hide-scrollbars"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    price, _ = apple_orange()
    with tempfile.TemporaryDirectory() as directory:
        page = viz.html(price, Path(directory) / "price.html")
        browser.get(page.as_uri())
        for _ in range(STEPS):
            ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
        browser.find_element(By.CSS_SELECTOR, 'g[data-node="1"]').click()
        browser.save_screenshot(str(OUTPUT))
    browser.quit()
    print(OUTPUT)


if __name__ == "__main__":
    main()
