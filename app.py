"""Entry point: `flask` finds this file with no --app (`flask serve` builds a fresh app in
each server worker after it forks)."""
from wardkit import create_app

app = create_app()
