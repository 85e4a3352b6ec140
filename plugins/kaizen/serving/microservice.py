"""``seldon-core-microservice``, listening on ``KAIZEN_HOST`` instead of every interface.

seldon-core 1.18 binds its REST, gRPC and metrics servers to 0.0.0.0 with no option to
change it, so a laptop running the embedded stack would expose the model server to its
whole network. This launcher sets the bind address of seldon-core's gunicorn applications
and gRPC workers, puts the REST predictions route's fast path in front of the Flask app (``rest_fast_path``),
then runs seldon-core's own entry point with the same arguments:

    python -m kaizen.serving.microservice kaizen.serving.seldon_model.SeldonRecommender --service-type MODEL

In a container ``KAIZEN_HOST`` is 0.0.0.0 (the image sets it): there the engine decides
what is published, and where.
"""

from __future__ import annotations

import os
import signal

from seldon_core import gunicorn_utils, microservice

from kaizen.config import Settings
from kaizen.serving import rest_fast_path


def _with_host(address: str, host: str) -> str:
    """``0.0.0.0:9000`` -> ``host:9000``."""
    return f"{host}:{address.rsplit(':', 1)[1]}"


def bind_to(host: str) -> None:
    """Make every server seldon-core starts listen on ``host`` (pinned seldon-core 1.18)."""
    load_config = gunicorn_utils.StandaloneApplication.load_config  # REST and metrics servers

    def load_config_on_host(app) -> None:
        load_config(app)
        app.cfg.set("bind", [_with_host(address, host) for address in app.cfg.bind])

    gunicorn_utils.StandaloneApplication.load_config = load_config_on_host

    run_grpc_server = microservice._run_grpc_server  # each gRPC worker, forked by name

    def run_grpc_server_on_host(*args) -> None:
        *rest, address = args
        run_grpc_server(*rest, _with_host(address, host))

    microservice._run_grpc_server = run_grpc_server_on_host


def main() -> None:
    bind_to(Settings.from_env().host)
    rest_fast_path.install()
    try:
        microservice.main()
    finally:
        # On SIGTERM gunicorn's arbiter (the REST server, in this process) stops its workers and
        # exits; seldon-core would then wait for its gRPC and metrics processes (and the gRPC
        # workers below them), which never got the signal. Pass it to the whole process group,
        # so that a stop takes seconds, not the engine's grace period and a SIGKILL.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(os.getpgrp(), signal.SIGTERM)


if __name__ == "__main__":
    main()
