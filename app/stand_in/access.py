"""Who may use /__stand_in/: authenticated users with the admin flag."""
from ..auth import auth, current_user
from ..errors import APIError


@auth.login_required
def require_admin():
    """A before_request of the blueprint: 401 without valid credentials
    (flask-httpauth's answer), 403 for a user who is not an admin."""
    if not current_user().admin:
        raise APIError(403, "Operation Failed", "Admin rights required")
