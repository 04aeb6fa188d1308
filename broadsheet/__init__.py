"""Broadsheet's domain: settings, models (models/), services (services/), signed tokens, article
Markdown, bounce handling (bounces/) and mail building (mail/).

Framework-free: it never imports Flask, Celery or redis, so the web app and the worker share it.
"""
