"""The distribution as a user gets it: built from the checkout as
`python -m build` builds it (the sdist, then the wheel from the sdist),
installed with its requirements into a fresh virtual environment, and used
from a project of the user's that has its own `app` package (installed
there too, editable) and its tests in tests/ (tests/plugin_project), run
with plain `pytest`, `python -m pytest` and pytest-xdist: the plugin over a
whole suite, PySNC over its https_url included.
"""
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import requests
from gunicorn_server import free_port

ROOT = Path(__file__).resolve().parent.parent
PROJECT = Path(__file__).resolve().parent / "plugin_project"
PACKAGE = "servicenow_stand_in"
# The project's own tests (tests/plugin_project/tests).
PROJECT_TESTS = 11

# A test as a user writes many: a reset (the fixture's), a fault, requests,
# and the journal's count, list and wait. N of them, as parameters.
GENERATED = '''
import pytest
import requests

CHANNEL = "28a59893873103002ae97e2526cb0b5d"


@pytest.mark.parametrize("n", range({count}))
def test_generated(stand_in, n):
    url = stand_in.base_url + "/api/now/interaction"
    with stand_in.fault(match={{"method": "POST"}}, effect={{"type": "error", "status": 503}}, times=1):
        assert requests.post(url, json={{"channel": CHANNEL}}, auth=stand_in.auth).status_code == 503
    created = requests.post(url, json={{"channel": CHANNEL}}, auth=stand_in.auth)
    assert created.json()["result"]["number"] == "IMS0000001"
    assert stand_in.count(method="POST", status=201) == 1
    assert [entry["status"] for entry in stand_in.requests(path="^/api/now/interaction$")] == [201, 503]
    assert len(stand_in.wait_for(count=2, timeout=1, path="^/api/now/interaction$")) == 2
'''


def tracked_files():
    """The files a fresh clone has (as they are in the working tree)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """(sdist, wheel) built from a copy of the checkout's tracked files."""
    folder = tmp_path_factory.mktemp("dist")
    source = folder / "source"
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    # No isolation: setuptools and wheel come from the test extras, not a download.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(folder / "out"), str(source)],
        check=True,
        capture_output=True,
    )
    [sdist] = (folder / "out").glob("*.tar.gz")
    [wheel] = (folder / "out").glob("*.whl")
    return sdist, wheel


# The user's project is installed as the Flask tutorial has it installed
# (pip install -e .): its `app` then comes after site-packages on sys.path,
# where an `app` of ours would shadow it, whatever pytest puts first.
USER_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "user-project"
version = "1.0"

[tool.setuptools]
packages = ["app"]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of tests/plugin_project, made installable."""
    folder = tmp_path_factory.mktemp("user") / "project"
    shutil.copytree(PROJECT, folder)
    (folder / "pyproject.toml").write_text(USER_PYPROJECT)
    # One at the root would put the project first on sys.path under plain
    # pytest, and hide an `app` of ours in site-packages. (Its fixture is
    # for test_pytest_plugin's README example, not run here.)
    (folder / "conftest.py").unlink(missing_ok=True)
    return folder


@pytest.fixture(scope="module")
def venv(dist, project, tmp_path_factory):
    """A fresh virtual environment with the wheel and its requirements, what
    the user's project uses (pytest, pytest-xdist, PySNC), and the project."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    _, wheel = dist
    subprocess.run(
        [folder / "bin" / "python", "-m", "pip", "install", "--quiet", str(wheel), "pytest", "pytest-xdist", "pysnc"],
        check=True,
        capture_output=True,
    )
    subprocess.run([folder / "bin" / "python", "-m", "pip", "install", "--quiet", "-e", str(project)], check=True, capture_output=True)
    return folder


