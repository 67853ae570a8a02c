"""`balise transparency build` writes the report's HTML, PDF (valid, fonts embedded, nothing
fetched), CSV tables and SVG charts, and records one audit event; every bad argument gets a
precise error, a non-zero exit, and nothing written (no file, no audit event)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from balise.web.public.i18n import LOCALES
from balise.adapters.db.models import AuditRecord
from balise.container import Balise
from tests import transparency_support as data
from tests.cli_support import run_cli


@pytest.fixture
def env(settings, tmp_path) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    clock = data.Clock(data.NOW)
    app = Balise(settings, clock=clock)
    data.seed(app, clock)
    app.close()
    yield {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(tmp_path / "data"),
           "BALISE_DATABASE_URL": settings.database_url}


def _events(env: dict[str, str], kind: str) -> int:
    from balise.settings import Settings

    app = Balise(Settings(env="development", database_url=env["BALISE_DATABASE_URL"],
                          data_dir=Path(env["BALISE_DATA_DIR"])))
    try:
        with app.db.sessions() as session:
            return int(session.execute(select(func.count()).select_from(AuditRecord)
                                       .where(AuditRecord.event_type == kind)).scalar_one())
    finally:
        app.close()


def test_build_writes_html_pdf_csv_and_charts(env, tmp_path):
    out = tmp_path / "report"
    result = run_cli(env, "transparency", "build", "--year", "2026", "--out", str(out), "--lang", "fr")
    assert result.returncode == 0, result.stderr
    html = (out / "transparency-2026-fr.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html and "Rapport de transparence 2026" in html and "moins de 10" in html
    # Self-contained: nothing for a browser (or the PDF printer) to fetch.
    assert 'href="http' not in html and 'src="http' not in html and "<link" not in html

    pdf = PdfReader(io.BytesIO((out / "transparency-2026-fr.pdf").read_bytes()))
    assert len(pdf.pages) >= 3
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Rapport de transparence 2026" in text and "Signalements reçus" in text
    fonts = {}
    for page in pdf.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts and all(fonts.values()), fonts

    rows = list(csv.reader(io.StringIO((out / "csv" / "reports_by_provider.csv").read_text(encoding="utf-8"))))
    assert rows[0] == ["source", "provider", "reports"]
    assert ["provider_api", "Provider A", "12"] in rows
    assert ["provider_api", "Provider B", "fewer than 10"] in rows
    assert ["public_form", "not_known", "withheld (protects a smaller figure)"] in rows
    removal = list(csv.DictReader(io.StringIO((out / "csv" / "removal_by_route.csv").read_text(encoding="utf-8"))))
    assert removal == [{"route": "host_notice", "notified": "12", "removed": "11", "median_hours": "7.0",
                        "within_2.5d": "91.7", "within_3d": "91.7", "within_7d": "91.7"}]
    assert (out / "csv" / "victims_assisted.csv").read_bytes() == b"assistance,victims\r\n"

    svg = (out / "charts" / "reports_forwarded_by_state.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "<title>Signalements transmis, par État membre</title>" in svg
    assert "<script" not in svg and "http://kozea" not in svg
    assert _events(env, "transparency:build") == 1


@pytest.mark.parametrize(("args", "message"), [
    (("--year", str(datetime.now(UTC).year + 1)), "is in the future"),
    (("--year", "2024"), "is before this installation's first recorded event (2025-03-01)"),
    (("--year", "twenty"), "the year must be four digits, such as 2026 (got 'twenty')"),
    (("--year", "2026", "--lang", "ja"), "--lang must be one of " + ", ".join(LOCALES) + " (got 'ja')"),
])
def test_bad_arguments_are_refused_and_nothing_is_written(env, tmp_path, args, message):
    out = tmp_path / "report"
    result = run_cli(env, "transparency", "build", "--out", str(out), *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert not out.exists()
    assert _events(env, "transparency:build") == 0


def test_an_out_that_is_a_file_is_refused_and_left_as_it_was(env, tmp_path):
    out = tmp_path / "report.pdf"
    out.write_bytes(b"mine")
    result = run_cli(env, "transparency", "build", "--year", "2026", "--out", str(out))
    assert result.returncode == 1
    assert f"--out {out} is a file, not a directory" in result.stderr
    assert out.read_bytes() == b"mine" and not any(p.name.startswith("transparency-") for p in tmp_path.rglob("*"))
    assert _events(env, "transparency:build") == 0
