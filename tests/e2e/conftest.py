"""A real Chainlit server (a subprocess on 127.0.0.1) backed by the fake LLM server, and Debian's chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.fake_llm import FakeLLMServer

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class AppServer:
    url: str
    data_dir: Path
    log: Path
    restart: Callable[[], None] = lambda: None  # stop the chainlit process and start a new one on the same data dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chainlit exited with {process.returncode} before serving:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"chainlit did not serve {url} within {timeout_s:.0f} s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly on SIGINT
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed (the browser tests need Debian's chromium): run scripts/ensure-chromium")
    return path


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, seed=3) as server:
        yield server


def chainlit_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHMARK_AGENT_", "OPENAI_", "CHAINLIT_"))}
    env.update(
        CHAINLIT_APP_ROOT=str(REPO),  # the repository's .chainlit/, public/theme.json and chainlit.md
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        BENCHMARK_AGENT_DATA_DIR=str(data_dir),
        **extra,
    )
    return env


@contextmanager
def chainlit_server(workdir: Path, env: dict[str, str]) -> Iterator[AppServer]:
    """`chainlit run` on 127.0.0.1; `restart()` stops it and starts it again on the same port and data."""
    port = _free_port()
    log = workdir / "chainlit.log"
    url = f"http://127.0.0.1:{port}"
    chainlit = Path(sys.executable).with_name("chainlit")
    running: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        with log.open("ab") as out:
            running.append(subprocess.Popen(
                [str(chainlit), "run", "assistant/app.py", "--host", "127.0.0.1", "--port", str(port), "--headless"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            ))
        _wait_until_serving(url + "/", running[-1], log)

    def restart() -> None:
        _stop(running[-1])
        start()

    try:
        start()
        yield AppServer(url=url, data_dir=Path(env["BENCHMARK_AGENT_DATA_DIR"]), log=log, restart=restart)
    finally:
        if running:
            _stop(running[-1])


@pytest.fixture(scope="module")
def app_server(llm: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    workdir = tmp_path_factory.mktemp("chainlit")
    env = chainlit_env(workdir / "data", BENCHMARK_AGENT_MODEL="openai:fake-model", OPENAI_BASE_URL=llm.base_url,
                       OPENAI_API_KEY="test", BENCHMARK_AGENT_BATCH_SIZE="4")
    with chainlit_server(workdir, env) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, app_server: AppServer, tmp_path: Path) -> Iterator[Page]:
    """A tall page that accepts downloads; on the way out the server log is printed (shown on failure) and a
    screenshot is kept, also at the test module's SCREENSHOT_COPY if it names one."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 2400})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    # Assertions wait as long as actions: on a loaded 2-core machine the socket can take seconds to open.
    expect.set_options(timeout=30_000)
    try:
        yield opened
    finally:
        print(f"--- chainlit log (tail) ---\n{app_server.log.read_text(errors='replace')[-6000:]}")
        opened.screenshot(path=str(tmp_path / "final.png"))
        copy = getattr(request.module, "SCREENSHOT_COPY", None)
        if copy is not None:
            shutil.copyfile(tmp_path / "final.png", copy)
        context.close()
