"""The live view (``gpnas dashboard``) in a real headless browser while a search runs in another process."""

import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("matplotlib")

SEARCH = textwrap.dedent("""
    import sys, time
    from gpnas.space import make_space
    from gpnas.study import create_study
    space = make_space([(f"p{i}", [1, 2, 3], "a" if i % 2 else "b") for i in range(6)], name="slow")
    study = create_study(space, storage=sys.argv[1], study_name="live", seed=0, n_initial=3, sampler="random")
    def objective(arch):
        time.sleep(0.4)
        return float(sum(arch.values()))
    study.optimize(objective, budget=300)  # two minutes: still running while the browser looks twice
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dump(browser, url, profile) -> str:
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=1000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    return result.stdout


def test_dashboard_follows_a_running_search_in_a_browser(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("Debian's chromium is needed to check the live view (apt-get install chromium)")
    url = f"sqlite:///{tmp_path / 's.db'}"
    search = subprocess.Popen([sys.executable, "-c", SEARCH, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = _free_port()
    server = None
    try:
        deadline = time.time() + 60
        while not (tmp_path / "s.db").exists() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)  # a few trials first
        # a long reload period: the headless browser dumps the page before it would reload itself
        server = subprocess.Popen([sys.executable, "-m", "gpnas", "dashboard", "live", "--storage", url, "--port",
                                   str(port), "--refresh", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        assert "dashboard of study 'live'" in server.stdout.readline()
        first = _dump(browser, f"http://127.0.0.1:{port}/", tmp_path / "chrome1")
        time.sleep(3.0)
        second = _dump(browser, f"http://127.0.0.1:{port}/", tmp_path / "chrome2")
        done = [int(re.search(r'data-done="(\d+)"', page).group(1)) for page in (first, second)]
        assert done[1] > done[0] >= 1  # the page follows the study
        assert 'http-equiv="refresh"' in first and "best_so_far.png" in second
        assert re.search(r"running for</th>.*?<td>\d+</td>", second, re.S) or 'data-running="0"' in second
        assert search.poll() is None or search.returncode == 0
    finally:
        for proc in (server, search):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
