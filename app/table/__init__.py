"""The Table API on the service's tables (/api/now/table/...)."""
from .override import MethodOverride
from .views import bp


def init_app(app):
    app.register_blueprint(bp)
    app.wsgi_app = MethodOverride(app.wsgi_app)
