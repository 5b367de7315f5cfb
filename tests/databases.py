"""The real database servers the shared-store tests run against (started on every machine and in CI)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """The PostgreSQL URL, after checking the server answers (a clear failure, not a hang, when it does not)."""
    engine = sa.create_engine(POSTGRES)
    try:
        with engine.connect():
            return POSTGRES
    except sa.exc.OperationalError as exc:  # CI starts it; locally say why clearly
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    finally:
        engine.dispose()


@contextlib.contextmanager
def scratch_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A database URL of ``kind`` ("sqlite" or "postgresql") that no other test shares: SQLite
    in ``tmp_path``, or a fresh PostgreSQL schema (dropped afterwards) so the shared server's
    other tables stay out of it."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex}"
    admin = sa.create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url()}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
