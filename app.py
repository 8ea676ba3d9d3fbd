"""Entry point: `flask` finds this file with no --app, and waitress serves `app`."""
from wardkit import create_app

app = create_app()
