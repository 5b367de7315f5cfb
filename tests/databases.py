"""The real database servers the shared-store tests run against (started on every machine and in CI)."""

from __future__ import annotations

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
