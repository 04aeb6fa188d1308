"""Broadsheet's domain: settings, the schema (models/), the use cases (services/), mail building
(mail/), bounce handling (bounces/), engagement tracking (tracking/), imports of another
sender's readers (imports/), feeds to email (feeds/), signed tokens, roles' rights, article
Markdown, and what the health facts and send counts that workers keep in Redis mean.

Framework-free: it never imports Flask, Celery or redis, so the web app and the worker share it.
"""
