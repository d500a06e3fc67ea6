"""The Attachment and Batch APIs' rows of the benchmark (MORE_APIS.md §4),
run by bench/run.py, or alone: `.venv/bin/python bench/more_apis.py`.

- A 10 MiB attachment downloaded, against a bare WSGI app serving the same
  10 MiB from memory (`ceiling_file` below) behind the same gunicorn,
  measured before and after it.
- A batch of 100 GETs by sys_id, against the same 100 GETs sent one by one
  on one keep-alive connection: each measured in turn, several times, so
  that the machine's load drifting falls on both alike.
- A worker's peak RSS (VmHWM) while a 64 MiB file goes up and comes down,
  on a service of one worker of its own, beside the file's size.
"""
import http.client
import json
import os
import statistics
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
MiB = 1024 * 1024
DOWNLOAD_BYTES = 10 * MiB
BIG_BYTES = 64 * MiB
BATCH_SIZE = 100

TARGET_DOWNLOAD_OF_CEILING = 0.5
TARGET_BATCH_OF_SEPARATE = 0.8
TARGET_RSS_OF_FILE = 1.5

_FILE = os.urandom(DOWNLOAD_BYTES)
_FILE_HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(DOWNLOAD_BYTES))]


def ceiling_file(environ, start_response):
    """The ceiling of a download: 10 MiB from memory, nothing else."""
    start_response("200 OK", _FILE_HEADERS)
    return [_FILE]


def call(port, method, path, headers, body=None, connection=None):
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        if own:
            connection.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return data


def upload(port, auth, size, name="bench.bin"):
    record = json.loads(call(port, "POST", "/api/now/table/interaction", {**auth, "Content-Type": "application/json"}, b"{}"))["result"]["sys_id"]
    path = f"/api/now/attachment/file?table_name=interaction&table_sys_id={record}&file_name={name}"
    created = call(port, "POST", path, {**auth, "Content-Type": "application/octet-stream"}, os.urandom(size))
    return json.loads(created)["result"]["sys_id"]


def measure_download(bench, service, ceiling_port, load_class):
    """The ceiling, the service, the ceiling again: GETs of a 10 MiB file,
    the service compared with the mean of the two ceilings around it, so
    that the machine's load drifting does not favour either."""
    sys_id = upload(service.port, bench.auth, DOWNLOAD_BYTES)
    ceiling = load_class("GET", {}, b"", ["/"], 200)
    download = load_class("GET", bench.auth, b"", [f"/api/now/attachment/{sys_id}/file"], 200)
    return [
        bench.run_load(name, "empty", port, load, count=False, connections=4)
        for name, port, load in (
            ("ceiling: 10 MiB from memory, before", ceiling_port, ceiling),
            ("Attachment download, 10 MiB", service.port, download),
            ("ceiling: 10 MiB from memory, after", ceiling_port, ceiling),
        )
    ]


