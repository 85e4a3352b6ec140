"""The embedded stack's process supervisor: supervisord, driven over its XML-RPC socket.

supervisord restarts crashed services, stops whole process groups (Airflow and Seldon fork
children that a plain SIGTERM to the parent leaves behind) and keeps one log per service.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport


@dataclass(frozen=True)
class Program:
    """One supervised service."""

    name: str
    command: list[str]
    user: str | None = None
    directory: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    startsecs: int = 3
    stopsignal: str = "TERM"
    stopwaitsecs: int = 20
    priority: int = 100  # lower starts first and stops last


class Supervisor:
    """A supervisord instance whose config, socket and logs live under ``home``."""

    def __init__(self, home: Path):
        self.home = home
        self.conf = home / "supervisord.conf"
        self.socket = home / "run" / "supervisor.sock"
        self.logs = home / "logs"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def write_config(self, programs: list[Program]) -> None:
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(mode=0o700, parents=True, exist_ok=True)  # the api-server's log names the admin password
        lines = [
            "[unix_http_server]",
            f"file={self.socket}",
            "chmod=0700",
            "",
            "[supervisord]",
            f"logfile={self.logs / 'supervisord.log'}",
            f"pidfile={self.home / 'run' / 'supervisord.pid'}",
            f"childlogdir={self.logs}",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{self.socket}",
        ]
        for program in programs:
            lines += [
                "",
                f"[program:{program.name}]",
                "command=" + " ".join(_quote(arg) for arg in program.command),
                "autostart=false",
                "autorestart=unexpected",
                f"startsecs={program.startsecs}",
                "startretries=3",
                f"stopsignal={program.stopsignal}",
                f"stopwaitsecs={program.stopwaitsecs}",
                f"priority={program.priority}",
                "stopasgroup=true",
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={self.log_file(program.name)}",
                "stdout_logfile_maxbytes=20MB",
                "stdout_logfile_backups=2",
            ]
            if program.user:
                lines.append(f"user={program.user}")
            if program.directory:
                lines.append(f"directory={program.directory}")
            if program.env:
                pairs = ",".join(f'{key}="{_escape(value)}"' for key, value in program.env.items())
                lines.append(f"environment={pairs}")
        self.conf.touch(mode=0o600, exist_ok=True)  # programs' environments carry their passwords
        self.conf.chmod(0o600)
        self.conf.write_text("\n".join(lines) + "\n")

    def is_running(self) -> bool:
        try:
            self._rpc().supervisor.getState()
            return True
        except (OSError, xmlrpc.client.Fault):
            return False

    def start_daemon(self, env: dict[str, str]) -> None:
        """Start supervisord (daemonised); its children inherit ``env``."""
        if self.is_running():
            return  # a running stack keeps its configuration until `kaizen down`
        supervisord = Path(sys.executable).with_name("supervisord")
        subprocess.run([str(supervisord), "-c", str(self.conf)], env=env, check=True)
        deadline = time.monotonic() + 15
        while not self.is_running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not start; see {self.logs / 'supervisord.log'}")
            time.sleep(0.2)

    def start(self, name: str, wait: bool = True) -> None:
        """Start a program unless it is already running; ``wait`` until it passed ``startsecs``."""
        if self.state(name) in ("RUNNING", "STARTING"):
            return
        try:
            self._rpc().supervisor.startProcess(name, wait)
        except xmlrpc.client.Fault as fault:
            tail = tail_lines(self.log_file(name), 20)
            raise RuntimeError(f"{name} failed to start ({fault.faultString}). Last log lines:\n{tail}") from fault

    def stop(self, name: str) -> None:
        if self.state(name) in ("RUNNING", "STARTING", "BACKOFF"):
            self._rpc().supervisor.stopProcess(name, True)

    def state(self, name: str) -> str:
        return self._rpc().supervisor.getProcessInfo(name)["statename"]

    def states(self) -> dict[str, str]:
        if not self.is_running():
            return {}
        return {info["name"]: info["statename"] for info in self._rpc().supervisor.getAllProcessInfo()}

    def pid(self) -> int:
        """supervisord's process id: every service of the stack descends from it."""
        return self._rpc().supervisor.getPID()

    def program_pid(self, name: str) -> int:
        """The process id of one program (0 when it is not running)."""
        return self._rpc().supervisor.getProcessInfo(name)["pid"]

    def shutdown(self) -> None:
        """Stop every program, in reverse start order, then supervisord itself."""
        if not self.is_running():
            return
        rpc = self._rpc()
        rpc.supervisor.stopAllProcesses(True)
        rpc.supervisor.shutdown()
        deadline = time.monotonic() + 30
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.2)

    def _rpc(self):
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def tail_lines(path: Path, count: int) -> str:
    if not path.exists():
        return f"(no log at {path})"
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 64 * 1024))
        return b"\n".join(f.read().splitlines()[-count:]).decode(errors="replace")


def _quote(arg: str) -> str:
    arg = arg.replace("%", "%%")
    return f'"{arg}"' if any(c in arg for c in " ;#\"'") else arg


def _escape(value: str) -> str:
    # supervisord's environment= values: double quotes escaped, % doubled (it interpolates %(...)s).
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
