"""Security key tests: Balise served on loopback under the name localhost (a WebAuthn relying
party needs a host name, not an address; Chromium maps it to 127.0.0.1), and Chromium with a
virtual authenticator (CDP WebAuthn domain) standing in for a USB key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import current_code, make_user
from tests.servers import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for

PASSWORD = "correct horse battery"
ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP localhost 127.0.0.1"]


@contextmanager
def served(tmp_path, db_url: str, **overrides: Any) -> Iterator[tuple[Balise, str]]:  # type: ignore[no-untyped-def]
    port = free_port()
    base = f"http://localhost:{port}"
    balise = Balise(make_settings(tmp_path, db_url, base_url=base, **overrides))
    server = uvicorn.Server(uvicorn.Config(create_app(balise), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30)
    try:
        yield balise, base
    finally:
        server.should_exit = True
        thread.join(30)
        balise.close()


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def with_authenticator(page: Any) -> tuple[Any, str]:
    """A virtual CTAP2 USB key on the page's browser, which verifies its user; its id."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    answer = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": False, "hasUserVerification": True,
        "isUserVerified": True}})
    return cdp, answer["authenticatorId"]


def password_step(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def totp_step(page: Any, base: str, balise: Balise, username: str) -> None:
    page.wait_for_url(f"{base}/ui/login/totp")
    page.fill("#code", current_code(balise, username))
    page.click("button[type=submit]")


def register_key(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/ui/account/keys")
    page.fill("#key-name", name)
    page.click("#add-key button[type=submit]")
    page.wait_for_url(f"{base}/ui/account/keys?added=1")


def sign_out(page: Any) -> None:
    page.click("form.logout button[type=submit]")


# The assertion the page's authenticator makes for the options in the form, without sending it.
ASSERT = """() => {
  const f = (v) => Uint8Array.from(atob(v.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((v.length + 3) % 4)),
                                   c => c.charCodeAt(0)).buffer;
  const o = JSON.parse(document.getElementById('key-sign-in').getAttribute('data-options'));
  o.challenge = f(o.challenge);
  o.allowCredentials = o.allowCredentials.map(d => ({...d, id: f(d.id)}));
  return navigator.credentials.get({publicKey: o}).then(c => JSON.stringify(c.toJSON()));
}"""


def capture_assertion(page: Any) -> str:
    return page.evaluate(ASSERT)


def post_assertion(page: Any, credential: str) -> None:
    """Sends ``credential`` through the sign-in form, as if the authenticator had made it now."""
    page.eval_on_selector("#key-sign-in input[name=credential]", "(el, v) => { el.value = v; }", credential)
    # Waits for the navigation the submit starts: wait_for_load_state alone returns at once when
    # the page being left is already loaded, and the test then reads the old page.
    with page.expect_navigation():
        page.eval_on_selector("#key-sign-in", "f => f.submit()")


def events(balise: Balise, event_type: str) -> list[dict[str, Any]]:
    with balise.db.sessions() as session:
        return [details or {} for (details,) in session.execute(
            select(AuditRecord.details).where(AuditRecord.event_type == event_type).order_by(AuditRecord.seq))]


def new_user(balise: Balise, username: str, role: str) -> None:
    make_user(balise, username, role, PASSWORD)


def authenticator_credentials(page: Any, cdp: Any, authenticator: str) -> list[dict[str, Any]]:
    """The credentials (with their private keys) the virtual authenticator holds, to give to
    another browser context's authenticator: the same key plugged into a second browser."""
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
