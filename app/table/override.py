"""X-HTTP-Method-Override on a POST to the Table API, as ServiceNow honours
it for clients that can only send GET and POST."""
import re

_TABLE_PATH = re.compile(r"/api/now/(?:v[12]/)?table/")
_METHODS = frozenset(("GET", "HEAD", "PUT", "PATCH", "DELETE"))


class MethodOverride:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and _TABLE_PATH.match(environ.get("PATH_INFO", "")):
            method = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").strip().upper()
            if method in _METHODS:
                environ["REQUEST_METHOD"] = method
        return self.wsgi_app(environ, start_response)
