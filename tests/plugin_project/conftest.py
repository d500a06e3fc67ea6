import pytest


@pytest.fixture(autouse=True)
def integration_credentials(stand_in_server, monkeypatch):
    """The integration reads its credentials from the environment."""
    user, password = stand_in_server.auth
    monkeypatch.setenv("SN_USER", user)
    monkeypatch.setenv("SN_PASSWORD", password)
