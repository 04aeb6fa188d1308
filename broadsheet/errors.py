"""Domain exceptions: clear messages, mapped to HTTP status codes only at the web boundary."""

from __future__ import annotations


class BroadsheetError(Exception):
    """Base class for errors the domain raises on purpose."""


class ConfigError(BroadsheetError):
    """A setting is missing or malformed; names the environment variable."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


class ValidationError(BroadsheetError):
    """Input that cannot be accepted; `fields` maps each field name to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class NotFound(BroadsheetError):
    """The thing asked for does not exist."""


class Conflict(BroadsheetError):
    """The request clashes with the current state (already exists, already sent, ...)."""


class BadToken(BroadsheetError):
    """A signed link token that is forged, for another purpose, or expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
