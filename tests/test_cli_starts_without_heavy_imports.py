"""`balise --help` and the commands that need neither the database nor media start without
importing the container, the database layer, the web stack or the media libraries, and
`balise jobs list` imports the database and the job queue but none of the other services. Each runs in a
fresh interpreter, so that nothing an earlier test imported hides an eager import; no timing is
asserted (benchmarks/bench_cli_startup.py measures it)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterable

import pytest

# What the database, the web server and media hashing need, and the wiring that builds them.
MEDIA_AND_WEB = ("numpy", "PIL", "av", "lxml", "fastapi", "starlette", "uvicorn", "httpx", "jinja2")
HEAVY = (*MEDIA_AND_WEB, "sqlalchemy", "alembic", "balise.container", "balise.adapters", "balise.settings")

# Run in a fresh interpreter after heavy_in's source: the command, then what it imported.
RUN = """
from balise.cli.main import app
try:
    app(sys.argv[1:], prog_name="balise")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "loaded": heavy_in(sys.modules, HEAVY)}))
"""


def heavy_in(modules: Iterable[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of `heavy` (each a package with its sub-modules) are among `modules`."""
    return sorted({h for m in modules for h in heavy if m == h or m.startswith(h + ".")})


def loaded_after(args: list[str], env: dict[str, str] | None = None, heavy: tuple[str, ...] = HEAVY) -> dict:  # type: ignore[type-arg]
    script = ("from __future__ import annotations\nimport json, sys\n"
              f"HEAVY = {tuple(heavy)!r}\n{inspect.getsource(heavy_in)}{RUN}")
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_nothing_heavy():
    result = subprocess.run([sys.executable, "-c", "import json, sys, balise.cli.main; print(json.dumps(sorted(sys.modules)))"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert heavy_in(json.loads(result.stdout)) == []


@pytest.mark.parametrize("args", [["--help"], ["jobs", "--help"], ["indicators", "--help"], ["package", "--help"],
                                  ["clocks", "rules"], ["audit", "events"]])
def test_help_and_commands_without_the_database_import_nothing_heavy(args):
    outcome = loaded_after(args)
    assert outcome["code"] in (0, None), outcome
    assert outcome["loaded"] == [], f"balise {' '.join(args)} imported {outcome['loaded']}"


# Services of the container that `jobs list` does not use, and what they import.
OTHER_SERVICES = ("balise.intake", "balise.accounts.users", "balise.accounts.organisations", "balise.evidence",
                  "balise.detection", "balise.governance", "balise.takedown", "cryptography", "argon2", "pyotp")


def test_jobs_list_imports_the_database_and_the_job_queue_only(settings):
    env = {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
           "BALISE_DATABASE_URL": settings.sqlalchemy_url}
    outcome = loaded_after(["jobs", "list"], env, heavy=(*MEDIA_AND_WEB, *OTHER_SERVICES, "sqlalchemy", "balise.jobs"))
    assert outcome["code"] in (0, None), outcome
    assert outcome["loaded"] == ["balise.jobs", "sqlalchemy"]  # it did reach the database