def test_the_wheel_holds_one_package_and_the_plugin_module(dist):
    _, wheel = dist
    names = zipfile.ZipFile(wheel).namelist()
    version = re.match(r"servicenow_stand_in-([^-]+)-", wheel.name).group(1)
    assert {name.split("/")[0] for name in names} == {PACKAGE, "stand_in_pytest.py", f"servicenow_stand_in-{version}.dist-info"}
    # Every module and file of app/ under the package's name: the console's
    # templates and static files too.
    app_files = {name for name in tracked_files() if name.startswith("app/")}
    assert {f"{PACKAGE}/{name[len('app/'):]}" for name in app_files} <= set(names)
    assert f"{PACKAGE}/records/__init__.py" in names
    entry_points = zipfile.ZipFile(wheel).read(f"servicenow_stand_in-{version}.dist-info/entry_points.txt").decode()
    assert "[pytest11]\nstand_in = stand_in_pytest" in entry_points
    requirements = zipfile.ZipFile(wheel).read(f"servicenow_stand_in-{version}.dist-info/METADATA").decode()
    assert "Requires-Dist: trustme" in requirements


def test_the_sdist_holds_the_sources_the_wheel_was_built_from(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"setup.py", "setup.cfg", "stand_in_pytest.py", "app/records/__init__.py"} <= names
    assert "app/stand_in/console/static/console.css" in names


def test_the_installed_package_serves_every_api_and_the_console(venv, tmp_path):
    """gunicorn from the fresh environment, in a folder of its own, serving
    the installed package: no `app`, no checkout in sight."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTHON", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'installed.sqlite3'}", ADMIN_PASSWORD="installed-secret")
    with open(tmp_path / "gunicorn.log", "wb") as log:
        server = subprocess.Popen(
            [venv / "bin" / "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", f"{PACKAGE}:create_app()"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        http = requests.Session()
        http.auth = ("admin", "installed-secret")
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(http, url, server, tmp_path / "gunicorn.log")
        created = http.post(f"{url}/api/now/interaction", json={"channel": "28a59893873103002ae97e2526cb0b5d"})
        assert created.status_code == 201
        sys_id = created.json()["result"]["sys_id"]
        assert http.get(f"{url}/api/now/table/interaction/{sys_id}").json()["result"]["number"] == "IMS0000001"
        wsdl = http.get(f"{url}/interaction.do?WSDL")
        assert (wsdl.status_code, wsdl.headers["Content-Type"].split(";")[0]) == (200, "text/xml")
        console = http.get(f"{url}/__stand_in/console/")
        assert console.status_code == 200
        assert "IMS0000001" in console.text
        assert '<span class="version">version 0.1.0</span>' in console.text
        stylesheet = http.get(f"{url}/__stand_in/console/static/console.css")
        assert stylesheet.content == (ROOT / "app/stand_in/console/static/console.css").read_bytes()
    finally:
        server.terminate()
        server.wait(30)


def wait_until_healthy(http, url, server, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if http.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"no /health within {timeout} s:\n{log.read_text()}")


# (the command, relative to the venv's bin/, how many generated tests, and
# whether REQUESTS_CA_BUNDLE is set, as on many CI machines: requests then
# ignores a session's verify=, which the plugin must make up for): 1,000
# once, fewer for each xdist run, whose workers start a stand-in each.
RUNS = {
    "pytest": (["pytest"], 1000, True),
    "python -m pytest": (["python", "-m", "pytest"], 0, False),
    "pytest -n 2": (["pytest", "-n", "2"], 300, True),
    "pytest -n 4": (["pytest", "-n", "4"], 300, False),
}


@pytest.mark.parametrize("run", RUNS)
def test_a_user_project_runs_its_suite_with_the_installed_plugin(venv, project, run):
    command, generated, bundle_variable = RUNS[run]
    tests = project / "tests" / "test_generated.py"
    tests.unlink(missing_ok=True)
    if generated:
        tests.write_text(GENERATED.format(count=generated))
    foreign = ("PYTHON", "STAND_IN", "VIRTUAL_ENV", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {name: value for name, value in os.environ.items() if not name.startswith(foreign)}
    if bundle_variable:
        env["REQUESTS_CA_BUNDLE"] = requests.certs.where()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [venv / "bin" / command[0], *command[1:], "-p", "no:cacheprovider", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert re.search(rf"^{PROJECT_TESTS + generated} passed in ", result.stdout, re.M), result.stdout[-3000:]
