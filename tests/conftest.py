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
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from balise.adapters.db.migrate import upgrade
from balise.container import Balise
from balise.settings import Settings
from tests.helpers import make_provider

def _compile_each_route_once_per_process() -> None:
    """FastAPI compiles an included route (its dependency tree, its pydantic fields, its
    handler) the first time a request reaches each application, and every test builds its own
    application around its own container: ~0.5 s of CPU per test, most of the suite's time. The
    compiled form depends only on the route and on where it is included, so each worker process
    compiles each route once (routes of module-level routers only). It also keeps a reference to the application it was first built
    for, which only matters for ``app.dependency_overrides``: Balise's tests use none, and the
    hook below refuses them."""
    from fastapi import FastAPI
    from fastapi import routing as fastapi_routing

    context_class = fastapi_routing._EffectiveRouteContext
    compile_route = context_class.from_api_route.__func__
    # Keyed by the route's id; the value holds the route itself so that id is never reused.
    compiled: dict[tuple[object, ...], tuple[object, object]] = {}

    def from_api_route(cls: type, *, original_route: object, include_context: object) -> object:
        # Routes made inside create_app (health, root) close over that test's application:
        # caching them would keep every test's container alive. They are few; compile them.
        if "<locals>" in getattr(getattr(original_route, "endpoint", None), "__qualname__", "<locals>"):
            return compile_route(cls, original_route=original_route, include_context=include_context)
        key = (id(original_route), include_context.prefix,  # type: ignore[attr-defined]
               tuple((d.dependency, d.use_cache, d.scope) for d in include_context.dependencies))  # type: ignore[attr-defined]
        if key not in compiled:
            compiled[key] = (original_route, compile_route(cls, original_route=original_route,
                                                           include_context=include_context))
        return compiled[key][1]

    context_class.from_api_route = classmethod(from_api_route)  # type: ignore[method-assign,assignment]
    original_setattr = FastAPI.__setattr__

    def no_overrides(self: FastAPI, name: str, value: object) -> None:
        if name == "dependency_overrides" and value:
            raise AssertionError("route compilation is shared between tests: dependency overrides would leak")
        original_setattr(self, name, value)

    FastAPI.__setattr__ = no_overrides  # type: ignore[method-assign]


_compile_each_route_once_per_process()


def _build_each_command_line_once_per_process() -> None:
    """Typer turns the `balise` application into click commands on every CliRunner.invoke by
    reading the signature of every command (~0.11 s): built once per worker process instead.
    A click command keeps no state between invocations (each gets its own context)."""
    import typer.testing

    build = typer.testing._get_command
    built: dict[int, tuple[object, object]] = {}  # by the application's id; holds it so the id stays its

    def get_command(app: object) -> object:
        if id(app) not in built:
            built[id(app)] = (app, build(app))  # type: ignore[arg-type]
        return built[id(app)][1]

    typer.testing._get_command = get_command  # type: ignore[assignment]


_build_each_command_line_once_per_process()


def _read_the_certificate_store_once_per_process() -> None:
    """Every httpx.get() in a test builds a client whose SSL context reads certifi's bundle
    (~23 ms; the tests' polling loops made hundreds). The default context is built once per
    worker; a test that passes its own context or CA still gets exactly that."""
    import functools

    import httpx._transports.default as transports

    build = transports.create_ssl_context
    default = functools.cache(lambda trust_env: build(verify=True, cert=None, trust_env=trust_env))

    def create_ssl_context(verify: object = True, cert: object = None, trust_env: bool = True) -> object:
        if verify is True and cert is None:
            return default(trust_env)
        return build(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[arg-type]

    transports.create_ssl_context = create_ssl_context  # type: ignore[assignment]


_read_the_certificate_store_once_per_process()

PG_ADMIN_URL = os.environ.get("BALISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "balise.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@dataclass(frozen=True)
class _PostgresTestDatabase:
    url: str
    reset_sql: str  # empties every table and restarts every sequence, in one round trip


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[_PostgresTestDatabase]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"balise_test_{worker}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A test database need not survive a crash of the PostgreSQL server itself; a commit
            # still survives the kill -9 of any Balise process, which is what the tests prove.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:  # noqa: BLE001 - the message must say what is missing
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable at {PG_ADMIN_URL}: {exc}")
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        sequences = [r[0] for r in conn.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname='public'"))]
        # The rows the migrations themselves wrote (the audit chain's head, the indicator and
        # credential counters...), put back after every test as they were.
        seeded = {t: conn.execute(text(f'SELECT coalesce(json_agg(x), \'[]\'::json)::text FROM "{t}" x')).scalar_one()
                  for t in tables}
    engine.dispose()
    # DELETE, not TRUNCATE: truncating ~40 tables makes new files for each table and index and
    # cost about 1 s per test; deleting the few rows a test wrote costs milliseconds. The replica
    # role skips foreign-key checks and triggers, so the order of the tables does not matter.
    reset_sql = "; ".join(
        ["SET LOCAL session_replication_role = replica"]
        + [f'DELETE FROM "{t}"' for t in tables]
        + [f"SELECT setval('\"{s}\"', 1, false)" for s in sequences]
        + [f"INSERT INTO \"{t}\" SELECT * FROM json_populate_recordset(NULL::\"{t}\", '{rows.replace(chr(39), chr(39) * 2)}')"
           for t, rows in seeded.items() if rows != "[]"])
    yield _PostgresTestDatabase(url, reset_sql)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(postgres_database: _PostgresTestDatabase) -> str:
    return postgres_database.url


_reset_engines: dict[str, Engine] = {}


def _reset_postgres(database: _PostgresTestDatabase) -> None:
    engine = _reset_engines.get(database.url)
    if engine is None:
        engine = _reset_engines[database.url] = create_engine(database.url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(database.reset_sql)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "balise.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    database = request.getfixturevalue("postgres_database")
    _reset_postgres(database)
    return database.url


def make_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "development",
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "api_rate_limit": "10000/minute",
        "login_rate_limit": "1000/minute",
        # Tests reach only loopback: names resolve from a fixed table, never through DNS.
        "fetch_resolver": "static",
        # argon2id at its cheapest: ~110 ms saved on every account a test creates or signs in
        # with. test_password_hash_cost_is_standard_outside_development.py checks the default.
        "password_hash_cost": "minimal",
    }
    values.update(overrides)
    if values["env"] != "development" and "password_hash_cost" not in overrides:
        values["password_hash_cost"] = "standard"  # production refuses minimal, rightly
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
