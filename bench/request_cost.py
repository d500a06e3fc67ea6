"""What a request of each existing interaction path costs, in instructions:
`.venv/bin/python bench/request_cost.py` (needs valgrind), or with
`--root DIR` the checkout in DIR (another branch, to compare).

As bench/journal_cost.py counts, and profile-2026-12-04.md did: one process,
the app through Flask's test client on a temporary SQLite file, N and 5 N
requests of a kind under callgrind; per request = (count at 5 N - count at
N) / 4 N, so what starting costs falls out. The same on any x86-64 machine
whatever else runs on it.
"""
import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHANNEL = "28a59893873103002ae97e2526cb0b5d"
KINDS = ("JSON create", "Table insert", "GET by sys_id", "list of 100, display values", "SOAP get")


def requests(root, kind, count):
    """Runs `count` requests of `kind` in this process (the child's side)."""
    sys.path.insert(0, root)
    from app import create_app

    folder = tempfile.mkdtemp(prefix="request-cost-")
    try:
        settings = {"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "ADMIN_PASSWORD": "bench"}
        client = create_app(settings).test_client()
        token = base64.b64encode(b"admin:bench").decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json", "Accept": "application/json"}
        made = [client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=headers).json["result"] for _ in range(100)]
        sys_id = made[0]["sys_id"]
        soap = (
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            f"<get><sys_id>{sys_id}</sys_id></get></soapenv:Body></soapenv:Envelope>"
        )
        send = {
            "JSON create": lambda: client.post("/api/now/interaction", data=f'{{"channel":"{CHANNEL}"}}', headers=headers),
            "Table insert": lambda: client.post("/api/now/table/interaction", data='{"short_description":"bench"}', headers=headers),
            "GET by sys_id": lambda: client.get(f"/api/now/table/interaction/{sys_id}", headers=headers),
            "list of 100, display values": lambda: client.get(
                "/api/now/table/interaction?sysparm_limit=100&sysparm_display_value=all", headers=headers
            ),
            "SOAP get": lambda: client.post("/interaction.do?SOAP", data=soap, headers={**headers, "Content-Type": "text/xml"}),
        }[kind]
        for _ in range(count):
            response = send()
            if response.status_code not in (200, 201):
                raise SystemExit(f"{kind} answered {response.status_code}: {response.data[:300]!r}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def instructions(valgrind, root, kind, count):
    with tempfile.TemporaryDirectory() as folder:
        command = [
            valgrind, "--tool=callgrind", f"--callgrind-out-file={folder}/callgrind.out",
            sys.executable, os.path.abspath(__file__), "--child", root, kind, str(count),
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"}).stderr
    return int(re.search(r"Collected : (\d+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=ROOT, help="the checkout to measure (this one)")
    parser.add_argument("--requests", type=int, default=50, help="N: runs of N and 5 N requests (50)")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these requests (all)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, kind, count = args.child
        requests(root, kind, int(count))
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    n = args.requests
    print(f"| request ({os.path.abspath(args.root)}) | instructions per request |")
    print("|---|---:|")
    for kind in args.kind or KINDS:
        few, many = (instructions(valgrind, os.path.abspath(args.root), kind, count) for count in (n, 5 * n))
        print(f"| {kind} | {(many - few) / (4 * n):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
