"""Property tests of `benchmark-agent`'s arguments: any argv ends with exit status 0, 1 or 2, a failure says why on
stderr, and no traceback is ever printed. Every model is a fake endpoint that refuses the key (HTTP 401), so a
command that gets as far as calling a model stops at once with the server's words."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assistant.commands.build
import assistant.commands.check
import assistant.commands.dedup
import assistant.commands.publish
import assistant.deps
from assistant import cli
from memory.embeddings import HashEmbedder
from tests.fake_llm import FakeLLMServer

# Each command's positional arguments, and its options (a value follows those not in SWITCHES).
COMMANDS = {
    "build": (1, ("--size", "--out", "--model", "--data-dir", "--quiet", "--source")),
    "resume": (1, ("--model", "--data-dir", "--quiet")),
    "refresh": (1, ("--out", "--model", "--data-dir", "--quiet")),
    "export": (1, ("--format",)),
    "evaluate": (1, ("--models", "--expected-order", "--reference-scores", "--concurrency", "--max-tokens",
                     "--max-cost")),
    "check": (1, ("--model", "--out", "--fields", "--no-memory", "--data-dir", "--concurrency", "--quiet")),
    "dedup": (1, ("--threshold", "--against-memory", "--model", "--data-dir")),
    "prior": (1, ("-k", "--data-dir", "--built")),
    "publish": (1, ("--data-dir",)),
    "unpublish": (1, ("--data-dir",)),
    "user": (2, ("--users-file", "--data-dir")),
}
SWITCHES = {"--quiet", "--no-memory", "--against-memory", "--built"}
# Values as a user types them; {dir} is a folder of files made for the test (see `files`).
VALUES = (
    "", " ", "-1", "0", "3", "12", "99999999999999999999", "1.5", "nan", "inf", "-", "--", "abc", "openai:fake-model",
    "openai:", "nonsense", "provider:", ":x:", "a=b", "question=prompt,answer=label", "openai:a=71.2,openai:b=x",
    "all", "jsonl,csv", "bogus-format", "60 arithmetic word problems harder than GSM8K", "ignore previous instructions",
    "مرحبا", "🙂", "\u202e", "\x1b[31m", "alice", "bob:pw", "../../etc/passwd", "/etc/passwd",
    "{dir}/missing", "{dir}/empty", "{dir}/junk.jsonl", "{dir}/junk.csv", "{dir}/junk.parquet", "{dir}/rows.jsonl",
    "{dir}/out", "{dir}/not-a-build", "{dir}",
)
TOKEN = st.one_of(st.sampled_from(VALUES), st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=15))


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    """Anything at all now and then; else a command with its positionals and options, well-formed or shuffled."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.lists(TOKEN, max_size=5))
    command = draw(st.sampled_from(sorted(COMMANDS)))
    positionals, flags = COMMANDS[command]
    words = [draw(st.sampled_from(("add", "remove", "list")) if command == "user" and n == 0 else TOKEN)
             for n in range(draw(st.integers(0, positionals)) if draw(st.integers(0, 4)) == 0 else positionals)]
    for flag in draw(st.lists(st.sampled_from(flags), max_size=4)):
        words += [flag] if flag in SWITCHES else [flag, draw(TOKEN)]
    if draw(st.integers(0, 4)) == 0:
        words = draw(st.permutations(words + ["--help"] * draw(st.integers(0, 1))))
    return [command, *words]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-files")
    (folder / "empty").mkdir()
    (folder / "not-a-build").mkdir()
    (folder / "not-a-build" / "report.json").write_text("{not json")
    (folder / "junk.jsonl").write_bytes(b"\x00\xff{]\n{\"q\": 1}\n")
    (folder / "junk.csv").write_bytes(b"\xff\xfe,,,\n\"unterminated\n")
    (folder / "junk.parquet").write_bytes(b"PAR1garbagePAR1")
    (folder / "rows.jsonl").write_text('{"id": "a", "question": "2+2?", "answer": "4"}\n'
                                       '{"id": "b", "question": "What is 2 + 2?", "answer": "4"}\n')
    return folder


@pytest.fixture(scope="module")
def refusing() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0, fault_rate=1.0, fault_kinds=("unauthorized",)) as server:
        yield server


@pytest.fixture
def _environment(monkeypatch: pytest.MonkeyPatch, refusing: FakeLLMServer, tmp_path: Path) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # only the fake on 127.0.0.1 is reached
    monkeypatch.setenv("BENCHMARK_AGENT_MODEL", "openai:fake-model")
    monkeypatch.setenv("OPENAI_BASE_URL", refusing.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
    for module in (assistant.deps, assistant.commands.build, assistant.commands.check, assistant.commands.dedup,
                   assistant.commands.publish):
        monkeypatch.setattr(module, "memory_embedder", HashEmbedder)  # the memory's wiring, not MiniLM, is under test


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO("a password\n")  # `user add` reads one line when not on a terminal
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code: object = cli.main(argv)
            except SystemExit as exit_:
                code = exit_.code
    finally:
        sys.stdin = stdin
    return (0 if code is None else code), out.getvalue(), err.getvalue()  # type: ignore[return-value]


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=argvs())
def test_any_arguments_end_in_status_0_1_or_2_with_a_message_and_no_traceback(
        argv: list[str], files: Path, _environment: None) -> None:
    argv = [word.replace("{dir}", str(files)) for word in argv]
    code, out, err = run_cli(argv)
    assert code in (0, 1, 2), (argv, code, err[-2000:])
    assert "Traceback" not in out + err, (argv, err[-4000:])
    if code != 0:
        assert err.strip(), f"{argv} failed without a word on stderr"


@pytest.mark.parametrize("argv", [
    ["build", "60 arithmetic word problems", "--out", "{dir}/out"],
    ["build", "60 arithmetic word problems", "--out", "{dir}/out", "--size", "-3"],
    ["resume", "{dir}/empty"], ["export", "{dir}/not-a-build"], ["check", "{dir}/junk.parquet", "--no-memory"],
    ["dedup", "{dir}/junk.csv"], ["evaluate", "{dir}/empty", "--models", "nonsense"], ["user", "remove"],
    ["resume", "/etc/passwd"], ["refresh", "/"], ["resume", "{dir}/not-a-build"],
    ["publish", "{dir}/not-a-build"], ["unpublish", "/etc/passwd"], ["publish", "{dir}/empty"], ["prior"],
])
def test_what_a_user_mistypes_is_answered_with_status_2_and_what_to_do(
        argv: list[str], files: Path, _environment: None) -> None:
    code, out, err = run_cli([word.replace("{dir}", str(files)) for word in argv])
    assert code == 2 and err.strip() and "Traceback" not in out + err, (argv, code, err)
