"""One headless Chromium for a whole test module, and the process guard that knows it.

The browser is Debian's chromium driven by Debian's chromium-driver through
selenium; nothing here downloads a browser or a driver. Where either is missing
the browser tests skip, saying what is missing (.ci/run installs both).

The suite's guard (tests/conftest.py) fails a test that leaves a child process
behind. A browser shared by a module lives across its tests, so in this folder
the guard is the same check minus the processes of that browser; the browser
fixture itself then quits it and waits until every one of its processes is gone
and reaped, and fails if one is left.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time

import psutil
import pytest

CHROMIUM = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1500,900")
_browser_pids: set[int] = set()     # the shared browser's processes, while it lives


def _first(paths) -> str | None:
    return next((p for p in paths if os.access(p, os.X_OK)), None)


def _is_browser(process: psutil.Process) -> bool:
    """A process of the shared browser: chromedriver, chromium and its helpers
    (crashpad's handler is reparented to the test process, the subreaper)."""
    if not _browser_pids:
        return False
    try:
        if process.pid in _browser_pids or any(
                parent.pid in _browser_pids for parent in process.parents()):
            return True
        return process.exe().startswith(("/usr/lib/chromium/", "/usr/bin/chrom"))
    except (psutil.Error, OSError):
        return False


@pytest.fixture
def process_guard_exempt():
    """tests/conftest.py's guard, except for the module's own browser."""
    return _is_browser


def browser_missing() -> str | None:
    """Why no browser can be had here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if _first(CHROMIUM) is None:
        return "no chromium (apt-get install -y chromium chromium-driver)"
    if _first(CHROMEDRIVER) is None:
        return "no chromedriver (apt-get install -y chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module; quit and reaped (checked) at its end."""
    missing = browser_missing()
    if missing:
        pytest.skip(f"no browser for the page tests: {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")   # selenium's manager: never fetch a driver

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    profile = tempfile.mkdtemp(prefix="ringemu-view-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = _first(CHROMIUM)
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_first(CHROMEDRIVER)), options=options)
    _browser_pids.update(p.pid for p in psutil.Process().children(recursive=True)
                         if p.pid not in before)
    try:
        yield driver
    finally:
        driver.quit()
        try:
            _reap_browser(before)
        finally:
            _browser_pids.clear()
            shutil.rmtree(profile, ignore_errors=True)


def _reap_browser(before: set[int]) -> None:
    """Wait (10 s at most) until every process that appeared with the browser has
    exited, reaping those that became our children; kill and fail on any that would
    not go."""
    deadline = time.monotonic() + 10
    while True:
        mine = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
        for process in mine:
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(process.pid, os.WNOHANG)
            except (psutil.NoSuchProcess, ChildProcessError):
                pass
        mine = [p for p in mine if p.is_running()]
        if not mine:
            return
        if time.monotonic() > deadline:
            for process in mine:
                process.kill()
            psutil.wait_procs(mine, timeout=5)
            raise AssertionError(f"browser processes left after quit: {[p.pid for p in mine]}")
        psutil.wait_procs(mine, timeout=0.2)
