"""JupyterLab in a real browser: notebooks run through the UI in headless Chromium, knobs turned.

Opt-in (marker ``browser``): ``.ci/run`` runs it when chromium and chromedriver are installed
(Debian: ``apt-get install chromium chromium-driver``). One server per module gets a token, serves
copies of the notebooks (the UI saves outputs, which the repository never stores) and is shut down
at the end.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("COURSE_TEST_RUNS", REPO / "build" / "notebook-runs")).parent / "browser"
TOKEN = "course-browser-test"
# Notebooks run top to bottom through the UI, saved, and checked for errors
# (test_notebook_runs_in_jupyterlab): the students' entry point. Notebooks with knobs to turn get a
# test of their own below.
RUN_IN_THE_UI = ["00_overview.ipynb"]
THRESHOLD_KNOB = "02_contrastive_siamese.ipynb"  # test_threshold_slider_redraws_in_jupyterlab
SERVED = RUN_IN_THE_UI + [THRESHOLD_KNOB]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory, shared_data):
    if not shutil.which("chromedriver"):
        pytest.skip("chromedriver not installed (apt-get install chromium chromium-driver)")
    tmp_path = tmp_path_factory.mktemp("jupyterlab")
    for name in SERVED:
        shutil.copy(REPO / "notebooks" / name, tmp_path / name)
    port = free_port()
    env = {**os.environ, "COURSE_PROFILE": "smoke", "COURSE_DATA_DIR": str(shared_data),
           "COURSE_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": ""}
    env.pop("MPLBACKEND")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}",
         "--ServerApp.allow_root=True"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (tmp_path / "server.log").read_text()[-2000:])
            time.sleep(0.5)
    yield url, tmp_path
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    assert server.poll() is not None


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1800"):
        options.add_argument(flag)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def open_and_run_all(browser, url: str, name: str, timeout: float) -> None:
    """Open a notebook in JupyterLab, choose Run > Run All Cells, and wait until every cell ran."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    # reset: a fresh workspace, without the notebooks an earlier test (or person) left open
    browser.get(f"{url}/lab/tree/{name}?reset&token={TOKEN}")
    wait = WebDriverWait(browser, 120)
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Cell")))
    wait.until(lambda d: "Idle" in d.find_element(By.CSS_SELECTOR, "#jp-main-statusbar").text)

    wait.until(lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
                          if m.text.strip() == "Run"])[0].click()
    wait.until(ready.element_to_be_clickable(
        (By.CSS_SELECTOR, "li.lm-Menu-item[data-command='runmenu:run-all']"))).click()

    def finished(driver):
        prompts = [p.text for p in driver.find_elements(
            By.CSS_SELECTOR, ".jp-CodeCell .jp-InputArea-prompt")]
        return prompts and all(p.strip() not in ("[ ]:", "") and "*" not in p for p in prompts)

    WebDriverWait(browser, timeout, poll_frequency=2).until(finished)


def tracebacks(browser) -> list[str]:
    """The start of every error output the notebook shows."""
    from selenium.webdriver.common.by import By

    errors = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .ansi-red-fg, "
                                                    "[data-mime-type='application/vnd.jupyter.error']")
    return [e.text[:300] for e in errors if "Traceback" in e.text or "Error" in e.text]


@pytest.mark.parametrize("name", RUN_IN_THE_UI)
def test_notebook_runs_in_jupyterlab(jupyterlab, browser, name):
    from selenium.webdriver.common.by import By

    url, folder = jupyterlab
    open_and_run_all(browser, url, name, timeout=420)
    stem = Path(name).stem
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    plots = browser.find_elements(By.CSS_SELECTOR, ".jp-RenderedImage img")
    assert plots, "no plot was rendered"
    browser.execute_script("arguments[0].scrollIntoView()", plots[0])
    browser.save_screenshot(str(SCREENSHOTS / f"{stem}-plot.png"))
    last = browser.find_elements(By.CSS_SELECTOR, ".jp-CodeCell")[-1]
    browser.execute_script("arguments[0].scrollIntoView()", last)
    browser.save_screenshot(str(SCREENSHOTS / f"{stem}-end.png"))
    assert not tracebacks(browser)

    # Save through the UI and check the stored notebook too: every code cell ran, none failed.
    browser.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook").click()
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue009s")  # Ctrl+S
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stored = nbformat.read(folder / name, as_version=4)
        code = [c for c in stored.cells if c.cell_type == "code"]
        if all(c.execution_count for c in code):
            break
        time.sleep(1)
    assert all(c.execution_count for c in code), "not every cell ran"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert "profile smoke" in printed  # COURSE_PROFILE reached the kernel through the server
    assert (SCREENSHOTS / f"{stem}-end.png").stat().st_size > 10_000


def test_threshold_slider_redraws_in_jupyterlab(jupyterlab, browser):
    """Notebook 02's threshold slider, moved to its end, redraws numbers and matrix below it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = jupyterlab
    open_and_run_all(browser, url, THRESHOLD_KNOB, timeout=300)
    assert not tracebacks(browser)
    [cell] = WebDriverWait(browser, 60).until(lambda d: [
        c for c in d.find_elements(By.CSS_SELECTOR, ".jp-CodeCell")
        if c.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle")])
    browser.execute_script("arguments[0].scrollIntoView()", cell)
    static = cell.find_element(By.CSS_SELECTOR, ".jp-RenderedText").text  # the starting value
    assert static.startswith("threshold ") and "accuracy" in static
    assert cell.find_elements(By.CSS_SELECTOR, ".jp-RenderedImage img"), "no starting matrix"
    assert not cell.find_elements(By.CSS_SELECTOR, ".widget-output .jp-RenderedText")

    handle = cell.find_element(By.CSS_SELECTOR, ".widget-slider .noUi-handle")
    readout = cell.find_element(By.CSS_SELECTOR, ".widget-readout").text
    browser.execute_script("arguments[0].focus()", handle)
    handle.send_keys(Keys.END)  # the largest distance: every pair is called similar

    def redrawn(_):
        live = cell.find_elements(By.CSS_SELECTOR, ".widget-output .jp-RenderedText")
        images = cell.find_elements(By.CSS_SELECTOR, ".widget-output .jp-RenderedImage img")
        return live and images and live[-1].text

    moved = WebDriverWait(browser, 60, poll_frequency=0.5).until(redrawn)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView()", cell)
    browser.save_screenshot(str(SCREENSHOTS / "02_contrastive_siamese-threshold.png"))
    assert cell.find_element(By.CSS_SELECTOR, ".widget-readout").text != readout
    assert moved.startswith("threshold ") and moved != static
    assert "recall 1.000" in moved  # every similar pair is at or below the largest distance
    assert cell.find_element(By.CSS_SELECTOR, ".jp-RenderedText").text == static  # start kept
    assert not tracebacks(browser)
