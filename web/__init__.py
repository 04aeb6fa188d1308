"""Broadsheet's Flask front end: public reader pages and the JSON API."""

from web.app import create_app

__all__ = ["create_app"]
