"""The names OAuth's endpoints speak (OAUTH.md §2, §3): their paths, the
form's parameters, the grants, the scope, ServiceNow's refusal."""

TOKEN_PATH = "/oauth_token.do"
REVOKE_PATH = "/oauth_revoke_token.do"
TOKEN_PATHS = frozenset((TOKEN_PATH, REVOKE_PATH))

FORM = "application/x-www-form-urlencoded"
# Every parameter either endpoint reads: none may come twice (RFC 6749 §3.2).
PARAMETERS = ("grant_type", "username", "password", "refresh_token", "scope", "client_id", "client_secret", "token")
GRANTS = ("password", "refresh_token", "client_credentials")
SCOPE = "useraccount"

# What ServiceNow answers for every wrong client, user, password or token.
ACCESS_DENIED = {"error_description": "access_denied", "error": "server_error"}
