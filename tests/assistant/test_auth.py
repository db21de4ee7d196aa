"""Sign-in for a shared server: hashed passwords, the explicit trusted header, the local user only on loopback."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import auth, cli, passwords
from assistant.settings import Settings
from tests.e2e.conftest import REPO, _free_port, chainlit_env
from tools.errors import ConfigurationError


def test_a_password_hash_is_salted_and_checks_only_its_own_password() -> None:
    first, second = passwords.hash_password("correct horse"), passwords.hash_password("correct horse")
    assert first != second and first.startswith("scrypt$") and "correct horse" not in first
    assert passwords.verify_password("correct horse", first) and passwords.verify_password("correct horse", second)
    assert not passwords.verify_password("correct hors", first) and not passwords.verify_password("x", "scrypt$bad")


def test_the_users_file_keeps_hashes_only_and_the_cli_writes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.txt"
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-password\n"))
    assert cli.main(["user", "add", "alice", "--users-file", str(path)]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("another-password\n"))
    assert cli.main(["user", "add", "bob", "--users-file", str(path)]) == 0
    text = path.read_text()
    assert "s3cret-password" not in text and "another-password" not in text
    assert path.stat().st_mode & 0o077 == 0, "the users file is readable by its owner only"
    users = passwords.load_users(None, path)
    assert users.check("alice", "s3cret-password") and users.check("bob", "another-password")
    assert not users.check("alice", "another-password") and not users.check("eve", "s3cret-password")
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(["user", "add", "carol", "--users-file", str(path)]) == cli.EXIT_ERROR
    assert cli.main(["user", "remove", "bob", "--users-file", str(path)]) == 0
    assert list(passwords.read_users_file(path)) == ["alice"]
    assert cli.main(["user", "remove", "bob", "--users-file", str(path)]) == cli.EXIT_ERROR


@pytest.mark.parametrize(("line", "says"), [
    ("alice:hunter2", "holds no password hash"),
    ("alice", "is not 'name:hash'"),
    ("al ice:scrypt$16384$8$1$c2FsdA==$" + "A" * 44, "is not 'name:hash'"),
])
def test_a_bad_users_file_line_stops_the_start_with_its_line_number(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "users.txt"
    path.write_text(f"# users\n{line}\n")
    with pytest.raises(ConfigurationError, match=says) as raised:
        passwords.read_users_file(path)
    assert "Line 2" in str(raised.value) and "hunter2" not in str(raised.value)


def test_the_old_environment_users_still_sign_in_and_are_hashed_as_read(tmp_path: Path) -> None:
    users = passwords.load_users("alice:s3cret, bob:pw", tmp_path / "none.txt")
    assert users.check("alice", "s3cret") and users.check("bob", "pw") and not users.check("alice", "pw")
    assert not any("s3cret" in stored for stored in users.hashes.values())
    with pytest.raises(ConfigurationError, match="BENCHMARK_AGENT_AUTH_USERS"):
        passwords.parse_env_users("alice")
    file = tmp_path / "users.txt"
    passwords.set_user(file, "alice", "from-the-file")
    with pytest.raises(ConfigurationError, match="both"):
        passwords.load_users("alice:s3cret", file)


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_with_no_users_the_local_user_is_signed_in_only_on_loopback(tmp_path: Path) -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.5"):
        signin = auth.sign_in(_settings(tmp_path), host)
        assert signin.mode == "local"
        assert auth.header_user(signin, {}).identifier == "researcher"  # type: ignore[union-attr]
    for host in ("0.0.0.0", "::", "192.168.1.20", "lab-server.example.org"):
        with pytest.raises(ConfigurationError) as raised:
            auth.sign_in(_settings(tmp_path), host)
        assert host in str(raised.value) and "BENCHMARK_AGENT_AUTH_USERS" in str(raised.value)
    with pytest.raises(ConfigurationError, match="0.0.0.0"):
        auth.sign_in(_settings(tmp_path, auth="local"), "0.0.0.0")


def test_configured_users_need_their_password_on_any_address(tmp_path: Path) -> None:
    signin = auth.sign_in(_settings(tmp_path, auth_users="alice:s3cret"), "0.0.0.0")
    assert signin.mode == "password"
    assert auth.password_user(signin, "alice", "s3cret").identifier == "alice"  # type: ignore[union-attr]
    assert auth.password_user(signin, "alice", "wrong") is None and auth.password_user(signin, "eve", "s3cret") is None
    assert auth.header_user(signin, {"X-Forwarded-User": "alice"}) is None, "no header is trusted in password mode"
    with pytest.raises(ConfigurationError, match="no user is configured"):
        auth.sign_in(_settings(tmp_path, auth="password"), "127.0.0.1")


def test_the_trusted_header_is_used_only_when_turned_on(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="BENCHMARK_AGENT_AUTH=header"):
        auth.sign_in(_settings(tmp_path, auth_header="X-Forwarded-User"), "127.0.0.1")
    with pytest.raises(ConfigurationError, match="BENCHMARK_AGENT_AUTH_HEADER"):
        auth.sign_in(_settings(tmp_path, auth="header"), "0.0.0.0")
    signin = auth.sign_in(_settings(tmp_path, auth="header", auth_header="X-Forwarded-User"), "0.0.0.0")
    assert auth.header_user(signin, {"X-Forwarded-User": "carol"}).identifier == "carol"  # type: ignore[union-attr]
    assert auth.header_user(signin, {}) is None and auth.header_user(signin, {"X-Forwarded-User": " "}) is None
    assert auth.password_user(signin, "carol", "anything") is None


def test_the_server_refuses_to_start_open_to_the_network_without_sign_in(tmp_path: Path) -> None:
    chainlit = Path(sys.executable).with_name("chainlit")
    env = chainlit_env(tmp_path / "data", CHAINLIT_AUTH_SECRET="test-secret")
    done = subprocess.run([str(chainlit), "run", "assistant/app.py", "--host", "0.0.0.0", "--port", str(_free_port()),
                           "--headless"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "did not start" in done.stderr and "0.0.0.0" in done.stderr and "BENCHMARK_AGENT_AUTH_USERS" in done.stderr


def test_a_user_added_or_removed_while_the_server_runs_counts_at_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "users.txt"
    passwords.set_user(path, "alice", "alice-password")
    signin = auth.sign_in(_settings(tmp_path, users_file=path), "0.0.0.0")
    passwords.set_user(path, "bob", "bob-password")  # `benchmark-agent user add bob` on the running server
    assert auth.password_user(signin, "bob", "bob-password") is not None
    passwords.remove_user(path, "alice")
    assert auth.password_user(signin, "alice", "alice-password") is None
    path.write_text(path.read_text() + "carol:plain-password\n")  # a bad edit keeps the users there were
    assert auth.password_user(signin, "bob", "bob-password") is not None
    assert "not read again" in caplog.text and "plain-password" not in caplog.text


def test_password_guessing_is_slowed_down_per_user_and_a_success_resets_it(tmp_path: Path) -> None:
    now = [1000.0]
    signin = auth.sign_in(_settings(tmp_path, auth_users="alice:s3cret,bob:pw-bob"), "0.0.0.0")
    signin = auth.SignIn("password", signin.users, throttle=auth.Throttle(free=3, base_s=10, clock=lambda: now[0]))
    for _ in range(3):
        assert auth.password_user(signin, "alice", "guess") is None
    assert auth.password_user(signin, "alice", "s3cret") is None, "refused unchecked while it must wait"
    assert auth.password_user(signin, "bob", "pw-bob") is not None, "other users are not slowed down"
    now[0] += 10.5
    assert auth.password_user(signin, "alice", "guess") is None  # the 4th wrong one: now 20 s to wait
    now[0] += 15
    assert auth.password_user(signin, "alice", "s3cret") is None
    now[0] += 6
    assert auth.password_user(signin, "alice", "s3cret") is not None
    assert signin.throttle.wait_s("alice") == 0 and auth.password_user(signin, "alice", "guess") is None
    for name in ("made-up-1", "made-up-2"):
        auth.password_user(signin, name, "x")
    assert set(signin.throttle._failures) == {"alice"}, "unknown names are not kept"
