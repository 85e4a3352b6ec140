"""seldon-core's REST predictions route without Flask's per-request machinery.

seldon-core serves REST through Flask; for a recommendation, Flask's routing, request and
response objects, CORS hook and JSON provider cost about as much CPU as the model (py-spy,
bench/serving.py), and on two cores that CPU is the latency tail. For the one hot request,
``POST /api/v1.0/predictions`` with a JSON body of known length, this WSGI layer in front
of seldon-core's Flask app calls the same ``seldon_methods.predict`` and answers as
seldon-core's route and error handlers do (status, body, ``application/json``). Every other
request goes to Flask unchanged: other routes, a browser's (CORS headers), a chunked body, a
``?json=`` query, a body it cannot parse (put back for Flask to answer). Not installed with
``PAYLOAD_PASSTHROUGH`` (raw bytes to the model), which Kaizen does not use.
"""

from __future__ import annotations

import io
import json
import logging
from http import HTTPStatus

from seldon_core import seldon_methods
from seldon_core.flask_utils import SeldonMicroserviceException

log = logging.getLogger(__name__)

ROUTE = "/api/v1.0/predictions"
REASONS = {status.value: status.phrase for status in HTTPStatus}


class FastPredictions:
    def __init__(self, app, user_model, seldon_metrics):
        self.app, self.user_model, self.seldon_metrics = app, user_model, seldon_metrics

    def __getattr__(self, name):  # anything else seldon-core asks of its Flask app
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        if (
            environ.get("PATH_INFO") != ROUTE
            or environ.get("REQUEST_METHOD") != "POST"
            or "HTTP_ORIGIN" in environ  # a browser's: Flask adds the CORS headers
            or not environ.get("CONTENT_TYPE", "").startswith("application/json")
            or not environ.get("CONTENT_LENGTH")  # chunked: Flask reads it
            or "json=" in environ.get("QUERY_STRING", "")  # seldon-core's form of a request
        ):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        try:
            request = json.loads(body)
        except ValueError:
            environ["wsgi.input"] = io.BytesIO(body)  # Flask answers it as seldon-core always has
            return self.app(environ, start_response)
        status = 200
        try:
            response = seldon_methods.predict(self.user_model, request, self.seldon_metrics)
            if isinstance(response, dict) and "status" in response and "code" in response["status"]:
                status = response["status"]["code"]  # seldon-core's route's rule
            data = json.dumps(response).encode()
        except SeldonMicroserviceException as exc:
            status, data = exc.status_code, json.dumps(exc.to_dict()).encode()
            log.log(logging.ERROR if status >= 500 else logging.WARNING, "%s", exc.to_dict())
        except Exception as exc:  # as seldon-core's generic handler: a 500 with the reason
            error = SeldonMicroserviceException(str(exc), 500, reason="MICROSERVICE_INTERNAL_ERROR")
            status, data = 500, json.dumps(error.to_dict()).encode()
            log.exception("prediction failed")
        start_response(
            f"{status} {REASONS.get(status, '')}".rstrip(),
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]


def install() -> None:
    """Put the fast path in front of every REST app seldon-core builds (pinned seldon-core 1.18)."""
    from seldon_core import wrapper

    if wrapper.PAYLOAD_PASSTHROUGH:
        return
    build = wrapper.get_rest_microservice

    def build_with_fast_path(user_model, seldon_metrics):
        return FastPredictions(build(user_model, seldon_metrics), user_model, seldon_metrics)

    wrapper.get_rest_microservice = build_with_fast_path
