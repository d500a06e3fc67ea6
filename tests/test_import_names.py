"""One name for the service's code in each process: `app` in the checkout
(wsgi.py, the tests, mutmut), `servicenow_stand_in` where it is installed
(the pytest plugin's server). Two names in one process would be two copies
of every module: two databases, two caches, two apps' worth of state.
With an editable install both are importable from the same folder, so
each way of running the service is checked here."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

# Prints the names under which modules of app/ are loaded, after `setup`.
_NAMES = """
import os, sys
{setup}
folder = sys.argv[1] + os.sep
print(" ".join(sorted({{name.partition(".")[0] for name, module in list(sys.modules.items())
                        if (getattr(module, "__file__", None) or "").startswith(folder)}})))
"""


def loaded_from_app(modules):
    folder = f"{APP}{os.sep}"
    return {name.partition(".")[0] for name, module in list(modules.items()) if (getattr(module, "__file__", None) or "").startswith(folder)}  # fmt: skip


def test_the_tests_load_the_service_as_app_only():
    import app  # noqa: F401 - as every test of the app does

    assert loaded_from_app(sys.modules) == {"app"}
    assert "stand_in_pytest" in sys.modules  # the plugin, loaded without the service


@pytest.mark.parametrize(
    "how, setup, cwd, names",
    [
        # The pytest plugin's server: python -P in a folder of its own.
        ("plugin", "import servicenow_stand_in as s; s.create_app()", "tmp", "servicenow_stand_in"),
        # gunicorn wsgi:app, flask --app wsgi, make run: from the checkout.
        ("wsgi", "sys.path.insert(0, os.getcwd()); import wsgi", "root", "app"),
    ],
)
def test_each_way_of_serving_loads_the_service_under_one_name(how, setup, cwd, names, tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'names.sqlite3'}", ADMIN_PASSWORD="names-secret")
    result = subprocess.run(
        [sys.executable, "-P", "-c", _NAMES.format(setup=setup), str(APP)],
        cwd=tmp_path if cwd == "tmp" else ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [names]


def test_the_plugins_server_cannot_import_a_package_named_app(tmp_path):
    """Nor anything else of the checkout's top level: only the package and
    the plugin are installed, even editable."""
    script = "import importlib.util as u; print([n for n in ('app', 'wsgi', 'tests', 'tools', 'bench') if u.find_spec(n)])"
    result = subprocess.run([sys.executable, "-P", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
