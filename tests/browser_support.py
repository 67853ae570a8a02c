"""Staff sign-in in headless Chromium, as a person does it: password, then the TOTP code."""

from __future__ import annotations

from tests.cli_support import run_cli

# The password the browser tests give the staff accounts they create with `balise user create`.
PASSWORD = "a long enough password"


def sign_in(page, base: str, env: dict[str, str], username: str, password: str = PASSWORD) -> None:
    """Sign ``username`` in on the page (any earlier session's cookies dropped first); the code
    comes from `balise user totp-code`, which only development installations answer."""
    page.context.clear_cookies()
    page.goto(f"{base}/ui/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/login/totp")
    result = run_cli(env, "user", "totp-code", username)
    assert result.returncode == 0, result.stderr
    page.fill("#code", result.stdout.strip())
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")
