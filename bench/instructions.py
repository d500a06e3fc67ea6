"""Instructions per request on the benchmark's paths, counted by callgrind:
`.venv/bin/python bench/instructions.py` (needs valgrind: apt-get install
valgrind); `make bench` prints the same counts beside its ratios.

Throughput on a shared machine moves with everything else that runs on it;
instruction counts do not. Each path runs in a process of its own through
Flask's test client on a temporary SQLite file, under callgrind with
PYTHONHASHSEED=0: FEW requests, then MANY - FEW more, counted apart (the
child calls os.getppid() between them, and callgrind dumps its counts before
each such call); per request = the count of the MANY - FEW / (MANY - FEW).
That is the difference of a run of MANY and a run of FEW requests, taken
in one process instead of two: starting, the setup, the first request's
password check and the warm-up drop out alike. The kernel's share (SQLite's
writes and locks) is not counted.

What a feature costs is the difference of two counts: `--journal-size 0`
(the request journal off), `--auth bearer` (an OAuth token instead of Basic
credentials), `--root DIR` (the app of another checkout, e.g. the commit
before a change, with this script).
"""
import argparse
import base64
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)

# The bars for the counts (journal on).
TARGETS = {"JSON create": 1_500_000, "Table GET by sys_id": 1_200_000, "Table list of 100 (PySNC page)": 7_000_000}


def _bearer(client, basic):
    """An Authorization header with a token of the password grant."""
    registered = client.post("/__stand_in/oauth/clients", json={"name": "bench"}, headers=basic).json["result"]
    form = {"grant_type": "password", "username": "admin", "password": "bench",
            "client_id": registered["client_id"], "client_secret": registered["client_secret"]}  # fmt: skip
    return {"Authorization": "Bearer " + client.post("/oauth_token.do", data=form).json["access_token"]}


def _requests(name, count, auth):
    """(method, path, headers, body) of `count` requests of one path, after
    storing what they read or close; runs in the child."""
    import prefill
    import run
    from app.models import ADMIN_SYS_ID

    json_headers = {**auth, "Content-Type": "application/json", "Accept": "application/json"}
    read = {**auth, "Accept": "application/json"}
    url = os.environ["INSTRUCTIONS_DATABASE_URL"]
    # The same rows stored whatever `count` is, so that the setup cancels out.
    ids, _ = prefill.insert_interactions(url, 300, ADMIN_SYS_ID, open_ids=True)
    numbers = dict(prefill.sample(url, 300))
    ids = ids[: count + 1]
    if name == "JSON create":
        return [("POST", run.CREATE_PATH, json_headers, run.JSON_BODY)] * (count + 1)
    if name == "XML create":
        headers = {**auth, "Content-Type": "application/xml", "Accept": "application/xml"}
        return [("POST", run.CREATE_PATH, headers, run.XML_BODY)] * (count + 1)
    if name == "close":
        return [("POST", f"{run.CREATE_PATH}/{sys_id}/close", read, b"") for sys_id in ids]
    if name == "Table insert":
        return [("POST", run.TABLE_PATH, json_headers, b'{"short_description":"bench"}')] * (count + 1)
    if name == "SOAP get":
        headers = {**auth, "Content-Type": "text/xml"}
        return [("POST", "/interaction.do?SOAP", headers, run.soap_envelope("get", f"<sys_id>{sys_id}</sys_id>")) for sys_id in ids]
    if name == "Table GET by sys_id":
        return [("GET", f"{run.TABLE_PATH}/{sys_id}", read, b"") for sys_id in ids]
    if name == "Table list number=…":
        query = "?sysparm_query=number%3D{}%5EORDERBYsys_id&" + run.PYSNC_PARAMETERS
        return [("GET", run.TABLE_PATH + query.format(numbers[sys_id]), read, b"") for sys_id in ids]
    if name == "Table list of 100 (PySNC page)":
        path = f"{run.TABLE_PATH}?sysparm_query=ORDERBYsys_id&{run.PYSNC_PARAMETERS}"
        return [("GET", path, read, b"")] * (count + 1)
    raise SystemExit(f"unknown path {name!r}")


PATHS = (
    "JSON create",
    "XML create",
    "close",
    "Table GET by sys_id",
    "Table list number=…",
    "Table list of 100 (PySNC page)",
)
# Measured on demand, beside the benchmark's.
OTHER_PATHS = ("Table insert", "SOAP get")


