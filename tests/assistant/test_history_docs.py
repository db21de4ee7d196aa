"""What the README and chainlit.md say about where the chat history lives is what the code does (each behaviour
named there is shown by the tests beside it: test_chat_history, test_isolation, test_leases,
test_postgres_history, tests/e2e/test_replicas.py and test_server_kill_resume.py)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

if "CHAINLIT_APP_ROOT" not in os.environ:  # importing chainlit writes .chainlit/ and .files/ under its app root
    os.environ["CHAINLIT_APP_ROOT"] = tempfile.mkdtemp(prefix="chainlit-app-root-")
    atexit.register(shutil.rmtree, os.environ["CHAINLIT_APP_ROOT"], ignore_errors=True)
os.environ.setdefault("CHAINLIT_AUTH_SECRET", "test-secret")

import pytest  # noqa: E402

from assistant.chat_history import LocalFiles  # noqa: E402
from assistant.database import database_url  # noqa: E402
from assistant.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_names_where_the_history_lives_as_the_code_puts_it(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    import assistant.app as app

    assert database_url(None, tmp_path) == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'history.sqlite3'}"
    assert "`DATA_DIR/history.sqlite3`" in README and "`DATA_DIR/history-files/`" in README
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path))
    layer = app.chat_history()
    assert isinstance(layer.storage_provider, LocalFiles) and layer.storage_provider.root == tmp_path / "history-files"
    assert "`DATA_DIR/chat/`, `DATA_DIR/threads/`" in README  # what history_import.read_legacy reads


def test_the_readme_settings_of_the_history_exist_with_the_defaults_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "| `BENCHMARK_AGENT_DATABASE_URL` | unset |" in README and Settings().database_url is None
    assert "| `BENCHMARK_AGENT_BUILD_LEASE_TIMEOUT_S` | 60 |" in README and Settings().build_lease_timeout_s == 60
    monkeypatch.setenv("BENCHMARK_AGENT_DATABASE_URL", "postgresql://lab:secret@db.lab:5432/benchmark_agent")
    monkeypatch.setenv("BENCHMARK_AGENT_BUILD_LEASE_TIMEOUT_S", "30")
    settings = Settings()
    assert database_url(settings.database_url, Path("data")) == \
        "postgresql+asyncpg://lab:secret@db.lab:5432/benchmark_agent"
    assert settings.build_lease_timeout_s == 30
    assert "PORT=8000 scripts/run &" in README and "PORT=8001 scripts/run &" in README  # scripts/run reads PORT
    assert 'PORT:-8000' in (ROOT / "scripts" / "run").read_text()
