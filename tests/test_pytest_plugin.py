"""The pytest plugin as a user meets it: the package installed (here into
a folder of its own), and `python -m pytest` run from the root of a project
that has its own package named `app`.

The project's tests (tests/plugin_project) hold the README's example as
printed (the code under test is in it), and check the helpers, the reset
between tests, and that neither side imports the other's `app`.
"""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
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


def user_environment(installed, project, **environment):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTHON", "STAND_IN"))}
    # Relative, as a user may give it: the plugin's server runs in another folder.
    env.update(PYTHONPATH=os.path.relpath(installed, project), **environment)
    return env


def run_user_tests(installed, tmp_path, *options, **environment):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "tests" / "test_readme.py").write_text(readme_example())
    env = user_environment(installed, project, **environment)
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


# A user's test that says where the plugin's server is (its process, folder,
# URLs, password), then waits to be stopped, unless told to end; told to,
# it first forks a child (as multiprocessing's "fork" does) that outlives it.
WAITING_TEST = """
import json, os, time

def test_waits(stand_in_server):
    if os.environ["END"] == "fork" and os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    report = os.environ["REPORT"]
    with open(report + ".part", "w") as out:
        json.dump({"pid": stand_in_server.process.pid, "folder": stand_in_server.folder,
                   "urls": [stand_in_server.base_url, stand_in_server.https_url],
                   "password": stand_in_server.auth[1]}, out)
    os.rename(report + ".part", report)
    if os.environ["END"] != "end":
        time.sleep(120)
"""
# How the pytest process ends: by itself, Ctrl-C, a CI timeout or `docker
# stop` (SIGTERM), the OOM killer or a second timeout (SIGKILL), and a
# SIGTERM to its whole process group (`timeout`, a CI runner, systemd).
ENDINGS = {
    "by itself": None,
    "SIGINT": signal.SIGINT,
    "SIGTERM": signal.SIGTERM,
    "SIGKILL": signal.SIGKILL,
    "SIGTERM to its group": signal.SIGTERM,
    "SIGKILL with a forked child left": signal.SIGKILL,
}


def is_gone(pid):
    """Whether the process has ended (a zombie nobody reaped yet has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def is_listening(url):
    host, _, port = url.rpartition("/")[2].partition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_server_and_its_folder_go_with_the_pytest_process_however_it_ends(installed, tmp_path, ending):
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_waiting.py").write_text(WAITING_TEST)
    report = tmp_path / "report.json"
    end = "end" if ENDINGS[ending] is None else "fork" if "fork" in ending else "wait"
    env = user_environment(installed, project, REPORT=str(report), END=end)
    with open(tmp_path / "pytest.out", "wb") as out:
        pytest_process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # As in a terminal: Ctrl-C is KeyboardInterrupt (a shell's background job ignores it).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 60
        while not report.exists():
            assert pytest_process.poll() is None, (tmp_path / "pytest.out").read_text()
            assert time.monotonic() < deadline, "the test did not start"
            time.sleep(0.05)
        server = json.loads(report.read_text())
        secret = server["password"].encode()
        problems = [
            f"the password is in the server's /proc/{server['pid']}/{name}"
            for name in ("cmdline", "environ")
            if not is_gone(server["pid"]) and secret in Path(f"/proc/{server['pid']}/{name}").read_bytes()
        ]
        if ENDINGS[ending] is not None:
            assert all(is_listening(url) for url in server["urls"])
            if ending.endswith("group"):
                os.killpg(pytest_process.pid, ENDINGS[ending])
            else:
                pytest_process.send_signal(ENDINGS[ending])
        pytest_process.wait(60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
            is_gone(server["pid"]) and not os.path.exists(server["folder"]) and not any(map(is_listening, server["urls"]))
        ):
            time.sleep(0.05)
        problems += [f"{url} is listening" for url in server["urls"] if is_listening(url)]
        if not is_gone(server["pid"]):
            problems.append(f"the server (pid {server['pid']}) is running")
            os.kill(server["pid"], signal.SIGKILL)
        if os.path.exists(server["folder"]):
            problems.append(f"{server['folder']} is left")
            shutil.rmtree(server["folder"])
    finally:
        with contextlib.suppress(ProcessLookupError):  # its group: the forked child too
            os.killpg(pytest_process.pid, signal.SIGKILL)
        if pytest_process.poll() is None:
            pytest_process.wait()
    assert not problems, (tmp_path / "pytest.out").read_text()
