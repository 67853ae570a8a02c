"""The container image and compose.yaml keep what docs/deployment.md promises, checked on the
files themselves (no container engine runs here): hadolint passes; the image is multi-stage,
runs as an unprivileged user and checks /healthz; every container has a read-only root file
system with writable paths only on volumes and tmpfs; two API processes and a worker run
commands the CLI has; no secret is written in the environment, each comes from a file of
deploy/make-secrets through compose secrets, and those files make a configuration the
service accepts outside development."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from balise.settings import SECRET_FIELDS, Settings

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
BALISE_IMAGE = SERVICES["api-1"]["image"]
BALISE_SERVICES = {name: s for name, s in SERVICES.items() if s.get("image") == BALISE_IMAGE}


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_hadolint_passes():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), "--failure-threshold", "info", str(CONTAINERFILE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_the_containerfile():
    assert (ROOT / "Dockerfile").is_symlink() and (ROOT / "Dockerfile").resolve() == CONTAINERFILE


def test_the_image_is_multi_stage_unprivileged_and_checks_its_health():
    found = instructions()
    stages = [i for i, (op, _) in enumerate(found) if op == "FROM"]
    assert len(stages) >= 2
    final = found[stages[-1]:]
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    # Nothing after the USER line runs as root again.
    assert [op for op, _ in final[[op for op, _ in final].index("USER"):]].count("USER") == 1
    [health] = [arg for op, arg in final if op == "HEALTHCHECK"]
    assert "http://127.0.0.1:8000/healthz" in health
    assert ("ENTRYPOINT", '["balise"]') in final and ("CMD", '["serve"]') in final
    assert any(op == "COPY" and arg.startswith("--from=build") for op, arg in final)


def test_the_health_check_asks_a_route_the_application_has():
    from balise.web import app as web

    assert '"/healthz"' in Path(web.__file__).read_text()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_container_has_a_read_only_root(name):
    service = SERVICES[name]
    assert service.get("read_only") is True
    for mount in service.get("volumes", []):
        source = mount.split(":")[0]
        # Named volumes, or a configuration file mounted read-only.
        assert source in COMPOSE["volumes"] or mount.endswith(":ro"), mount


def test_balise_containers_are_unprivileged_with_a_tmpfs_tmp():
    for name, service in BALISE_SERVICES.items():
        assert service["user"].split(":")[0] not in ("0", "root"), name
        assert service["cap_drop"] == ["ALL"], name
        assert any(t.startswith("/tmp") for t in service["tmpfs"]), name
        targets = {v.split(":")[1] for v in service["volumes"]}
        assert {service["environment"]["BALISE_DATA_DIR"], service["environment"]["BALISE_VAULT_DIR"]} <= targets


def test_two_api_processes_a_worker_and_a_migration_run_real_commands():
    from typer.main import get_command

    from balise.cli.main import app

    cli = get_command(app)
    commands = {name: s["command"] for name, s in BALISE_SERVICES.items()}
    assert commands["api-1"] == commands["api-2"] == ["serve"]
    assert commands["worker"] == ["worker"]
    assert commands["migrate"] == ["db", "upgrade"]
    for command in commands.values():
        group = cli
        for word in command:
            group = group.commands[word]  # type: ignore[attr-defined]
    # The API processes leave the jobs to the worker.
    assert all(s["environment"]["BALISE_RUN_JOBS_IN_SERVER"] == "false" for s in BALISE_SERVICES.values())


def test_the_proxy_balances_both_api_processes_and_is_the_only_trusted_forwarder():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "{$BALISE_UPSTREAMS:api-1:8000 api-2:8000}" in caddyfile
    proxy = SERVICES["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    address = proxy["networks"]["front"]["ipv4_address"]
    assert all(s["environment"]["BALISE_FORWARDED_ALLOW_IPS"] == address for s in BALISE_SERVICES.values())
    assert "ports" not in SERVICES["api-1"] and "ports" not in SERVICES["postgres"]


def test_no_secret_is_a_literal_in_the_environment():
    for name, service in SERVICES.items():
        environment = service.get("environment", {})
        for field in SECRET_FIELDS:
            literal = environment.get(f"BALISE_{field.upper()}")
            if literal is not None:
                # Only a URL that carries no password (Redis on the internal network).
                assert urlsplit(literal).password is None, f"{name}: BALISE_{field.upper()}"
        for variable, value in environment.items():
            assert not re.search(r"PASSWORD$|_KEY$|TOKEN$", variable), f"{name}: {variable} is a literal secret"
            if variable.endswith("_FILE") and str(value).startswith("/run/secrets/"):
                secret = str(value).removeprefix("/run/secrets/")
                assert secret in service["secrets"] and secret in COMPOSE["secrets"], f"{name}: {variable}"


def test_the_generated_secret_files_make_a_production_configuration(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets"
    subprocess.run([str(ROOT / "deploy" / "make-secrets"), str(secrets)], check=True, capture_output=True, timeout=60)
    assert oct(secrets.stat().st_mode & 0o777) == "0o700"
    # Run again: refuses to overwrite the keys that protect data.
    again = subprocess.run([str(ROOT / "deploy" / "make-secrets"), str(secrets)], capture_output=True, text=True)
    assert again.returncode == 1 and "exists" in again.stderr
    for key in list(os.environ):
        if key.startswith("BALISE_"):
            monkeypatch.delenv(key)
    environment = BALISE_SERVICES["api-1"]["environment"]
    files = {entry: Path(spec["file"]).name for entry, spec in COMPOSE["secrets"].items()}
    for variable, value in environment.items():
        if variable.endswith("_FILE"):
            value = str(secrets / files[str(value).removeprefix("/run/secrets/")])
        monkeypatch.setenv(variable, str(value))
    monkeypatch.setenv("BALISE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BALISE_VAULT_DIR", str(tmp_path / "vault"))
    settings = Settings()
    settings.check_safe()
    assert settings.env == "production"
    assert settings.database_url.startswith("postgresql+psycopg://balise:")
    assert settings.metrics_token is not None
    assert (secrets / "postgres_password").read_text() in settings.database_url
