"""The app as the tests build it: many apps in one process (one per test), so templates are
compiled once per process and shared through an in-memory bytecode cache (Jinja still reads
each template's source and recompiles it when that changes), and passwords are hashed with
cheap Argon2id parameters (see `cheap_password_hashing`)."""

from __future__ import annotations

from argon2 import PasswordHasher
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from broadsheet.settings import Settings
from web.app import create_app

# The same algorithm with the smallest cost argon2-cffi allows for a hash that still
# verifies, instead of 64 MiB and 3 passes: about 0.14 s saved per hash and per sign-in.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class SharedTemplateCode(BytecodeCache):
    """Compiled templates kept in this process's memory, by template and source checksum."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


def make_app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.config.update(TESTING=True)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    return app
