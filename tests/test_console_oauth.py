"""The console's OAuth page (OAUTH.md §4): clients listed without their
secrets, one added (its secret shown that once) and one removed."""
import re

import pytest
from oauth_helpers import add_client, password_tokens
from test_console import CONSOLE, SCRIPT, Console


@pytest.fixture
def console(client, admin_auth):
    return Console(client, admin_auth)


def test_the_page_lists_clients_and_never_a_secret(console, client, admin_auth):
    added = add_client(client, admin_auth, name="pysnc", user="admin", access_token_lifespan=5)
    page = console.get("/oauth")
    assert added["client_id"] in page and "pysnc" in page
    assert added["client_secret"] not in page
    assert re.search(r'data-label="Access token \(s\)" class="number">5</td>', page)
    assert re.findall(r'aria-current="page">(\w+)</a>', page) == ["OAuth"]


def test_adding_shows_the_secret_once_and_it_gets_a_token(console, client):
    response = console.post("/oauth", {"name": "webex", "user": "admin", "access_token_lifespan": "60", "refresh_token_lifespan": ""})
    assert response.status_code == 201
    page = response.data.decode()
    client_id = re.search(r"<dt>client_id</dt><dd><code>([0-9a-f]{32})</code>", page).group(1)
    secret = re.search(r"<dt>client_secret</dt><dd><code>([^<]+)</code>", page).group(1)
    assert password_tokens(client, {"client_id": client_id, "client_secret": secret})["expires_in"] == 59
    assert secret not in console.get("/oauth")


@pytest.mark.parametrize(
    "form, message",
    [
        ({"name": ""}, "name: Missing data for required field."),
        ({"name": "x", "user": "nobody"}, "No user &#39;nobody&#39;"),
        ({"name": "x", "access_token_lifespan": "0"}, "access_token_lifespan: Must be greater than or equal to 1"),
        ({"name": SCRIPT, "user": SCRIPT}, "No user"),
    ],
)
def test_a_bad_client_is_a_400_saying_why(console, form, message):
    response = console.post("/oauth", form)
    assert response.status_code == 400
    page = response.data.decode()
    assert message in page and SCRIPT not in page


def test_removing_a_client_ends_its_tokens(console, client, admin_auth):
    added = add_client(client, admin_auth, user="admin")
    access = password_tokens(client, added)["access_token"]
    response = console.post(f"/oauth/{added['client_id']}/delete")
    assert (response.status_code, response.headers["Location"]) == (303, CONSOLE + "/oauth?done=oauth-client-deleted")
    assert "The OAuth client is deleted" in console.get("/oauth?done=oauth-client-deleted")
    assert client.get("/api/now/table/interaction", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    assert console.post(f"/oauth/{added['client_id']}/delete").status_code == 404


def test_adding_or_removing_needs_the_pages_token(console, client, admin_auth):
    added = add_client(client, admin_auth)
    assert console.post(f"/oauth/{added['client_id']}/delete", token=False).status_code == 403
    assert console.post("/oauth", {"name": "x"}, token=False).status_code == 403
    assert len(client.get("/__stand_in/oauth/clients", headers=admin_auth).json["result"]) == 1


def test_a_reset_of_everything_says_it_removes_the_clients(console, client, admin_auth):
    add_client(client, admin_auth)
    assert "<b>1</b> OAuth clients" in console.get("/reset?scope=all")
    assert "OAuth clients" not in console.get("/reset?scope=interactions")
