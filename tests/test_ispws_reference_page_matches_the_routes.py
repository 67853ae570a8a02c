"""docs/ncmec-api.md is the reference of /ispws: its endpoint and response-code tables are
generated from balise.web.ispws.reference, whose endpoints are exactly the routes the
application serves and whose codes are every code Balise answers, each with its HTTP status."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from starlette.routing import Route

from balise.domain.ispws import HTTP_STATUS, Code
from balise.web.ispws import PREFIX, create_ispws_app
from balise.web.ispws.reference import CODES, ENDPOINTS, SECTIONS, begin, end, render

PAGE = Path(__file__).resolve().parents[1] / "docs" / "ncmec-api.md"
FIX = "regenerate with: python -m balise.web.ispws.reference docs/ncmec-api.md"


def _served_routes() -> set[tuple[str, str]]:
    settings = SimpleNamespace(ispws_rate_limit="10/minute", rate_limit_storage="memory://",
                               ispws_auth_failure_limit="10/minute")
    app = create_ispws_app(SimpleNamespace(settings=settings)).app
    served = set()
    for route in app.routes:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET route
                served.add((method, route.path))
    return served


def test_the_documented_endpoints_are_the_served_routes():
    documented = {(e.method, PREFIX + e.path) for e in ENDPOINTS}
    assert documented == _served_routes()


def test_every_response_code_is_documented_with_the_status_it_is_sent_with():
    assert set(CODES) == set(Code)
    for code, use in CODES.items():
        assert str(HTTP_STATUS[code]) in use.statuses, code


def test_the_page_holds_the_tables_as_generated():
    page = PAGE.read_text(encoding="utf-8")
    assert render(page) == page, FIX
    for name, make in SECTIONS.items():
        assert f"{begin(name)}\n{make()}\n{end(name)}" in page
