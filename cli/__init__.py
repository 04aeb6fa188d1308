"""The composition root: the `broadsheet` command and the process supervisor.

The one place that may import the domain, the web app and the worker together; nothing imports
it (an import-linter contract in pyproject.toml keeps it so).
"""

from cli.main import main

__all__ = ["main"]
