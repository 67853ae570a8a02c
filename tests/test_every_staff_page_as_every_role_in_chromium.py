"""Every staff page, as every role, in real headless Chromium, with the DEMO data: no page may
show a Python repr, a raw code of a domain enum, True/False/None, scroll sideways at 1280 px,
log a console error, or let the browser receive an item's stored bytes (nothing is revealed
in this walk, so no response may carry them).

The pages are discovered from the application's routes: a new GET page under /ui is walked
without touching this file, and a route that is neither walked nor listed in NOT_PAGES (with
why) fails the test. One user per role (the DEMO users), one browser, pages in sequence.

With BALISE_SCREENSHOTS_DIR set, each page is saved as the first role allowed to see it sees
it (docs/screenshots), and the home page as each role sees theirs (11-home-<role>).
"""

from __future__ import annotations

import enum
import hashlib
import importlib
import os
import pkgutil
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

import balise.domain
from balise.adapters.db.models import Indicator, Item, Order, Organisation, Report, User
from balise.container import Balise
from balise.demo import DEMO_PASSWORD, DEMO_USERS, seed
from balise.domain.model import Role
from balise.web.app import create_app, create_fastapi
from tests.conftest import make_settings
from tests.page_words import REPRS
from tests.servers import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for

SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")
WIDTH = 1280
# Walked in this order; a page's screenshot is taken as the first role that may see it.
ROLES = (Role.ANALYST, Role.SENIOR_ANALYST, Role.ADMIN, Role.AUDITOR, Role.LE_LIAISON)
# GET routes under /ui that are not pages, and why they are not walked as such.
NOT_PAGES = {
    "/ui/items/{item_id}/media": "a blurred derivative (PNG): loaded, and checked, by the report page",
    "/ui/candidates/items/{item_id}/media": "a blurred derivative (PNG): loaded, and checked, by the four-eyes page",
    "/ui/items/{item_id}/reveal/{token}": "a reveal's single-use answer: never opened without a reveal",
    "/ui/audit.csv": "a CSV download of the audit page's view (tests/test_audit_page_filters_pages_and_exports_csv.py)",
    "/ui/enrol/{token}": "opened signed out from a single-use enrolment link; walked by "
                         "test_staff_accounts_page_in_chromium.py",
}
# Screenshot names kept from earlier walks (docs link to them); other pages get walk-<name>.
SHOT_NAMES = {"/ui/login": "01-sign-in", "/ui/queue": "02-queue", "/ui/reports/{report_id}": "03-report",
              "/ui/candidates": "05-candidates", "/ui/partners": "06-partners", "/ui/holds": "08-holds",
              "/ui/": "11-home", "/ui/clocks": "12-clocks", "/ui/audit": "13-audit",
              "/ui/organisations": "14-organisations", "/ui/settings": "15-settings", "/ui/wellness": "16-wellness",
              "/ui/users": "18-staff-accounts-demo", "/ui/organisations/{org_id}": "20-organisation-demo"}
# Enums whose values a page may show as they are: none (the audit page and the auditor's home
# show the audit trail's event types in words too, web/ui/labels.py).
SHOWN_AS_CODES: set[type] = set()


def domain_codes() -> set[str]:
    """The values of the domain's enums that cannot pass for words (they hold _ or - or :)."""
    codes: set[str] = set()
    for module in pkgutil.iter_modules(balise.domain.__path__):
        loaded = importlib.import_module(f"balise.domain.{module.name}")
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == loaded.__name__ \
                    and value not in SHOWN_AS_CODES:
                codes |= {str(member.value) for member in value if re.search(r"[_:-]", str(member.value))}
    return codes


def ui_get_routes(balise: Balise) -> set[str]:
    def walk(routes: Any) -> Iterator[Any]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes)
            else:
                yield route

    return {r.path for r in walk(create_fastapi(balise).routes)
            if "GET" in (getattr(r, "methods", None) or ()) and r.path.startswith("/ui")}


def stored_digests(balise: Balise) -> set[str]:
    with balise.db.sessions() as s:
        return {v for v in s.execute(select(Item.vault_object)).scalars() if v}


@pytest.fixture
def demo(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Balise, str, dict[str, str]]]:
    # SQLite only: the pages read through the same services on both databases, and those are
    # tested on PostgreSQL elsewhere; this walk is about what a browser is shown.
    database = tmp_path / "balise.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    balise = Balise(make_settings(tmp_path, f"sqlite:///{database}", reveal_daily_cap=40))
    seed(balise)
    assert {role for _, role in DEMO_USERS} == set(Role), "the DEMO data has one user per role"
    with balise.db.transaction() as session:
        # One active DEMO user per role walks the pages (the DEMO data also holds a disabled one).
        users = {u.role: u for u in session.execute(select(User).where(User.active.is_(True))).scalars()}
        analyst = users[Role.ANALYST.value]
        report = session.execute(select(Report).order_by(Report.urgent.desc(), Report.created_at)).scalars().first()
        # The analyst works on the first report: claimed, its picture classified (so four eyes
        # has an item waiting for the senior analyst).
        balise.assessment.claim(session, analyst, report.id)
        picture = next(i for i in report.items if i.kind == "media")
        balise.assessment.classify(session, analyst, picture.id, revision=picture.revision, outcome="illegal",
                                   classification={"ncmec_category": "A1", "directive_2011_93": ["2c_iii"],
                                                   "flags": ["drawing_cgi"]}, note="DEMO assessment")
        report_id = str(report.id)
        order_id = str(session.execute(select(Order.id).where(Order.kind == "removal")).scalar_one())
        # An indicator born of a DEMO submission, for its provenance page.
        indicator_id = str(session.execute(select(Indicator.id).where(Indicator.submission_id.is_not(None))
                                           .order_by(Indicator.id)).scalars().first())
        org_id = str(session.execute(select(Organisation.id).order_by(Organisation.name)).scalars().first())
        secrets = {u.role: u.username for u in users.values()}
    app = create_app(balise)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30), "the server did not start"
    try:
        yield balise, f"http://127.0.0.1:{port}", {"report_id": report_id, "order_id": order_id, "indicator_id": indicator_id,
                                                    "ref": "S-000001", "org_id": org_id,
                                                    **{f"user:{k}": v for k, v in secrets.items()}}
    finally:
        server.should_exit = True
        thread.join(30)
        balise.close()


