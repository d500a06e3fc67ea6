"""make bench's last step, the pytest fixture's cost per test against a
JSON create (bench/fixture_cost.py), measures what it says: a few rounds
through the plugin's own server, and the report's rows."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "bench"))

import fixture_cost  # noqa: E402


def test_a_few_rounds_measure_both_and_report_the_target():
    per_test_ms, create_ms = fixture_cost.measure(3)
    assert per_test_ms > 0 and create_ms > 0
    lines = fixture_cost.report(3, 5.0, 2.0)
    assert "| per test: a new client, the reset before the test, its session closed | 5.00 |" in lines
    assert "| a JSON create through the fixture's session | 2.00 |" in lines
    assert lines[-1] == "| fixture per test ≤ 2 JSON creates | 2.50 creates | **no** |"
    assert fixture_cost.report(3, 3.0, 2.0)[-1] == "| fixture per test ≤ 2 JSON creates | 1.50 creates | yes |"
