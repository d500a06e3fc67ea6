"""What a bearer token costs a JSON create against Basic, counted in
instructions: `.venv/bin/python bench/bearer_cost.py` (needs valgrind:
apt-get install valgrind).

make bench measures JSON create with a bearer token against Basic in
requests per second, which a busy machine blurs. Here the same creates run
in one process through Flask's test client, under callgrind, with Basic
credentials and with a bearer token; a run of one create gives what
starting, registering a client, getting the token and the first create
(its password check) cost. The difference per create is the bearer
token's, and it comes out the same whatever else runs on the machine.
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
BODY = b'{"channel": "28a59893873103002ae97e2526cb0b5d", "queue": "Default", "short_description": "bench"}'
SCHEMES = ("basic", "bearer")


def creates(scheme, count):
    """Runs `count` creates in this process (the child's side)."""
    sys.path.insert(0, ROOT)
    from app import create_app

    folder = tempfile.mkdtemp(prefix="bearer-cost-")
    try:
        client = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "ADMIN_PASSWORD": "bench"}).test_client()
        basic = {"Authorization": "Basic " + base64.b64encode(b"admin:bench").decode()}
        registered = client.post("/__stand_in/oauth/clients", json={"name": "bench"}, headers=basic).json["result"]
        form = {"grant_type": "password", "username": "admin", "password": "bench",
                "client_id": registered["client_id"], "client_secret": registered["client_secret"]}  # fmt: skip
        bearer = {"Authorization": "Bearer " + client.post("/oauth_token.do", data=form).json["access_token"]}
        headers = {**(basic if scheme == "basic" else bearer), "Content-Type": "application/json", "Accept": "application/json"}
        for _ in range(count):
            response = client.post("/api/now/interaction", data=BODY, headers=headers)
            if response.status_code != 201:
                raise SystemExit(f"create answered {response.status_code}: {response.data[:300]!r}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def instructions(valgrind, scheme, count):
    with tempfile.TemporaryDirectory() as folder:
        command = [
            valgrind, "--tool=callgrind", f"--callgrind-out-file={folder}/callgrind.out",
            sys.executable, os.path.abspath(__file__), "--child", scheme, str(count),
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    return int(re.search(r"Collected : (\d+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=400, help="creates per run (400)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        creates(args.child[0], int(args.child[1]))
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    basic, bearer = (
        (instructions(valgrind, scheme, args.creates + 1) - instructions(valgrind, scheme, 1)) / args.creates
        for scheme in SCHEMES
    )
    print(f"Instructions per JSON create, {args.creates} creates through Flask's test client (callgrind):")
    print(f"  Basic            {basic:12,.0f}")
    print(f"  bearer token     {bearer:12,.0f}")
    # Rates go as the inverse of the work: make bench's row, were the CPU all.
    print(f"Bearer ÷ Basic in creates per second, from these: {basic / bearer:.3f}")


if __name__ == "__main__":
    main()
