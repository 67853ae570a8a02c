"""The one assessment screen in real headless Chromium, in English and in French: the queue,
the report page and the item's panel a save puts in place show every code as words (states,
report types, how the provider became aware, outcomes, classification categories, flags,
Directive elements, priority reasons), booleans as yes/no, the deadline as "due in …" and the
priority as a band with its reasons; never a raw code, True/False/None or a Python repr."""

from __future__ import annotations

import re

import pytest

from tests.assessment_support import file_report, sign_in, workbench
from tests.page_words import check_words
from tests.servers import CHROMIUM, CHROMIUM_ARGS

CODES = ("own_motion", "user_flag", "in_assessment", "new_csam", "known_csam", "suspend", "not_illegal",
         "cannot_assess", "new_material", "very_high", "provider_api", "drawing_cgi", "2c_iii", "check_file",
         "ncmec_category", "uk_category", "youngest_age_band", "imminent_threat", "hash_only", "low_quality")
WORDS = {
    "en": {"queue": ("due in", "URGENT"),
           "report": ("due in", "Priority: urgent", "imminent threat to a child's life or safety",
                      "its own initiative", "yes", "no", "new child sexual abuse material"),
           "panel": ("illegal", "drawing or computer-generated", "Art. 2(c)(iii): a person appearing to be a child",
                     "UK: B: non-penetrative sexual activity")},
    "fr": {"queue": ("échéance dans",),
           "report": ("échéance dans", "Priorité", "urgente", "sa propre initiative", "oui", "non"),
           "panel": ("illégal",)},
}


@pytest.mark.e2e
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_queue_report_and_saved_panel_show_words_in_both_languages(tmp_path, db_url):
    from playwright.sync_api import sync_playwright

    with workbench(tmp_path, db_url) as (base, key, env):
        reports = {language: file_report(base, key, pictures=1, seed=seed, imminent_threat=True)
                   for language, seed in (("en", 9100), ("fr", 9200))}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, base, env)
            for language, rid in reports.items():
                if language == "fr":
                    page.goto(f"{base}/ui/settings")
                    page.select_option("#locale", "fr")
                    page.click("form.card button[type=submit]")
                    page.wait_for_selector("p.ok")
                page.goto(f"{base}/ui/queue")
                text = " ".join(check_words(page.content(), f"queue ({language})", CODES).split())
                for word in WORDS[language]["queue"]:
                    assert word in text, f"queue ({language}) lacks {word!r}"
                page.click(f"tr[data-report='{rid}'] button.claim")
                page.wait_for_url(re.compile(rf".*/ui/reports/{rid}.*"))
                text = " ".join(check_words(page.content(), f"report ({language})", CODES).split())
                for word in WORDS[language]["report"]:
                    assert word in text, f"report ({language}) lacks {word!r}"

                page.click("article#item-1 form.classify details summary")
                page.check("article#item-1 input[name=flags][value=drawing_cgi]")
                page.check("article#item-1 input[name=directive_2011_93][value='2c_iii']")
                page.select_option("article#item-1 select[name=uk_category]", "B")
                page.click("article#item-1 button[name=outcome][value=illegal]")
                page.wait_for_selector("article#item-1 .item-assess p.ok")
                panel = page.inner_html("article#item-1 .item-assess")
                text = " ".join(check_words(panel, f"saved panel ({language})", CODES).split())
                for word in WORDS[language]["panel"]:
                    assert word in text, f"saved panel ({language}) lacks {word!r}"
                check_words(page.content(), f"report after the save ({language})", CODES)
            browser.close()
