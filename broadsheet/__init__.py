"""Broadsheet's domain: settings, models, services, rendering, message building and tokens.

Framework-free: it never imports Flask, Celery or redis, so the web app and the worker share it.
"""