def child(name, few, many, root, auth, journal_size, make_app=None):
    """Runs the requests of one path; `make_app(settings)` stands in for
    create_app (bench/components.py's wraps functions of the app first)."""
    sys.path[:0] = [root, BENCH]
    from app import create_app

    folder = tempfile.mkdtemp(prefix="instructions-")
    try:
        url = os.environ["INSTRUCTIONS_DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
        settings = {"DATABASE_URL": url, "ADMIN_PASSWORD": "bench"}
        if journal_size is not None:
            settings["JOURNAL_SIZE"] = journal_size
        client = (make_app or create_app)(settings).test_client()
        basic = {"Authorization": "Basic " + base64.b64encode(b"admin:bench").decode()}
        requests = _requests(name, many, _bearer(client, basic) if auth == "bearer" else basic)
        # The first request checks the password; the rest find it cached.
        for number, (method, path, headers, body) in enumerate(requests[:many]):
            if number == few:
                os.getppid()  # callgrind dumps what came before: the count starts here
            response = client.open(path, method=method, headers=headers, data=body)
            if response.status_code not in (200, 201):
                raise SystemExit(f"{method} {path} answered {response.status_code}: {response.data[:300]!r}")
        os.getppid()  # and ends here
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def instructions_in(text):
    """The instructions a callgrind file counts."""
    return int(re.search(r"^totals: (\d+)", text, re.M).group(1))


def collected(valgrind, name, few, many, root, auth, journal_size, script=__file__, options=(), read=instructions_in):
    """read(the callgrind file of the MANY - FEW requests after FEW of one
    path), run by `script` (this one: the instructions they took), with
    callgrind's `options` besides."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            valgrind, "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={folder}/callgrind.out", *options,
            sys.executable, os.path.abspath(script), "--child", name, str(few), str(many),
            "--root", root, "--auth", auth,
        ]  # fmt: skip
        if journal_size is not None:
            command += ["--journal-size", str(journal_size)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        out = subprocess.run(command, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError(f"{name}: {out.stderr.strip()[-500:]}")
        # Parts: before the first mark, between the marks, after the second.
        parts = {}
        for path in glob.glob(f"{folder}/callgrind.out.*"):
            with open(path) as f:
                text = f.read()
            parts[int(re.search(r"^part: (\d+)", text, re.M).group(1))] = text
    if sorted(parts) != [1, 2]:
        raise RuntimeError(f"{name}: expected two marks, callgrind dumped parts {sorted(parts)}")
    return read(parts[2])


def count(paths=PATHS, few=50, many=250, jobs=2, root=ROOT, auth="basic", journal_size=None):
    """{path: instructions per request}; None when valgrind is missing."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        totals = pool.map(lambda name: collected(valgrind, name, few, many, root, auth, journal_size), paths)
    return {name: total / (many - few) for name, total in zip(paths, totals)}


def arguments(description, few=50, many=250):
    """The command line of this script, and of bench/components.py."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--few", type=int, default=few, help=f"requests of the shorter run ({few})")
    parser.add_argument("--many", type=int, default=many, help=f"requests of the longer run ({many})")
    parser.add_argument("--jobs", type=int, default=2, help="callgrind runs at once (2)")
    parser.add_argument("--path", action="append", choices=PATHS + OTHER_PATHS, help="only this path (repeatable; the benchmark's six by default)")
    parser.add_argument("--root", default=ROOT, help="the checkout whose app is measured (this one)")
    parser.add_argument("--auth", choices=("basic", "bearer"), default="basic", help="Basic credentials or an OAuth bearer token (basic)")
    parser.add_argument("--journal-size", type=int, help="JOURNAL_SIZE (the service's default; 0: no journal)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    return parser


def main():
    args = arguments(__doc__).parse_args()
    root = os.path.abspath(args.root)
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]), root, args.auth, args.journal_size)
        return
    counts = count(tuple(args.path or PATHS), args.few, args.many, args.jobs, root, args.auth, args.journal_size)
    if counts is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    journal = "" if args.journal_size is None else f", JOURNAL_SIZE={args.journal_size}"
    print(f"Instructions per request (callgrind; requests {args.few + 1} to {args.many} of each path; {root}, {args.auth}{journal}):")
    for name, per_request in counts.items():
        target = TARGETS.get(name)
        bar = f"  (target ≤ {target / 1e6:g}M)" if target else ""
        print(f"  {name:<32} {per_request:12,.0f}{bar}")


if __name__ == "__main__":
    main()
