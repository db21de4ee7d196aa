"""The memory on a real `chroma run` server on 127.0.0.1 (what CHROMA_HOST / CHROMA_PORT select)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.deps import open_catalog, open_store
from assistant.settings import Settings
from memory.catalog import shipped_benchmarks
from memory.dedup import DedupItem, Deduplicator
from memory.minilm_onnx import OnnxMiniLMEmbedder

pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(path: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {process.returncode}") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("chroma run did not answer within 30 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def chroma_run() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Servers started by a test, stopped at its end whatever happens."""
    if not CHROMA.exists():
        pytest.skip("the chromadb package's `chroma` command is not installed in this environment")
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        _stop(process)


def _serve(started: list[subprocess.Popen[bytes]], path: Path, monkeypatch: pytest.MonkeyPatch) -> subprocess.Popen[bytes]:
    port = _free_port()
    started.append(_start(path, port))
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    return started[-1]


async def test_samples_and_catalog_live_on_the_server_and_survive_its_restart(
    tmp_path: Path, chroma_run: list[subprocess.Popen[bytes]], int8: OnnxMiniLMEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server_data = tmp_path / "server-data"
    first = _serve(chroma_run, server_data, monkeypatch)
    settings = Settings(data_dir=tmp_path / "local")
    assert settings.chroma_host == "127.0.0.1" and settings.chroma_port
    dedup = Deduplicator(int8)
    with open_store(settings, int8) as store, open_catalog(settings, int8) as catalog:
        dedup.remember(DedupItem("s1", "Who painted the Mona Lisa?", "Leonardo da Vinci"), store,
                       build_id="b1", subtask_id="art")
        catalog.add_built(build_id="b1", name="Art history", measures="Who painted famous paintings",
                          format="short answer", size="1 sample")
        assert store.count() == 1 and catalog.count() == len(shipped_benchmarks()) + 1
    assert not (tmp_path / "local" / "chroma").exists()  # nothing was kept locally
    _stop(first)

    _serve(chroma_run, server_data, monkeypatch)  # a new server process on the same data
    settings = Settings(data_dir=tmp_path / "local")
    with open_store(settings, int8) as store, open_catalog(settings, int8) as catalog:
        match = await dedup.check(DedupItem("n1", "The Mona Lisa was painted by whom?", "da Vinci"), store)
        assert match is not None and (match.a, match.b, match.build_id) == ("s1", "n1", "b1")
        [built] = catalog.search("who painted famous paintings", k=1, source="built")
        assert built.benchmark.build_id == "b1"


async def test_on_the_server_each_user_sees_their_own_memory_and_what_is_published(
    tmp_path: Path, chroma_run: list[subprocess.Popen[bytes]], int8: OnnxMiniLMEmbedder, shipped_cache: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from assistant.cli import main as cli
    from memory.owners import LOCAL_USER

    async def main(argv: list[str]) -> int:  # the CLI runs its own event loop: in a thread, beside this test's
        return await asyncio.to_thread(cli, argv)

    _serve(chroma_run, tmp_path / "server-data", monkeypatch)
    settings = Settings(data_dir=tmp_path / "local", local_user="alice")
    dedup, later = Deduplicator(int8), DedupItem("n1", "The Mona Lisa was painted by whom?", "da Vinci")
    with open_store(settings, int8) as store, open_catalog(settings, int8) as catalog:
        dedup.remember(DedupItem("s1", "Who painted the Mona Lisa?", "Leonardo da Vinci"), store,
                       build_id="b1", subtask_id="art")
        catalog.add_built(build_id="b1", name="Art history", measures="Who painted famous paintings",
                          format="short answer", size="1 sample")
        bob, bobs_catalog = store.scoped("bob"), catalog.scoped("bob")
        assert await dedup.check(later, bob) is None and bobs_catalog.built() == [] and bob.count() == 0
        assert await dedup.check(later, store.scoped(LOCAL_USER)) is None, "the local identity is a user like any other"

    out = tmp_path / "b1"
    out.mkdir()
    (out / "report.json").write_text('{"build_id": "b1", "status": "complete"}', encoding="utf-8")
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "local"))
    monkeypatch.setenv("BENCHMARK_AGENT_LOCAL_USER", "bob")
    assert await main(["publish", str(out)]) == 2 and "belongs to another user" in capsys.readouterr().err
    monkeypatch.setenv("BENCHMARK_AGENT_LOCAL_USER", "alice")
    assert await main(["publish", str(out)]) == 0 and "Published Art history (b1)" in capsys.readouterr().out

    with open_store(settings, int8) as store, open_catalog(settings, int8) as catalog:
        match = await dedup.check(later, store.scoped("bob"))
        assert match is not None and (match.a, match.build_id) == ("s1", "b1")
        assert [b.build_id for b in catalog.scoped("bob").built()] == ["b1"]
    assert await main(["unpublish", str(out)]) == 0
    with open_store(settings, int8) as store:
        assert await dedup.check(later, store.scoped("bob")) is None
        assert await dedup.check(later, store) is not None, "the owner still sees it"
