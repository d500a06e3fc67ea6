"""The service's request class: Flask's, keeping what werkzeug and Flask
work out anew on each read and a request reads more than once."""
from flask import Request, current_app
from werkzeug.datastructures import Authorization
from werkzeug.utils import cached_property


class Credentials(Authorization):
    """werkzeug's Authorization with a Basic header's user name and password
    as attributes. werkzeug finds them with __getattr__, which Python calls
    only after a failed lookup has built an AttributeError: about 5k
    instructions a read, and a request reads them six times."""

    def __init__(self, auth_type, data=None, token=None):
        super().__init__(auth_type, data, token)
        self.username = self.parameters.get("username")
        self.password = self.parameters.get("password")


class ServiceRequest(Request):
    @cached_property
    def authorization(self):
        """Parsed once: the fault check (app/stand_in) and login_required both read it."""
        return Credentials.from_header(self.headers.get("Authorization"))

    @cached_property
    def max_content_length(self):
        """Read once: negotiation and werkzeug's body reading both read it.
        As Flask's, with the app resolved once: Flask reads it through its
        proxy twice, each read a failed lookup that builds an AttributeError."""
        if self._max_content_length is not None:
            return self._max_content_length
        return current_app._get_current_object().config["MAX_CONTENT_LENGTH"]
