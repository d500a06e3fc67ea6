"""The benchmark's own load generator, against the ceiling app: it must
count every answer and reconnect when the server closes, or a machine
without wrk would get wrong figures."""
import os
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "bench"))

import ceiling  # noqa: E402
import loadgen  # noqa: E402


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def ceiling_port():
    # wsgiref answers HTTP/1.0 and closes after each response, like
    # gunicorn's sync workers.
    server = make_server("127.0.0.1", 0, ceiling.app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def test_a_bounded_run_counts_every_answer(ceiling_port):
    request = loadgen.http_request("POST", "/", {"Content-Type": "application/json"}, b'{"channel":"x"}')
    result = loadgen.run("127.0.0.1", ceiling_port, [request], connections=4, duration=30, total=40, processes=2)
    assert result.requests == 40
    assert result.errors == 0
    assert result.statuses == {201: 40}
    assert len(result.latencies) == 40
    assert result.percentile(0.5) <= result.percentile(0.99)


def test_an_unexpected_status_is_an_error(ceiling_port):
    request = loadgen.http_request("POST", "/", {}, b"")
    result = loadgen.run(
        "127.0.0.1", ceiling_port, [request], connections=2, duration=30, total=10, processes=1, expected_statuses=(200,)
    )
    assert result.requests == 10
    assert result.errors == 10
