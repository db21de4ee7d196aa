"""Run untrusted Python (a generated solution, a reference implementation and its tests) in a subprocess.

Layers, each enough for the common mistakes and together a fair guard against a careless model
(not a hostile one; audit hooks are not a security boundary):

- a fresh temporary directory as the working directory (and HOME and TMPDIR), removed afterwards;
  no other environment variables but PATH and LANG; `python -I -S -B` (no user site, no
  site-packages, no .pyc);
- `resource` limits set before the code runs: CPU seconds, address space, file size (stdout and
  stderr are files in the temp dir, so the output is bounded too), open files, no core dumps;
- a wall-clock timeout that kills the whole process group;
- an audit hook (PEP 578) that refuses sockets, subprocesses, fork/exec, ctypes, and any write,
  rename or delete outside the temp dir;
- a fresh network namespace (`unshare -rn`) where the OS allows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Killed = Literal["timeout", "cpu", "memory", "output"]
REFUSED_MARK = "[sandbox] refused: "

# The guard runs first in the child (`python -c GUARD main.py cpu mem fsize`), then executes main.py.
_GUARD = r'''
import os, resource, sys
_TMP = os.path.realpath(os.getcwd())
_cpu, _mem, _fsize = (int(v) for v in sys.argv[2:5])
for _limit, _value in ((resource.RLIMIT_CPU, (_cpu, _cpu + 1)), (resource.RLIMIT_AS, (_mem, _mem)),
                       (resource.RLIMIT_FSIZE, (_fsize, _fsize)), (resource.RLIMIT_CORE, (0, 0)),
                       (resource.RLIMIT_NOFILE, (64, 64))):
    resource.setrlimit(_limit, _value)
_DENY = frozenset({
    "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
    "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg", "subprocess.Popen", "os.system", "os.exec",
    "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "urllib.Request", "webbrowser.open",
})
_DENY_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "multiprocessing"})
_PATH_EVENTS = frozenset({"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink", "os.link", "os.chmod",
                          "os.chown", "os.truncate", "os.utime", "os.chflags", "os.lchflags", "os.setxattr",
                          "os.removexattr", "shutil.rmtree", "shutil.move", "shutil.copyfile"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_write = sys.stderr.write


def _inside(path):
    if isinstance(path, int) or path is None:
        return True
    real = os.path.realpath(os.fsdecode(path))
    return real == _TMP or real.startswith(_TMP + os.sep)


def _refuse(what):
    _write("%s%s\n" % (''' + repr(REFUSED_MARK) + r''', what))
    raise PermissionError("sandbox: %s is not allowed" % what)


def _hook(event, args):
    if event in _DENY:
        _refuse(event)
    elif event == "import" and args[0].partition(".")[0] in _DENY_IMPORTS:
        _refuse("import " + args[0])
    elif event == "open":
        path, mode, flags = args
        writing = bool(flags & _WRITE_FLAGS) if mode is None else any(c in mode for c in "wax+")
        if writing and not _inside(path):
            _refuse("writing %s" % path)
    elif event in _PATH_EVENTS:
        for arg in args[:2]:
            if isinstance(arg, (str, bytes, os.PathLike)) and not _inside(arg):
                _refuse("%s on %s" % (event, arg))


sys.addaudithook(_hook)
_path = sys.argv[1]
with open(_path, encoding="utf-8") as _handle:
    _code = compile(_handle.read(), _path, "exec")
sys.argv = [_path]
del _handle, _limit, _value
exec(_code, {"__name__": "__main__", "__file__": _path, "__builtins__": __builtins__})
'''


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0
    cpu_s: int = 5
    memory_mb: int = 512
    output_kb: int = 256


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    killed: Killed | None = None
    refused: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.killed is None and not self.refused

    def summary(self) -> str:
        """One line saying why the run failed (or that it did not)."""
        if self.killed:
            return {"timeout": "timed out", "cpu": "used up its CPU time", "memory": "ran out of memory",
                    "output": "wrote too much output"}[self.killed]
        if self.refused:
            return "was refused: " + ", ".join(self.refused)
        if self.returncode != 0:
            lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
            return f"failed ({lines[-1][:200] if lines else f'exit code {self.returncode}'})"
        return "ran"


@functools.cache
def _network_namespace_prefix() -> tuple[str, ...]:
    """`unshare -rn` where a fresh network namespace can be made here; nothing otherwise (the audit hook remains)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    return (unshare, "-rn") if probe.returncode == 0 else ()


async def run_python(code: str, *, limits: SandboxLimits = SandboxLimits()) -> SandboxResult:
    """Run `code` as a script under `limits`; stdout and stderr come back as text."""
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        workdir = Path(tmp)
        (workdir / "main.py").write_text(code, encoding="utf-8")
        out_path, err_path = workdir / ".stdout", workdir / ".stderr"
        argv = [*_network_namespace_prefix(), sys.executable, "-I", "-S", "-B", "-X", "utf8", "-c", _GUARD, "main.py",
                str(limits.cpu_s), str(limits.memory_mb * 2**20), str(limits.output_kb * 1024)]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": tmp, "TMPDIR": tmp}
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                *argv, cwd=tmp, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True)
            timed_out = False
            try:
                await asyncio.wait_for(process.wait(), timeout=limits.timeout_s)
            except TimeoutError:
                timed_out = True
                _kill_group(process.pid)
                await process.wait()
            except BaseException:  # a cancelled caller never leaves a runaway child behind
                _kill_group(process.pid)
                raise
        stdout = out_path.read_bytes().decode("utf-8", "replace")
        stderr = err_path.read_bytes().decode("utf-8", "replace")
    return SandboxResult(returncode=process.returncode, stdout=stdout, stderr=stderr,
                         killed="timeout" if timed_out else _killed_by(process.returncode, stderr),
                         refused=tuple(dict.fromkeys(line.removeprefix(REFUSED_MARK) for line in stderr.splitlines()
                                                     if line.startswith(REFUSED_MARK))))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _killed_by(returncode: int | None, stderr: str) -> Killed | None:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return "cpu"
    if returncode == -signal.SIGXFSZ or "File too large" in stderr:
        return "output"
    if returncode != 0 and "MemoryError" in stderr:
        return "memory"
    return None
