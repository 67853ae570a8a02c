"""Routing and takedown through the staff pages in real headless Chromium, against a real
`balise serve` running its jobs: an administrator configures a police partner, a liaison
officer sets a do-not-inform hold, an analyst forwards a reported URL, and the report page
shows the jurisdiction, the hosting, the notices delivered to a real SMTP server and the
takedown legs."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from tests.cli_support import run_cli
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server, wait_for
from tests.takedown_support import COMPLETE, GERMAN_UPLOAD_IP, demo_site, mailbox, reencoded, routing_overrides
from tests.test_workbench_in_chromium import PASSWORD, shot, sign_in


def run(env, *args, input=None):
    r = run_cli(env, *args, input=input)
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.mark.e2e
def test_configure_hold_forward_and_follow_the_takedown_in_chromium(tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium; `make test` installs it)"
    original = demo_image(808, (800, 600))
    with demo_site() as site, mailbox() as box:
        url = site.serve("/gallery/808.jpg", reencoded(original))
        env = clean_env(tmp_path / "data", BALISE_INDEX_REFRESH_SECONDS="0", BALISE_FETCH_ALLOW_NETWORKS="127.0.0.1/32",
                        BALISE_GEO_OVERRIDES_FILE=str(routing_overrides(tmp_path)), BALISE_CENTRE_COUNTRY="NL",
                        BALISE_CENTRE_NAME="DEMO Centre", BALISE_SMTP_URL=f"smtp://127.0.0.1:{box.port}",
                        BALISE_MAIL_FROM="DEMO Centre <centre@balise.example>")
        run(env, "db", "upgrade")
        run(env, "partner", "seed")
        run(env, "indicators", "add", "pdq", hash_image_bytes(original).pdq, "--kind", "known_csam",
            "--classification", '{"ncmec_category": "A1"}', "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1")
        key = re.search(r"(bal_\S+)", run(env, "org", "create", "DEMO Platform", "--kind", "provider", "--country",
                                          "FR")).group(1)
        for user, role in (("ada", "admin"), ("leo", "le-liaison"), ("ana", "analyst")):
            run(env, "user", "create", user, "--role", role, "--password-stdin", input=PASSWORD + "\n")
        with running_server(env) as (base, _):
            headers = {"Authorization": f"Bearer {key}"}
            report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "known_csam",
                      "service": {"type": "hosting", "url": "https://platform.example"},
                      "awareness": {"source": "own_motion"}, "content_removed": False,
                      "persons": [{"identifiers": [{"type": "ip", "value": GERMAN_UPLOAD_IP, "event": "upload"}]}],
                      "items": [{"kind": "url", "url": url}], **COMPLETE}
            rid = httpx.post(f"{base}/api/v1/reports", headers=headers, json=report).json()["id"]
            assert wait_for(lambda: httpx.get(f"{base}/api/v1/reports/{rid}", headers=headers)
                            .json()["items"][0]["matched"])

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})

                sign_in(page, base, env, "ada")
                page.goto(f"{base}/ui/partners?country=DE&kind=police")
                shot(page, "06-partners")
                row = page.locator("table tbody tr").first
                row.locator("summary").click()  # the change form is folded under the row
                row.locator("select[name=channel]").select_option("email")
                row.locator("input[name=endpoint]").fill("unit@police-de.example")
                row.locator("input[name=verified]").check()
                row.locator("button[type=submit]").click()
                page.wait_for_selector("p.ok")
                page.click("form.logout button")

                sign_in(page, base, env, "leo")
                page.goto(f"{base}/ui/holds?report={rid}")
                page.check("input[name=do_not_inform]")
                page.fill("input[name=authority]", "DEMO police unit")
                page.fill("input[name=until]", (datetime.now(timezone.utc) + timedelta(days=60)).strftime("%Y-%m-%d"))
                page.click("form.stack button[type=submit]")
                page.wait_for_selector("p.ok")
                assert "DEMO police unit" in page.inner_text("main")
                shot(page, "08-holds")
                page.click("form.logout button")

                sign_in(page, base, env, "ana")
                page.goto(f"{base}/ui/queue")
                page.click("table.queue button:has-text('Claim')")
                page.wait_for_url(re.compile(r".*/ui/reports/.*"))
                page.click("form.decide button[name=decision][value=forward]")
                page.wait_for_selector("p.ok")

                def delivered() -> bool:
                    page.goto(f"{base}/ui/reports/{rid}")
                    text = page.inner_text("#routing")
                    return text.count("sent") >= 3

                assert wait_for(delivered, seconds=60), page.inner_text("main")
                panel = page.inner_text("#routing")
                assert "DE" in panel and "high" in panel and "abuse@demo-hosting.example" in panel
                assert "DEMO police unit" in panel and "notified, checking removal" in panel
                page.locator("#routing").scroll_into_view_if_needed()
                shot(page, "07-routing")
                browser.close()
            status = httpx.get(f"{base}/api/v1/reports/{rid}", headers=headers).json()

        recipients = sorted(r[0] for r in box.recipients)
        assert recipients == ["abuse@demo-hosting.example", "unit@police-de.example"]
        host = next(m for m, r in zip(box.messages, box.recipients) if r == ["abuse@demo-hosting.example"])
        assert "user" not in host.get_payload(decode=True).decode().lower()  # the do-not-inform hold
        assert status["state"] == "forwarded_europol_and_state"
        assert status["instructions"]["do_not_inform_user_until"] and status["instructions"]["do_not_remove_until"] is None
        assert json.dumps(status).count("DEMO police unit") == 0
