"""A Core statement compiled once per dialect and run on the driver's cursor directly.

For the sending paths' one statement per message (the ledger's and the outbox's
finish-and-begin), where SQLAlchemy's execution machinery (cache key, execution context,
result metadata) cost the worker more CPU than the driver itself: about 22% of its Python
time against psycopg's 12% (bench/scale.py at 50,000 readers, py-spy with --gil).
The statement is the same Core construct the ORM paths use, compiled
by SQLAlchemy; its values go through each column type's own bind processor, so what is
stored is exactly what `Connection.execute` would store. Driver errors are raised as
SQLAlchemy's (`sqlalchemy.exc.DBAPIError` and its kinds), like every other statement's.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # the order of the values, for a positional paramstyle
    fixed: dict[str, Any]  # values the statement carries itself, already processed
    given: dict[str, str]  # the caller's parameter name -> its name in the SQL
    processors: dict[str, Callable[[Any], Any]]  # by name in the SQL


class DirectStatement:
    """`DirectStatement(stmt).rows(connection, params)` runs `stmt` on the connection's
    driver cursor, in whatever transaction (or autocommit mode) the connection is in, and
    returns the rows it returns. Every bind parameter without a value must be given."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary()
        )

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        dialect = connection.dialect
        compiled = self._by_dialect.get(dialect)
        if compiled is None:
            compiled = self._by_dialect[dialect] = _compile(self.statement, dialect)
        values = dict(compiled.fixed)
        for key, name in compiled.given.items():
            value = params[key]
            processor = compiled.processors.get(name)
            values[name] = value if processor is None or value is None else processor(value)
        args: Any = values if compiled.names is None else [values[n] for n in compiled.names]
        driver = connection.connection.driver_connection
        assert driver is not None, "a connection in use has its driver's connection"
        cursor = driver.cursor()
        try:
            cursor.execute(compiled.sql, args)
            return cursor.fetchall() if cursor.description is not None else []
        except dialect.loaded_dbapi.Error as error:
            raise exc.DBAPIError.instance(
                compiled.sql, args, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        finally:
            cursor.close()


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    # A statement (not DDL) compiles with the dialect's SQLCompiler, which knows its binds.
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    if compiled.insert_prefetch or compiled.update_prefetch:
        # A column default worked out in Python would be frozen at its first value here.
        raise ValueError("a direct statement cannot fill in column defaults; give every value")
    fixed: dict[str, Any] = {}
    given: dict[str, str] = {}
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required:
            given[bind.key] = name
            if processor is not None:
                processors[name] = processor
        else:
            value = bind.effective_value
            fixed[name] = value if processor is None or value is None else processor(value)
    positions = compiled.positiontup if compiled.positional else None
    names = None if positions is None else tuple(positions)
    return _Compiled(str(compiled), names, fixed, given, processors)
