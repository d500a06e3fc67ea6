"""The pytest plugin as a user meets it: the package installed (here into
a folder of its own), and `python -m pytest` run from the root of a project
that has its own package named `app`.

The project's tests (tests/plugin_project) hold the README's example as
printed (the code under test is in it), and check the helpers, the reset
between tests, and that neither side imports the other's `app`.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gunicorn_server import Gunicorn

ROOT = Path(__file__).resolve().parent.parent
PROJECT = Path(__file__).resolve().parent / "plugin_project"
README_EXAMPLE = "def test_close_tries_again_after_a_503(stand_in):"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The distribution installed into a folder, as pip installs it for a
    user, from a copy of the sources (pip writes build files beside them)."""
    folder = tmp_path_factory.mktemp("install")
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "instance", "tests", "bench", "*.egg-info", "__pycache__", "build"))
    site = folder / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(source)],
        check=True,
        capture_output=True,
    )
    assert (site / "stand_in_pytest.py").is_file()
    return site


def readme_example():
    """The README's ```python block that holds the example test."""
    text = (ROOT / "README.md").read_text()
    test = text.index(README_EXAMPLE)
    start = text.rindex("```python\n", 0, test) + len("```python\n")
    return text[start : text.index("```", test)]


def run_user_tests(installed, tmp_path, *options, **environment):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "tests" / "test_readme.py").write_text(readme_example())
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTHON", "STAND_IN"))}
    # Relative, as a user may give it: the plugin's server runs in another folder.
    env.update(PYTHONPATH=os.path.relpath(installed, project), **environment)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", *options],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_plugin_in_a_project_with_its_own_app_package(installed, tmp_path):
    result = run_user_tests(installed, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 12 passed in " in result.stdout, result.stdout


def test_the_plugin_against_a_running_stand_in(installed, tmp_path):
    server = Gunicorn(tmp_path, f"sqlite:///{tmp_path / 'running.sqlite3'}", "running-secret", 2)
    try:
        server.wait_until_healthy()
        url = f"http://127.0.0.1:{server.port}"
        result = run_user_tests(installed, tmp_path, "--stand-in-url", url, STAND_IN_PASSWORD="running-secret")
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 11 passed, 1 skipped in " in result.stdout, result.stdout
    # The user's tests ran against that server: it has their requests.
    assert "POST /api/now/interaction/" in server.log()
