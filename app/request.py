"""The service's request class: Flask's, keeping what werkzeug and Flask
work out anew on each read and a request reads more than once."""
from flask import Request
from werkzeug.utils import cached_property


class ServiceRequest(Request):
    @cached_property
    def authorization(self):
        """Parsed once: the fault check (app/stand_in) and login_required both read it."""
        return super().authorization

    @cached_property
    def max_content_length(self):
        """Read once: negotiation and werkzeug's body reading both read it,
        and Flask reads the app's config through its proxy twice each time."""
        return super().max_content_length
