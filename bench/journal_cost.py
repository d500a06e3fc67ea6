"""What the request journal costs a JSON create, counted in instructions:
`.venv/bin/python bench/journal_cost.py` (needs valgrind: apt-get install valgrind).

make bench measures the journal in requests per second, which a busy or
noisy machine blurs by more than the journal costs. Here the same creates run
in one process through Flask's test client, under callgrind, with the journal
on and with JOURNAL_SIZE=0; a run of one create gives what starting and the
first create (its password check) cost. The difference, per create, is the journal's, and it comes out the
same on any x86-64 machine whatever else runs on it. The kernel's share (the
journal's SQLite write) is not counted: see make bench for that.
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


def creates(journal_size, count):
    """Runs `count` creates in this process (the child's side)."""
    sys.path.insert(0, ROOT)
    from app import create_app

    folder = tempfile.mkdtemp(prefix="journal-cost-")
    try:
        settings = {"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "ADMIN_PASSWORD": "bench", "JOURNAL_SIZE": journal_size}
        client = create_app(settings).test_client()
        token = base64.b64encode(b"admin:bench").decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json", "Accept": "application/json"}
        # The first create checks the password; the rest find it cached.
        for _ in range(count):
            response = client.post("/api/now/interaction", data=BODY, headers=headers)
            if response.status_code != 201:
                raise SystemExit(f"create answered {response.status_code}: {response.data[:300]!r}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def instructions(valgrind, journal_size, count):
    with tempfile.TemporaryDirectory() as folder:
        command = [
            valgrind, "--tool=callgrind", f"--callgrind-out-file={folder}/callgrind.out",
            sys.executable, os.path.abspath(__file__), "--child", str(journal_size), str(count),
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    return int(re.search(r"Collected : (\d+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=400, help="creates per run (400)")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        creates(*args.child)
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    off, on = (
        (instructions(valgrind, size, args.creates + 1) - instructions(valgrind, size, 1)) / args.creates
        for size in (0, 1000)
    )
    print(f"Instructions per JSON create, {args.creates} creates through Flask's test client (callgrind):")
    print(f"  JOURNAL_SIZE=0   {off:12,.0f}")
    print(f"  journal on       {on:12,.0f}")
    print(f"  the journal's    {on - off:12,.0f}  ({(on - off) / on:.1%} of a create)")
    # Rates go as the inverse of the work: make bench's row, were the CPU all.
    print(f"Journal on ÷ JOURNAL_SIZE=0 in creates per second, from these: {off / on:.3f}")


if __name__ == "__main__":
    main()
