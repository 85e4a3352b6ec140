"""kaizen.serving.microservice: seldon-core's servers on KAIZEN_HOST only, and gone on SIGTERM."""

import os
import signal
import subprocess
import time

import psutil

from kaizen.config import Settings
from kaizen.stack.postgres import free_port
from kaizen.stack.services import model_server_command


def test_listens_on_kaizen_host_and_stops_whole_on_sigterm(tmp_path):
    ports = [free_port() for _ in range(3)]
    env = {
        **os.environ,
        "KAIZEN_HOME": str(tmp_path),
        "KAIZEN_HOST": "127.0.0.1",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}",
        "KAIZEN_SERVING_PORT": str(ports[0]),
        "KAIZEN_SERVING_GRPC_PORT": str(ports[1]),
        "KAIZEN_SERVING_METRICS_PORT": str(ports[2]),
    }  # no registry: it serves nothing, still runs
    server = subprocess.Popen(
        model_server_command(Settings.from_env(env), log_level="WARNING"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        listening: dict[int, set[str]] = {}
        while set(listening) != set(ports):
            assert time.monotonic() < deadline, f"not all of {ports} listening: {listening}"
            time.sleep(0.5)
            listening = {}
            for process in [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]:
                for c in process.net_connections(kind="inet"):
                    if c.status == psutil.CONN_LISTEN and c.laddr.port in ports:
                        listening.setdefault(c.laddr.port, set()).add(c.laddr.ip.removeprefix("::ffff:"))
        assert all(ips == {"127.0.0.1"} for ips in listening.values()), listening

        group = os.getpgid(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        deadline = time.monotonic() + 10
        while [p for p in psutil.process_iter(["pid"]) if _in_group(p, group)]:
            assert time.monotonic() < deadline, "seldon-core's gRPC or metrics processes outlived SIGTERM"
            time.sleep(0.2)
    finally:
        if server.poll() is None:
            os.killpg(os.getpgid(server.pid), signal.SIGKILL)


def _in_group(process: psutil.Process, group: int) -> bool:
    try:
        return os.getpgid(process.pid) == group
    except (ProcessLookupError, psutil.NoSuchProcess):
        return False
