"""The HTML reports in a real headless browser: Chromium, driven over the DevTools protocol on 127.0.0.1.

Each report is loaded from file://; the test asserts that the page logs no console error, throws no
exception and fetches nothing, and that every figure is an image the browser decoded (non-zero natural
size). A control page with a broken image and a console error shows that the harness sees both.
Skipped, with the reason, when Chromium or the ``websocket-client`` package is absent (CI installs
both: ``.ci/run`` and the ``test`` extra).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from wavegen.cli import main

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium): the browser test of the HTML report is skipped",
                allow_module_level=True)
websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (pip install websocket-client)"
                                ": the browser test of the HTML report is skipped")


class Chromium:
    """A headless Chromium on a free loopback port, one page driven over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        args = [CHROMIUM, "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                "--disable-background-networking", "--disable-extensions", "--disable-dev-shm-usage", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"Chromium did not open its DevTools port (exit code {self.proc.returncode})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets: list[dict[str, Any]] = []
        while not targets:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:  # noqa: S310
                targets = [t for t in json.load(r) if t.get("type") == "page"]
            if not targets:
                time.sleep(0.1)
        self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        me = self.next_id
        self.ws.send(json.dumps({"id": me, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == me:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout_s} s")
            self.events.append(json.loads(self.ws.recv()))

    def load(self, path: Path) -> dict[str, Any]:
        """Open ``path``; return the figures the page shows and every error and request it made."""
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        probe = """JSON.stringify({
            title: document.title,
            images: Array.from(document.images).map(i => ({w: i.naturalWidth, h: i.naturalHeight, done: i.complete,
                                                          shown: i.getBoundingClientRect().width})),
            svgs: Array.from(document.querySelectorAll('svg')).map(s => s.getBoundingClientRect().width),
            scripts: document.scripts.length,
            text: document.body.innerText})"""
        res = self.call("Runtime.evaluate", expression=probe, returnByValue=True)
        page = json.loads(res["result"]["value"])
        errors = []
        requests = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                errors.append(p["exceptionDetails"].get("text", "exception"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(p["entry"].get("text", ""))
            elif m == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not url.startswith(("data:", "file:")):
                    requests.append(url)
            elif m == "Network.loadingFailed":
                errors.append(f"failed to load: {p.get('errorText')}")
        page["errors"] = errors
        page["requests"] = requests
        return page

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            try:
                self.call("Browser.close")
            except Exception:  # noqa: BLE001 - the browser may already be gone
                pass
            ws.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    b = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["--no-progress", "demo", "--out", str(out)]) == 0
    return out


def _assert_clean(page: dict[str, Any], min_images: int) -> None:
    assert page["errors"] == [], page["errors"]
    assert page["requests"] == [], f"the report fetched {page['requests']}"
    assert page["scripts"] == 0
    imgs = page["images"]
    assert len(imgs) >= min_images, f"{len(imgs)} figures, expected at least {min_images}"
    for i, img in enumerate(imgs):
        assert img["done"] and img["w"] > 100 and img["h"] > 50 and img["shown"] > 0, f"figure {i}: {img}"


def test_the_harness_sees_a_broken_image_and_a_console_error(browser: Chromium, tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                   '<img src="data:image/png;base64,AAAA"><script>console.error("boom")</script></body></html>')
    page = browser.load(bad)
    assert any("boom" in e for e in page["errors"])
    assert page["images"][0]["w"] == 0  # not decoded: the figure assertion would fail on it
    with pytest.raises(AssertionError):
        _assert_clean(page, 1)


def test_demo_report_loads_without_errors_with_every_figure(browser: Chromium, demo_dir: Path) -> None:
    report = demo_dir / "report.html"
    assert report.exists() and (demo_dir / "report.txt").exists()
    page = browser.load(report)
    # sequence overview, k-space, safety traces, worst-spot zooms, measurement, loop
    _assert_clean(page, 6)
    text = page["text"]
    for words in ("Sequence", "Safety", "Measurement", "Hardware in the loop", "Error per iteration per axis",
                  "mT/m", "T/m/s", "uT", "% of limit", "NRMSE"):
        assert words in text, words


def test_check_measure_and_hil_reports_in_the_browser(browser: Chromium, demo_dir: Path, tmp_path: Path) -> None:
    # a file name that is HTML: it must be shown as text, not parsed
    seq = tmp_path / 'x<img src=x onerror="console.error(1)">.seq'
    shutil.copy(demo_dir / "demo.seq", seq)
    for cmd, extra, n_fig in (("check", [], 4), ("measure", [], 3), ("hil", ["--iterations", "2"], 3)):
        out = tmp_path / f"{cmd}.html"
        code = main(["--no-progress", cmd, str(seq), "--html", str(out), *extra])
        assert code in (0, 5), (cmd, code)  # hil: 5 when the target is missed in 2 iterations
        page = browser.load(out)
        _assert_clean(page, n_fig)
        assert 'x<img src=x onerror="console.error(1)">.seq' in page["text"]
        raw = out.read_text(encoding="utf-8")
        assert "<img src=x" not in raw and "&lt;img src=x" in raw
