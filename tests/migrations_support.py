"""Migration tests move the test database back to an old state; whatever happens in the test,
it must end at the latest state again, or every later test meets a schema from the past."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@contextmanager
def migrated_to(targets: list[tuple[str, str]]) -> Iterator[MigrationExecutor]:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    try:
        yield executor
    finally:
        latest = MigrationExecutor(connection)
        latest.migrate(latest.loader.graph.leaf_nodes())
