"""The distribution installs the repository's app/ folder as the package
`servicenow_stand_in` (a name of its own: a user's project may well have an
`app`), beside the pytest plugin's module. In the checkout the folder stays
`app`, which wsgi.py, the tests and mutmut import; the package's own imports
are relative, so it runs under either name (in one process, only one)."""
from setuptools import find_packages, setup

PACKAGE = "servicenow_stand_in"

setup(
    packages=[PACKAGE, *(f"{PACKAGE}.{name}" for name in find_packages("app"))],
    package_dir={PACKAGE: "app"},
)
