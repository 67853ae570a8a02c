"""In real headless Chromium against a real `balise serve`, an analyst opens the queue and a
report (a DEMO picture, a sample video, an HTML file and a URL), in English then in French.
The test fails on any Python repr (`object at 0x`, `<built-in`, `{'`), any True/False, and
any response that carries an item's stored bytes while nothing was revealed."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import httpx
import pytest

from balise.demo import demo_image
from tests.cli_support import run_cli
from tests.exposure_support import HTML, sample_video
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server, wait_for

PASSWORD = "a long enough password"
COMPLETE = {"signature": "DEMO-SIG", "provider": {"contact_point": {"email": "ts@provider.demo.invalid"}},
            "user_decision": "suspend", "reported_elsewhere": {"reported": False}}
REPRS = ("object at 0x", "<built-in", "{'", "<bound method")
SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")


def run(env, *args, input=None):
    r = run_cli(env, *args, input=input)
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture
def server(tmp_path):
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium)"
    env = clean_env(tmp_path / "data")
    run(env, "db", "upgrade")
    key = re.search(r"(bal_\S+)", run(env, "org", "create", "DEMO Platform", "--kind", "provider", "--country", "FR",
                                      "--scope", "reports:write", "--scope", "reports:read")).group(1)
    run(env, "user", "create", "ana", "--role", "analyst", "--password-stdin", input=PASSWORD + "\n")
    with running_server(env) as (base, _):
        yield base, key, env


def file_report(base, key, files) -> str:
    report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "new_csam", "service": {"type": "hosting"},
              "awareness": {"source": "own_motion"}, "content_removed": True, "urgent": True,
              "additional_info": "DEMO report: benign stand-ins only.",
              "items": [{"kind": "media", "file": f"f{i}"} for i in range(len(files))]
              + [{"kind": "url", "url": "https://provider.demo.invalid/media/1.jpg"}], **COMPLETE}
    r = httpx.post(f"{base}/api/v1/reports", headers={"Authorization": f"Bearer {key}"},
                   data={"report": json.dumps(report)},
                   files=[(f"f{i}", (name, data, declared)) for i, (name, data, declared) in enumerate(files)])
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert wait_for(lambda: httpx.get(f"{base}/api/v1/reports/{rid}", headers={"Authorization": f"Bearer {key}"})
                    .json()["state"] == "in_assessment")
    return rid


def check_text(text: str, where: str) -> None:
    for word in ("True", "False"):
        assert not re.search(rf"\b{word}\b", text), f"{where} shows {word}"


def check_html(html: str, where: str) -> None:
    for repr_ in REPRS:
        assert repr_ not in html, f"{where} shows a Python repr {repr_!r}"


@pytest.mark.e2e
def test_queue_and_report_show_words_and_never_the_stored_bytes(server):
    from playwright.sync_api import sync_playwright

    base, key, env = server
    files = [("demo.jpg", demo_image(4343, (800, 600)), "image/jpeg"), ("clip.mp4", sample_video(), "video/mp4"),
             ("page.html", HTML, "text/html")]
    stored = [data for _, data, _ in files]
    stored_digests = {hashlib.sha256(data).hexdigest() for data in stored}
    report_id = file_report(base, key, files)
    seen: list[tuple[str, int, bytes]] = []

    def record(response) -> None:
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - redirects have no body
            body = None
        seen.append((response.url, response.status, body))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("response", record)
        page.goto(f"{base}/ui/login")
        page.fill("#username", "ana")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/ui/login/totp")
        page.fill("#code", run(env, "user", "totp-code", "ana").strip())
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/ui/")

        for language in ("en", "fr"):
            if language == "fr":
                page.goto(f"{base}/ui/settings")
                page.select_option("#locale", "fr")
                page.click("form.card button[type=submit]")
                page.wait_for_selector("p.ok")
            page.goto(f"{base}/ui/queue")
            check_html(page.content(), f"queue ({language})")
            check_text(page.inner_text("main"), f"queue ({language})")
            assert re.search(r"\b4 / 4\b", page.inner_text("table.queue"))  # items to assess / items
            if language == "en":
                page.click("table.queue button:has-text('Claim')")
                page.wait_for_url(re.compile(r".*/ui/reports/.*"))
            else:
                page.goto(f"{base}/ui/reports/{report_id}")
            derivatives = page.query_selector_all("figure.media img.derivative")
            assert len(derivatives) == 2  # the picture and the video; the HTML file is a placeholder
            assert wait_for(lambda: all(d.evaluate("img => img.complete && img.naturalWidth > 0") for d in derivatives))
            check_html(page.content(), f"report ({language})")
            text = page.inner_text("main")
            check_text(text, f"report ({language})")
            assert ("its own initiative" if language == "en" else "sa propre initiative") in text
            assert page.query_selector("div.placeholder.unsafe") is not None
            if SHOTS and language == "en":
                for n, name in ((2, "09-video-contact-sheet"), (3, "10-placeholder")):
                    page.eval_on_selector(f"article.item:nth-of-type({n})", "el => el.scrollIntoView({block: 'start'})")
                    page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))

        media = [(url, status) for url, status, _ in seen if "/media" in url]
        assert len(media) == 4 and all(status == 200 for _, status in media)  # two derivatives, twice
        assert not [url for url, _, _ in seen if "/reveal/" in url]  # nothing was revealed
        for url, status, body in seen:
            # Redirects, and a 304 for a static file the browser revalidates (one changed
            # seconds ago is fresh for no time), have no body.
            if status in (301, 302, 303, 304, 307, 308):
                continue
            assert body, f"no body recorded for {url}: the check below would prove nothing"
            assert hashlib.sha256(body).hexdigest() not in stored_digests, f"{url} carried an item's stored bytes"
            for data in stored:
                assert data[:256] not in body, f"{url} carried part of an item's stored bytes"
        # And on the server's side: nothing was decrypted for the analyst but blurred previews.
        assert staff_reads(env) == []

        # Then a reveal of the video: recorded first, fetched once, played muted from memory.
        seen.clear()
        video = page.query_selector("figure.media[data-view=video]")
        video.query_selector("select.purpose").select_option("classify")
        video.query_selector("button.reveal").click()
        page.wait_for_selector("figure.media.revealed video.unblurred")
        assert wait_for(lambda: page.eval_on_selector("video.unblurred", "v => v.readyState >= 1 && v.muted && v.hasAttribute('muted')"))
        assert [(url.split("/")[-2], status) for url, status, _ in seen if "/reveal/" in url] == [("reveal", 200)]
        browser.close()
    assert staff_reads(env) == ["classify the item"]  # the one reveal, with its purpose


def staff_reads(env) -> list[str]:
    """The purposes of the media:read events of staff, from the server's database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{Path(env['BALISE_DATA_DIR']) / 'balise.sqlite3'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT purpose FROM audit_events WHERE event_type = 'media:read' "
                                          "AND actor_type = 'staff' ORDER BY seq")).scalars())
    finally:
        engine.dispose()
