"""The throwaway PostgreSQL cluster the database tests run on: it starts, keeps what is written, and is gone after."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.postgres import throwaway_postgres


def _psql(url: str, sql: str) -> subprocess.CompletedProcess[str]:
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is missing although the PostgreSQL server is installed (Debian's postgresql-client)")
    return subprocess.run([psql, url, "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True, timeout=60)


def test_a_throwaway_cluster_serves_on_loopback_and_is_removed_afterwards() -> None:
    with throwaway_postgres() as url:
        assert url.startswith("postgresql://postgres@127.0.0.1:")
        created = _psql(url, "create table threads (id text primary key, state jsonb not null); "
                             "insert into threads values ('t1', '{\"phase\": \"planned\"}'); "
                             "select state->>'phase' from threads")
        assert created.returncode == 0, created.stderr
        assert created.stdout.strip().splitlines()[-1] == "planned"
        folder = Path(_psql(url, "show data_directory").stdout.strip()).parent
        assert folder.name.startswith("pg-") and folder.is_dir()
        assert _psql(url, "show listen_addresses").stdout.strip() == "127.0.0.1"
    assert not folder.exists(), "the cluster's folder is removed"
    assert _psql(url, "select 1").returncode != 0, "the cluster is stopped"
