"""Hot-path statements compiled once per dialect and run as driver-level executemany.

SQLAlchemy processes every bound value of every row of an executemany in Python (tens of
microseconds a row for a wide insert with timestamps). Delivery writes thousands of rows a second:
for those statements the SQL is compiled once per dialect, values shared by a batch (the time, a
status) go through their type's processor once, and each row is a plain tuple in the driver's order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


class Prepared:
    """A statement (built for a dialect name) whose per-row values are named bind parameters."""

    def __init__(self, build: Callable[[str], ClauseElement], row_names: Sequence[str]) -> None:
        self._build = build
        self.row_names = tuple(row_names)
        self._compiled: dict[str, tuple[str, SQLCompiler]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, SQLCompiler]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._build(dialect.name).compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None, "positional only"
            found = self._compiled[dialect.name] = (compiled.string, compiled)
        return found

    async def run(
        self, conn: AsyncConnection, rows: Sequence[Sequence[Any]], shared: Mapping[str, Any] | None = None
    ) -> None:
        """Execute once per row; `rows` hold the values of `row_names`, in that order, as the driver takes
        them (ints, strings, None); `shared` values are the batch's, processed once by their types."""
        if not rows:
            return
        dialect = conn.dialect
        sql, compiled = self._for(dialect)
        assert compiled.positiontup is not None
        shared = shared or {}
        index = {name: i for i, name in enumerate(self.row_names)}
        order: list[int | None] = []
        fixed: list[Any] = []
        for name in compiled.positiontup:
            if name in index:
                order.append(index[name])
                fixed.append(None)
                continue
            bind = compiled.binds[name]
            value = shared.get(name, bind.value)
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            order.append(None)
            fixed.append(processor(value) if processor is not None and value is not None else value)
        if all(slot is not None for slot in order) and list(order) == list(range(len(self.row_names))):
            params: list[tuple[Any, ...]] = [tuple(row) for row in rows]
        else:
            params = [
                tuple(row[slot] if slot is not None else fixed[i] for i, slot in enumerate(order))
                for row in rows
            ]
        await conn.exec_driver_sql(sql, params)
