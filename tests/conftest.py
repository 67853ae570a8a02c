"""Shared fixtures. Every database test runs twice: on a real SQLite file and on a real
PostgreSQL server (BALISE_TEST_POSTGRES_URL, default the local one). A missing PostgreSQL is an
error, never a skip.

Isolation does not depend on the order tests run in, nor on which pytest-xdist worker runs
them: each worker process creates its own PostgreSQL database (named after the worker) and
every test starts from it emptied and re-seeded; every SQLite test gets its own copy of a
migrated template in its own tmp_path, and every test its own data directory (vault, outbox,
exports, keys). Servers started by tests listen on ports the kernel picks. The only shared
service is Redis, where keys are namespaced by each test's own random API key."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from balise.adapters.db.migrate import upgrade
from balise.container import Balise
from balise.settings import Settings
from tests.helpers import make_provider

PG_ADMIN_URL = os.environ.get("BALISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "balise.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"balise_test_{worker}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - the message must say what is missing
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable at {PG_ADMIN_URL}: {exc}")
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, seq, mac) VALUES (1, 0, :mac)"), {"mac": "0" * 64})
        conn.execute(text("INSERT INTO indicator_version (id, version) VALUES (1, 0)"))
        conn.execute(text("INSERT INTO match_access_head (id, seq, mac) VALUES (1, 0, :mac)"), {"mac": "0" * 64})
        conn.execute(text("INSERT INTO series_head (id) VALUES (1)"))
    engine.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "balise.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url


def make_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "development",
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "api_rate_limit": "10000/minute",
        "login_rate_limit": "1000/minute",
        # Tests reach only loopback: names resolve from a fixed table, never through DNS.
        "fetch_resolver": "static",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


@pytest.fixture
def balise(settings: Settings) -> Iterator[Balise]:
    app = Balise(settings)
    yield app
    app.close()


@pytest.fixture
def client(balise: Balise) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from balise.web.app import create_app

    with TestClient(create_app(balise), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def provider(balise: Balise) -> tuple[uuid.UUID, str]:
    return make_provider(balise)
