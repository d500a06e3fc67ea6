"""OAuth 2.0 (OAUTH.md): clients, the token endpoints, bearer tokens.

This package's __init__ imports none of its modules: auth.py reads bearer
tokens through `bearer`, and the views need auth.py. The app wires it up
with `views.init_app`.
"""
