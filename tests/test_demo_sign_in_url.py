"""`balise demo` prints the sign-in address `balise serve` listens on with the same settings
(BALISE_HOST, BALISE_PORT), not a fixed http://127.0.0.1:8000."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from balise.cli.main import _browser_address, app as cli


@pytest.fixture
def run(settings):
    def invoke(*args: str, **env: str):  # type: ignore[no-untyped-def]
        base = {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
                "BALISE_DATABASE_URL": settings.sqlalchemy_url}
        result = CliRunner().invoke(cli, list(args), env={**base, **env})
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_demo_prints_the_configured_port_then_the_same_address_again(run):
    seeded = run("demo", "--reports", "0", BALISE_PORT="8123")
    assert "Sign in at http://127.0.0.1:8123/ui/login as demo-analyst" in seeded
    assert "127.0.0.1:8000" not in seeded
    again = run("demo", "--if-new", BALISE_HOST="localhost", BALISE_PORT="9001")
    assert "no demo seeded" in again and "Sign in at http://localhost:9001/ui/login" in again


def test_demo_on_every_address_shows_the_loopback_one_with_a_note(run):
    run("demo", "--reports", "0")
    output = run("demo", "--if-new", BALISE_HOST="0.0.0.0", BALISE_PORT="8123")
    assert "Sign in at http://127.0.0.1:8123/ui/login" in output
    assert "listens on every address (BALISE_HOST=0.0.0.0)" in output


@pytest.mark.parametrize(("host", "url", "note"), [
    ("127.0.0.1", "http://127.0.0.1:8123", False),
    ("balise.internal", "http://balise.internal:8123", False),
    ("::1", "http://[::1]:8123", False),
    ("0.0.0.0", "http://127.0.0.1:8123", True),
    ("::", "http://[::1]:8123", True),
])
def test_an_ipv6_host_is_bracketed_and_every_address_is_shown_as_loopback(host, url, note):
    shown, why = _browser_address(host, 8123)
    assert shown == url and (why is not None) is note
