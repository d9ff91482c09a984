"""The app for gunicorn: gunicorn wsgi:app."""

from factory import create_app

app = create_app()