class Findings:
    def __init__(self, codes: set[str], stored: set[str]) -> None:
        self.codes = codes
        self.stored = stored
        self.problems: list[str] = []
        self.console: list[tuple[str, str]] = []  # (message, the URL it is about)

    def page(self, page: Any, where: str, status: int = 200) -> None:
        # A refused page's own 403 is what the browser logs for it: that one is expected.
        self.console = [(text, url) for text, url in self.console
                        if not (status == 403 and url == page.url and "403" in text)]
        html = page.content()
        for repr_ in REPRS:
            if repr_ in html:
                self.problems.append(f"{where}: Python repr {repr_!r}")
        text = page.inner_text("body")
        for word in ("True", "False", "None"):
            if re.search(rf"\b{word}\b", text):
                self.problems.append(f"{where}: {word}")
        shown = sorted(c for c in self.codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text))
        if shown:
            self.problems.append(f"{where}: raw codes {shown}")
        wide = page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
        if wide[0] > wide[1]:
            self.problems.append(f"{where}: {wide[0]} px wide in a {wide[1]} px window (scrolls sideways)")
        if self.console:
            self.problems.append(f"{where}: console errors {[text for text, _ in self.console]}")
            self.console = []

    def response(self, response: Any) -> None:
        if "/reveal/" in response.url:
            self.problems.append(f"{response.url}: a reveal in a walk that revealed nothing")
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - redirects and aborted loads have no body
            return
        if hashlib.sha256(body).hexdigest() in self.stored:
            self.problems.append(f"{response.url}: carried an item's stored bytes")


def sign_in(page: Any, base: str, balise: Balise, username: str, findings: Findings) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/login/totp")
    findings.page(page, f"{username} /ui/login/totp")
    with balise.db.sessions() as session:
        code = balise.users.current_totp(balise.users.get(session, username))
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")


@pytest.mark.e2e
def test_every_staff_page_as_every_role_shows_words_fits_and_never_the_stored_bytes(demo):
    from playwright.sync_api import sync_playwright

    balise, base, ids = demo
    routes = ui_get_routes(balise)
    pages = sorted(routes - set(NOT_PAGES))
    assert set(NOT_PAGES) <= routes, f"NOT_PAGES names routes that no longer exist: {set(NOT_PAGES) - routes}"
    findings = Findings(domain_codes(), stored_digests(balise))
    assert findings.stored, "no stored item: the bytes check would prove nothing"
    seen_by: dict[str, list[str]] = {p: [] for p in pages}
    shot_taken: set[str] = set()

    def url_of(template: str) -> str:
        path = template
        for name in re.findall(r"{(\w+)}", template):
            assert name in ids, f"{template}: no value for {{{name}}}; give the walk one"
            path = path.replace(f"{{{name}}}", ids[name])
        return base + path

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        anonymous = browser.new_page(viewport={"width": WIDTH, "height": 900})
        anonymous.on("response", findings.response)
        anonymous.on("console", lambda m: m.type == "error" and findings.console.append((m.text, m.location.get("url", ""))))
        anonymous.on("pageerror", lambda e: findings.console.append((str(e), "")))
        anonymous.goto(f"{base}/ui/login", wait_until="networkidle")
        findings.page(anonymous, "anonymous /ui/login")
        if SHOTS:
            anonymous.screenshot(path=str(Path(SHOTS) / f"{SHOT_NAMES['/ui/login']}.png"))
        shot_taken.add("/ui/login")
        anonymous.close()
        for role in ROLES:
            username = ids[f"user:{role.value}"]
            context = browser.new_context(viewport={"width": WIDTH, "height": 900})
            page = context.new_page()
            page.on("response", findings.response)
            page.on("console", lambda m: m.type == "error" and findings.console.append((m.text, m.location.get("url", ""))))
            page.on("pageerror", lambda e: findings.console.append((str(e), "")))
            sign_in(page, base, balise, username, findings)
            for template in pages:
                if template.startswith("/ui/login"):
                    continue  # walked while signing in
                response = page.goto(url_of(template), wait_until="networkidle")
                assert response is not None
                where = f"{role.value} {template}"
                if response.status not in (200, 403):
                    findings.problems.append(f"{where}: HTTP {response.status}")
                    continue
                findings.page(page, where, response.status)
                if response.status == 200:
                    seen_by[template].append(role.value)
                    if template == "/ui/" and SHOTS:  # each role has its own home page
                        page.screenshot(path=str(Path(SHOTS) / f"11-home-{role.value}.png"), full_page=True)
                    if template not in shot_taken:
                        shot_taken.add(template)
                        if SHOTS:
                            name = SHOT_NAMES.get(template, "walk-" + re.sub(r"\W+", "-", template.strip("/")))
                            page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
            context.close()
        browser.close()
    assert not findings.problems, "\n".join(findings.problems)
    unseen = [p for p, roles in seen_by.items() if not roles and not p.startswith("/ui/login")]
    assert not unseen, f"pages no role could open: {unseen}"
