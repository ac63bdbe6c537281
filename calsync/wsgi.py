"""The WSGI entry point for gunicorn (`calsync.wsgi:app`), configured from the environment."""

import os

from calsync import logs
from calsync.app import create_app

app = create_app()
logs.configure(app.extensions["calsync.settings"].log_format, os.environ.get("LOG_LEVEL", "INFO"))
