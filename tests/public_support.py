"""Helpers for the public reporting form tests."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from balise.adapters.db.models import PublicReport, Report


def token(html: str) -> str:
    match = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def submit(client: Any, lang: str = "en", **fields: str) -> Any:
    page = client.get(f"/report/{lang}")
    assert page.status_code == 200
    return client.post(f"/report/{lang}", data={"csrftoken": token(page.text), **fields})


def receipt(html: str) -> tuple[str, str]:
    number = re.search(r'id="report-number">([^<]+)<', html)
    secret = re.search(r'id="report-secret">([^<]+)<', html)
    assert number and secret, html
    return number.group(1), secret.group(1)


def lookup(client: Any, number: str, secret: str, lang: str = "en") -> Any:
    page = client.get(f"/report/{lang}/status")
    return client.post(f"/report/{lang}/status", data={"csrftoken": token(page.text), "number": number, "secret": secret})


def status_text(html: str) -> str | None:
    match = re.search(r'id="report-status">([^<]+)<', html)
    return match.group(1) if match else None


def add_token(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, "no add-information form"
    return match.group(1)


def stored(balise: Any, number: str) -> tuple[PublicReport, Report]:
    with balise.db.sessions() as session:
        row = session.execute(select(PublicReport).where(PublicReport.number == number)).scalar_one()
        report = session.get(Report, row.report_id)
        assert report is not None
        report.items  # noqa: B018 - load before the session closes
        return row, report


def field_error(html: str, field: str) -> str:
    """The error message tied to a field through aria-describedby."""
    control = re.search(rf'<(?:input|textarea)[^>]*\bid="{field}"[^>]*>', html, re.S)
    assert control, f"no control {field}"
    described = re.search(r'aria-describedby="([^"]+)"', control.group(0))
    assert described and f"{field}-error" in described.group(1).split(), control.group(0)
    assert 'aria-invalid="true"' in control.group(0)
    message = re.search(rf'id="{field}-error">([^<]+)<', html)
    assert message, f"no error element for {field}"
    return message.group(1)
