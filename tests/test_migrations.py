"""The same migrations build the schema on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient

from balise.adapters.db.migrate import is_current
from balise.adapters.db.models import Base
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings


def test_models_and_migrations_describe_the_same_schema(balise):
    with balise.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []


def test_migrated_database_is_current(balise):
    assert is_current(balise.db.engine)


def test_readyz_is_503_until_the_database_is_migrated(tmp_path):
    app = Balise(make_settings(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    with TestClient(create_app(app)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] == "migrations pending"
        assert c.get("/healthz").status_code == 200
    app.close()


def test_readyz_is_ok_on_a_migrated_database(client):
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    app = Balise(make_settings(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none"))
    with TestClient(create_app(app)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] == "unreachable"
    app.close()
