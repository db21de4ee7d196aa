"""A throwaway PostgreSQL cluster for tests: Debian's server, started by scripts/throwaway-postgres in a temporary
folder of its own and stopped and removed afterwards. Skips, saying why, only where it cannot be installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """The URL of a new, empty cluster (user postgres, no password, 127.0.0.1 only)."""
    ensured = subprocess.run([str(SCRIPTS / "ensure-postgres")], capture_output=True, text=True, timeout=600)
    if ensured.returncode != 0:
        pytest.skip(f"PostgreSQL could not be installed here: {ensured.stderr.strip()[-500:]}")
    # Not under pytest's tmp_path: as root the cluster runs as the 'postgres' user, who cannot enter those folders.
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    try:
        started = subprocess.run([str(SCRIPTS / "throwaway-postgres"), "start", str(folder), str(_free_port())],
                                 capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SCRIPTS / "throwaway-postgres"), "stop", str(folder)], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
