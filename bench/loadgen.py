"""The project's own HTTP load generator, used where wrk is not installed.

One process per core, each driving its share of the connections from a
single epoll loop over raw non-blocking sockets: a request is bytes built
beforehand, a response is read only as far as its status line and length.
That keeps the client's own cost per request to a few tens of microseconds,
so it keeps up with anything two gunicorn workers can answer. It speaks
HTTP/1.1 keep-alive, and reconnects when the server closes (gunicorn's sync
workers close after every response).
"""
import errno
import multiprocessing
import os
import selectors
import socket
import time
from array import array
from dataclasses import dataclass, field

_CONNECT_PENDING = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK)


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    # Sorted, in seconds.
    latencies: array = field(repr=False)
    statuses: dict

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction):
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(fraction * len(self.latencies)))]


class _Connection:
    __slots__ = ("sock", "pending", "received", "started", "expected_length", "closes")

    def __init__(self, address, request):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = self.sock.connect_ex(address)
        if code and code not in _CONNECT_PENDING:
            self.sock.close()
            raise OSError(code, os.strerror(code))
        self.start(request)

    def start(self, request):
        self.pending = request
        self.received = bytearray()
        self.started = time.perf_counter()
        self.expected_length = None

    def response_complete(self):
        """Whether a whole response has arrived; parses its head once."""
        if self.expected_length is None:
            end = self.received.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = bytes(self.received[:end]).lower()
            # HTTP/1.0 closes unless it says otherwise; HTTP/1.1 the reverse.
            self.closes = head.startswith(b"http/1.0")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    self.closes = b"close" in value
            self.expected_length = end + 4 + length
        return len(self.received) >= self.expected_length

    def status(self):
        return int(self.received[9:12])


def _drive(address, requests, connections, deadline, quota, expected_statuses, results):
    """One process: keep `connections` requests in flight until the deadline
    passes or `quota` responses have arrived; send back what it measured."""
    selector = selectors.DefaultSelector()
    latencies = array("d")
    statuses = {}
    errors = 0
    issued = 0
    done = 0
    next_request = 0

    def take_request():
        nonlocal next_request
        request = requests[next_request]
        next_request = (next_request + 1) % len(requests)
        return request

    def open_connection():
        nonlocal errors, issued
        try:
            connection = _Connection(address, take_request())
        except OSError:
            errors += 1
            return
        issued += 1
        selector.register(connection.sock, selectors.EVENT_WRITE, connection)

    def may_issue():
        return time.perf_counter() < deadline and (quota is None or issued < quota)

    started = time.perf_counter()
    for _ in range(connections):
        open_connection()
    while selector.get_map():
        if time.perf_counter() >= deadline:
            break
        for key, events in selector.select(timeout=0.1):
            connection = key.data
            sock = connection.sock
            try:
                if events & selectors.EVENT_WRITE:
                    sent = sock.send(connection.pending)
                    connection.pending = connection.pending[sent:]
                    if not connection.pending:
                        selector.modify(sock, selectors.EVENT_READ, connection)
                    continue
                chunk = sock.recv(65536)
                if chunk:
                    connection.received += chunk
                    if not connection.response_complete():
                        continue
                elif not connection.received:
                    raise ConnectionResetError(errno.ECONNRESET, "closed before answering")
                elif not connection.response_complete():
                    raise ConnectionResetError(errno.ECONNRESET, "closed mid-response")
            except OSError:
                errors += 1
                selector.unregister(sock)
                sock.close()
                if may_issue():
                    open_connection()
                continue
            latencies.append(time.perf_counter() - connection.started)
            status = connection.status()
            statuses[status] = statuses.get(status, 0) + 1
            if status not in expected_statuses:
                errors += 1
            done += 1
            if not may_issue():
                selector.unregister(sock)
                sock.close()
            elif connection.closes or not chunk:
                selector.unregister(sock)
                sock.close()
                open_connection()
            else:
                issued += 1
                connection.start(take_request())
                selector.modify(sock, selectors.EVENT_WRITE, connection)
    elapsed = time.perf_counter() - started
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    results.send((done, errors, elapsed, latencies.tobytes(), statuses))
    results.close()


def run(
    host,
    port,
    requests,
    connections=16,
    duration=10.0,
    total=None,
    processes=None,
    expected_statuses=(200, 201),
):
    """Drive `requests` (raw HTTP request bytes, taken in turn) at host:port
    from `connections` concurrent connections for `duration` seconds, or
    until `total` responses have arrived if that comes first."""
    processes = max(1, min(processes or os.cpu_count() or 1, connections))
    deadline = time.perf_counter() + duration
    context = multiprocessing.get_context("fork")
    workers = []
    for index in range(processes):
        share = connections // processes + (index < connections % processes)
        quota = None if total is None else total // processes + (index < total % processes)
        mine = requests[index::processes] or requests
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_drive,
            args=((host, port), mine, share, deadline, quota, frozenset(expected_statuses), sender),
            daemon=True,
        )
        process.start()
        sender.close()
        workers.append((process, receiver))
    done = errors = 0
    seconds = 0.0
    latencies = array("d")
    statuses = {}
    for process, receiver in workers:
        count, failed, elapsed, raw, seen = receiver.recv()
        process.join()
        done += count
        errors += failed
        seconds = max(seconds, elapsed)
        latencies.frombytes(raw)
        for status, n in seen.items():
            statuses[status] = statuses.get(status, 0) + n
    return Result(done, errors, seconds, array("d", sorted(latencies)), statuses)


def http_request(method, path, headers, body=b"", host="127.0.0.1"):
    """Raw HTTP/1.1 request bytes."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
