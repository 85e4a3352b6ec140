"""The embedded stack is secure by default: loopback only, no secret in `ps` or a readable file.

The compose stack's counterparts are in test_compose_stack.py.
"""

import os
import stat
from pathlib import Path

import psutil
import pytest

from kaizen.config import read_env_file
from kaizen.stack.supervisor import Supervisor

pytestmark = pytest.mark.stack


def stack_processes(home: Path) -> list[psutil.Process]:
    """supervisord and every process below it: the whole embedded stack."""
    root = psutil.Process(Supervisor(home).pid())
    return [root, *root.children(recursive=True)]


def stack_secrets(home: Path) -> dict[str, str]:
    """The generated secrets, and the passwords inside the stack's database URLs."""
    secrets = dict(read_env_file(home / "secrets.env"))
    for name, url in read_env_file(home / "stack.env").items():
        if "://" in url and "@" in url:
            secrets[name] = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    return secrets


def test_every_service_listens_on_kaizen_host_only(stack, e2e_run):
    listening = set()
    for process in stack_processes(stack.home):
        try:
            connections = process.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        listening |= {(process.name(), c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN}
    assert listening, "no listening socket found"
    elsewhere = {entry for entry in listening if entry[1].removeprefix("::ffff:") != stack.host}
    assert not elsewhere, f"listening beyond KAIZEN_HOST={stack.host}: {sorted(elsewhere)}"


def test_no_secret_on_a_command_line(stack, e2e_run):
    secrets = stack_secrets(stack.home)
    leaks = []
    for process in stack_processes(stack.home):
        try:
            cmdline = " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        leaks += [(process.pid, name) for name, value in secrets.items() if value and value in cmdline]
    assert not leaks, leaks


def test_files_holding_secrets_are_private(stack, e2e_run):
    """A file under KAIZEN_HOME that holds a secret is readable by its owner only, or lies in a
    directory only its owner may enter."""
    secrets = [value for value in stack_secrets(stack.home).values() if value]
    exposed = []
    for directory, subdirectories, files in os.walk(stack.home):
        here = Path(directory)
        if here.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) == 0 or here.name == "postgres":
            subdirectories.clear()  # private to its owner (postgres: the server's own data)
            continue
        for name in files:
            path = here / name
            if path.is_symlink() or path.stat().st_size > 50_000_000:
                continue
            mode = path.stat().st_mode
            if mode & (stat.S_IRGRP | stat.S_IROTH) and any(s.encode() in path.read_bytes() for s in secrets):
                exposed.append(f"{oct(mode & 0o777)} {path}")
    assert not exposed, exposed
