"""Login, logout, password change and the admin's user pages.

The blueprint lives in `views.py` (imported by `create_app`); importing it here would
make `wardkit.security`, which uses `auth.queries`, circular.
"""
