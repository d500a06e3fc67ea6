"""OAuth clients and tokens for the tests, made over HTTP as a team would."""
import base64

from conftest import ADMIN_PASSWORD, basic

ACCESS_DENIED = {"error_description": "access_denied", "error": "server_error"}


def add_client(client, admin_auth, **fields):
    response = client.post("/__stand_in/oauth/clients", json={"name": "integration", **fields}, headers=admin_auth)
    assert response.status_code == 201, response.data
    return response.json["result"]


def basic_client(registered):
    return basic(registered["client_id"], registered["client_secret"])


def form_client(registered):
    return {"client_id": registered["client_id"], "client_secret": registered["client_secret"]}


def token(client, form, headers=None):
    # Named even for an empty form, which the test client would send with none.
    return client.post("/oauth_token.do", data=form, headers=headers or {}, content_type="application/x-www-form-urlencoded")


def password_tokens(client, registered, user="admin", password=ADMIN_PASSWORD):
    response = token(client, {"grant_type": "password", "username": user, "password": password, **form_client(registered)})
    assert response.status_code == 200, response.data
    return response.json


def bearer(access_token):
    return {"Authorization": f"Bearer {access_token}"}


def b64(text):
    return base64.b64encode(text.encode()).decode()
