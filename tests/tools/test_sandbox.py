from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tools.qc.sandbox import SandboxLimits, run_python

FAST = SandboxLimits(timeout_s=3, cpu_s=1, memory_mb=256)


async def test_a_solution_runs_and_its_output_comes_back() -> None:
    result = await run_python("print(sum(range(10)))", limits=FAST)
    assert result.ok and result.stdout == "45\n"


@pytest.mark.parametrize("code", [
    "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
    "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', {port}))",
    "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/')",
])
async def test_the_sandbox_refuses_network_access(code: str) -> None:
    with socket.socket() as listener:  # a real local server that the child must not reach
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = await run_python(code.format(port=port), limits=FAST)
    assert not result.ok and result.refused
    assert "refused" in result.summary()


async def test_an_infinite_loop_is_killed_when_its_cpu_time_runs_out() -> None:
    result = await run_python("while True:\n    pass", limits=FAST)
    assert not result.ok and result.killed == "cpu"


async def test_a_sleeping_program_is_killed_at_the_wall_clock_timeout() -> None:
    result = await run_python("import time\ntime.sleep(60)", limits=SandboxLimits(timeout_s=0.5, cpu_s=1))
    assert not result.ok and result.killed == "timeout"


@pytest.mark.parametrize("code", ["x = bytearray(10**10)", "a = []\nwhile True:\n    a.append(' ' * 10**7)"])
async def test_a_memory_bomb_is_stopped_by_the_address_space_limit(code: str) -> None:
    result = await run_python(code, limits=FAST)
    assert not result.ok and result.killed == "memory"


async def test_files_can_be_written_in_the_temp_dir_but_nowhere_else(tmp_path: Path) -> None:
    inside = await run_python("open('scratch.txt', 'w').write('ok')\nprint(open('scratch.txt').read())", limits=FAST)
    assert inside.ok and inside.stdout == "ok\n"
    target = tmp_path / "escaped.txt"
    outside = await run_python(f"open({str(target)!r}, 'w').write('x')", limits=FAST)
    assert not outside.ok and not target.exists()
    removal = await run_python(f"import os\nos.remove({str(tmp_path)!r})", limits=FAST)
    assert not removal.ok and any("os.remove" in r for r in removal.refused)


@pytest.mark.parametrize("code", ["import subprocess\nsubprocess.run(['true'])", "import os\nos.system('true')",
                                  "import os\nos.fork()", "import ctypes"])
async def test_subprocesses_and_native_calls_are_refused(code: str) -> None:
    result = await run_python(code, limits=FAST)
    assert not result.ok and result.refused


async def test_runaway_output_is_cut_off() -> None:
    result = await run_python("while True:\n    print('x' * 1000)", limits=SandboxLimits(timeout_s=3, output_kb=16))
    assert not result.ok and result.killed == "output" and len(result.stdout) <= 16 * 1024


async def test_the_environment_is_stripped() -> None:
    result = await run_python("import os, sys\nprint(sorted(os.environ))\nprint(sys.flags.isolated)", limits=FAST)
    assert result.stdout.splitlines() == ["['HOME', 'LANG', 'PATH', 'TMPDIR']", "1"]


async def test_temporary_files_go_to_the_sandbox_directory() -> None:
    result = await run_python("import tempfile\nwith tempfile.NamedTemporaryFile('w') as f:\n    f.write('x')\nprint('ok')",
                              limits=FAST)
    assert result.ok and result.stdout == "ok\n"
