"""The WSGI entry point for gunicorn (`calsync.wsgi:app`), configured from the environment."""

from calsync.app import create_app

app = create_app()
