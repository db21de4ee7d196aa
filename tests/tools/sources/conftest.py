from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """Where a test writes the user's files (the material folder is tmp_path / 'material')."""
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


@pytest.fixture
def material_dir(tmp_path: Path) -> Path:
    return tmp_path / "material"