def measure_batch(bench, service, rounds=5, repeats=5):
    """(100 separate GETs per second, GETs per second inside batches of 100),
    each the median of `rounds` measurements taken in turn."""
    headers = {**bench.auth, "Accept": "application/json"}
    sys_ids = [
        json.loads(call(service.port, "POST", "/api/now/table/interaction", {**headers, "Content-Type": "application/json"}, b"{}"))["result"]["sys_id"]
        for _ in range(BATCH_SIZE)
    ]
    paths = [f"/api/now/table/interaction/{sys_id}" for sys_id in sys_ids]
    batch = json.dumps(
        {
            "batch_request_id": "bench",
            "rest_requests": [
                {"id": str(n), "method": "GET", "url": path, "headers": [{"name": "Accept", "value": "application/json"}]}
                for n, path in enumerate(paths)
            ],
        }
    ).encode()
    batch_headers = {**headers, "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=120)
    separate, batched = [], []
    try:
        call(service.port, "POST", "/api/now/v1/batch", batch_headers, batch, connection)  # warm-up
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(repeats):
                for path in paths:
                    call(service.port, "GET", path, headers, connection=connection)
            separate.append(repeats * BATCH_SIZE / (time.perf_counter() - started))
            started = time.perf_counter()
            for _ in range(repeats):
                answer = json.loads(call(service.port, "POST", "/api/now/v1/batch", batch_headers, batch, connection))
                if {item["status_code"] for item in answer["serviced_requests"]} != {200}:
                    raise RuntimeError(f"a batched GET failed: {answer['serviced_requests'][0]}")
            batched.append(repeats * BATCH_SIZE / (time.perf_counter() - started))
    finally:
        connection.close()
    return statistics.median(separate), statistics.median(batched)


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def measure_big_file(bench, gunicorn_class, root):
    """Peak RSS of the one worker of a service of its own: after warm-up,
    after a 64 MiB upload, after its download."""
    url = f"sqlite:///{os.path.join(bench.folder, 'big-file.sqlite3')}"
    service = gunicorn_class("wsgi:app", root, 1, {"DATABASE_URL": url, "ADMIN_PASSWORD": bench.password}, log_path=os.path.join(bench.folder, "big-file.log"))
    try:
        [worker] = service.worker_pids()
        small = upload(service.port, bench.auth, 1000)
        call(service.port, "GET", f"/api/now/attachment/{small}/file", bench.auth)
        before = peak_rss(worker)
        sys_id = upload(service.port, bench.auth, BIG_BYTES)
        after_upload = peak_rss(worker)
        data = call(service.port, "GET", f"/api/now/attachment/{sys_id}/file", bench.auth)
        if len(data) != BIG_BYTES:
            raise RuntimeError(f"downloaded {len(data)} bytes of {BIG_BYTES}")
        after_download = peak_rss(worker)
    finally:
        service.stop()
    return before, after_upload, after_download


class Rows:
    """The measurements above, run on bench/run.py's servers, and their
    lines of its report and targets."""

    def __init__(self):
        self.download = None
        self.batch = None
        self.big_file = None

    def measure(self, bench, service, gunicorn_class, root, load_class):
        ceiling = gunicorn_class("more_apis:ceiling_file", BENCH, bench.args.workers)
        try:
            self.download = measure_download(bench, service, ceiling.port, load_class)
        finally:
            ceiling.stop()
        self.batch = measure_batch(bench, service)
        print(f"  100 GETs one by one {self.batch[0]:8.0f} GET/s; in a batch of 100 {self.batch[1]:8.0f} GET/s", file=sys.stderr, flush=True)
        self.big_file = measure_big_file(bench, gunicorn_class, root)

    def report(self):
        lines = ["", "The Attachment and Batch APIs (bench/more_apis.py):", ""]
        lines += ["| measurement | req/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]
        for f in self.download:
            lines.append(f"| {f.name} | {f.rate:.1f} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | {f.errors} |")
        separate, batched = self.batch
        lines += ["", f"100 GETs by sys_id on one keep-alive connection: {separate:.0f} GET/s one by one, "
                  f"{batched:.0f} GET/s inside batches of 100 (medians of 5 rounds, taken in turn)."]
        before, up, down = self.big_file
        lines += ["", f"A {BIG_BYTES / MiB:.0f} MiB file through a service of one worker: its peak RSS {before / MiB:.1f} MiB "
                  f"after warm-up, {up / MiB:.1f} MiB after the upload, {down / MiB:.1f} MiB after the download "
                  f"(+{(down - before) / MiB:.1f} MiB, {(down - before) / BIG_BYTES:.2f} × the file)."]
        return lines

    def targets(self):
        before, download, after = (f.rate for f in self.download)
        share = download / ((before + after) / 2)
        yield f"10 MiB attachment download ≥ {TARGET_DOWNLOAD_OF_CEILING:.1f} × the ceiling serving 10 MiB from memory", f"{share:.2f}", share >= TARGET_DOWNLOAD_OF_CEILING
        separate, batched = self.batch
        share = batched / separate
        yield f"batch of 100 GETs ≥ {TARGET_BATCH_OF_SEPARATE:.1f} × 100 separate GETs on one connection", f"{share:.2f}", share >= TARGET_BATCH_OF_SEPARATE
        before, _, down = self.big_file
        share = (down - before) / BIG_BYTES
        yield f"peak worker RSS growth during a 64 MiB upload and download ≤ {TARGET_RSS_OF_FILE:.1f} × the file", f"{share:.2f} ×", share <= TARGET_RSS_OF_FILE


if __name__ == "__main__":
    import run

    bench = run.Bench(run.parse_args(sys.argv[1:]))
    bench.served = 0
    service = run.Gunicorn(
        "wsgi:app", run.ROOT, bench.args.workers, {"DATABASE_URL": bench.database_url, "ADMIN_PASSWORD": bench.password},
        log_path=os.path.join(bench.folder, "service.log"),
    )
    rows = Rows()
    try:
        rows.measure(bench, service, run.Gunicorn, run.ROOT, run.Load)
    finally:
        service.stop()
    print("\n".join(rows.report()))
    print("\n| target | measured | holds |\n|---|---|---|")
    for target, measured, holds in rows.targets():
        print(f"| {target} | {measured} | {'yes' if holds else '**no**'} |")
