"""What the pytest plugin's `stand_in` fixture costs each test, against a
JSON create through the fixture's session, in the same run: `make bench`
reports it, or `.venv/bin/python bench/fixture_cost.py` alone.

The server is the plugin's own (stand_in_pytest.Server: werkzeug's threaded
server in a subprocess, as a user's session starts it). A test's cost is
what the fixture does around it: a new client and its session, the reset
before the test, the session closed after. The two are measured in turn,
a round each, so that the machine's load falls on both alike; the figures
are medians.
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import stand_in_pytest  # noqa: E402

TARGET_CREATES = 2.0
JSON_BODY = b'{"channel":"28a59893873103002ae97e2526cb0b5d","context":{"customer":"42","topic":"billing"}}'
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def measure(rounds):
    """(per test ms, JSON create ms): medians over `rounds` of each."""
    server = stand_in_pytest.Server.start()
    try:
        per_test, creates = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            # What the fixture does around a test.
            client = stand_in_pytest.StandIn(server)
            client.reset()
            per_test.append(time.perf_counter() - started)
            started = time.perf_counter()
            response = client.session.post(f"{server.base_url}/api/now/interaction", data=JSON_BODY, headers=JSON_HEADERS)
            creates.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise RuntimeError(f"create answered {response.status_code}: {response.text[:300]}")
            started = time.perf_counter()
            client.session.close()
            per_test[-1] += time.perf_counter() - started
    finally:
        server.stop()
    return statistics.median(per_test) * 1000, statistics.median(creates) * 1000


def report(rounds, per_test_ms, create_ms):
    creates = per_test_ms / create_ms
    return [
        f"The pytest plugin's `stand_in` fixture (bench/fixture_cost.py, {rounds} rounds, medians):",
        "",
        "| measurement | ms |",
        "|---|---:|",
        f"| per test: a new client, the reset before the test, its session closed | {per_test_ms:.2f} |",
        f"| a JSON create through the fixture's session | {create_ms:.2f} |",
        "",
        "| target | measured | holds |",
        "|---|---|---|",
        f"| fixture per test ≤ {TARGET_CREATES:g} JSON creates | {creates:.2f} creates | {'yes' if creates <= TARGET_CREATES else '**no**'} |",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=500, help="tests and creates measured, each (500)")
    args = parser.parse_args()
    print("\n".join(report(args.rounds, *measure(args.rounds))))


if __name__ == "__main__":
    main()
