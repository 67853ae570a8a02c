"""Accessibility of the public reporting pages, measured in real headless Chromium against a
real `balise serve`, in English, French and German, on the form, the confirmation ("done"),
the status lookup, the status result and the "please wait" (429) page:

* Tab reaches every control in document order, never jumps back up the page, and each focused
  control shows an indicator (outline or box-shadow) that differs from its unfocused look and
  stands out at 3:1 from what is around it; the skip link becomes visible and moves focus to
  the content;
* every visible form control has a programmatic label with text (label[for], aria-labelledby);
* `<html lang>` is the page's language;
* every visible text, in each state measured, has a WCAG 2.x contrast ratio of at least 4.5:1
  (3:1 for large text) against its effective background, computed from getComputedStyle;
* the form can be completed and sent with the keyboard only;
* a submission without the required fields shows an error summary in the page's language
  whose links move focus to the fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from balise.web.public import i18n
from tests.cli_support import run_cli
from tests.servers import CHROMIUM, CHROMIUM_ARGS, clean_env, running_server

LANGS = ("en", "fr", "de")
PAGES = ("form", "done", "status", "result", "limited")
NUMBER_LIMIT = 3


def tr(lang: str, message: str, **values: Any) -> str:
    translated = i18n.translations(lang).gettext(message)
    return translated % values if values else translated


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium; `make test` installs it)"
    data = tmp_path_factory.mktemp("a11y") / "data"
    # A low per-number limit reaches the 429 page; the other limits stay out of the way.
    env = clean_env(data, BALISE_INDEX_REFRESH_SECONDS="0", BALISE_PUBLIC_REPORT_RATE_LIMIT="1000/hour",
                    BALISE_PUBLIC_STATUS_RATE_LIMIT="1000/hour",
                    BALISE_PUBLIC_NUMBER_RATE_LIMIT=f"{NUMBER_LIMIT}/hour")
    r = run_cli(env, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    with running_server(env) as (base, _):
        yield base, data


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(server[0]) else None)
    yield page
    context.close()
    assert outside == []


# -- getting to each page ------------------------------------------------------------------

_limited_numbers = iter(f"BAL-{a}{b}00-0000" for a in "0123456789ABCDEFGH" for b in "0123456789")


def send_report(page, base: str, lang: str) -> tuple[str, str]:
    page.goto(f"{base}/report/{lang}")
    page.fill("#url", f"https://benign.example.test/a11y/{lang}")
    page.fill("#description", "DEMO: a page with <b>odd</b> pictures.")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("#report-number")
    return page.inner_text("#report-number"), page.inner_text("#report-secret")


def look_up(page, base: str, lang: str, number: str, secret: str) -> None:
    page.goto(f"{base}/report/{lang}/status")
    page.fill("#number", number)
    page.fill("#secret", secret)
    with page.expect_navigation():
        page.click("button[type=submit]")


def open_page(page, base: str, lang: str, which: str) -> None:
    if which == "form":
        page.goto(f"{base}/report/{lang}")
    elif which == "done":
        send_report(page, base, lang)
    elif which == "status":
        page.goto(f"{base}/report/{lang}/status")
    elif which == "result":
        number, secret = send_report(page, base, lang)
        look_up(page, base, lang, number, secret)
        page.wait_for_selector("#report-status")
    else:
        number = next(_limited_numbers)  # a number of its own: its budget is this test's
        for _ in range(NUMBER_LIMIT + 1):
            look_up(page, base, lang, number, "WRONG-WRONG-WRONG-WRONG")
        assert page.inner_text("h1") == tr(lang, "Please wait a little")


# -- measurements in the page ----------------------------------------------------------------

JS_COLOURS = r"""
const parse = (value) => {
  const m = value.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
  return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
};
const over = (top, bottom) => {
  const a = top.a + bottom.a * (1 - top.a);
  const mix = (t, b) => (t * top.a + b * bottom.a * (1 - top.a)) / a;
  return {r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a};
};
const background = (el) => {
  // The colours painted behind el, from el up to the first opaque one (the canvas is white).
  const layers = [];
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.backgroundImage !== 'none') return {image: true};
    const colour = parse(style.backgroundColor);
    if (colour && colour.a > 0) { layers.push(colour); if (colour.a >= 1) break; }
  }
  let result = {r: 255, g: 255, b: 255, a: 1};
  for (const layer of layers.reverse()) result = over(layer, result);
  return result;
};
const luminance = (c) => {
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
};
const ratio = (a, b) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};
const visible = (el) => {
  const style = getComputedStyle(el);
  if (style.visibility === 'hidden' || style.display === 'none') return false;
  for (let node = el; node; node = node.parentElement) if (getComputedStyle(node).opacity === '0') return false;
  const rect = el.getBoundingClientRect();
  return rect.width > 0 && rect.height > 0 && rect.right + scrollX > 0 && rect.bottom + scrollY > 0;
};
const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
  (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\s+/g, '.') : '') +
  ' "' + (el.innerText || el.value || '').trim().slice(0, 40) + '"';
const contrastOf = (el) => {
  const style = getComputedStyle(el);
  const bg = background(el);
  if (bg.image) return {el: describe(el), problem: 'text on a background image cannot be measured'};
  const fg = over(parse(style.color), bg);
  const size = parseFloat(style.fontSize), weight = parseInt(style.fontWeight, 10);
  const large = size >= 24 || (size >= 18.66 && weight >= 700);
  return {el: describe(el), ratio: ratio(fg, bg), large, needed: large ? 3 : 4.5};
};
"""

JS_CONTRAST = JS_COLOURS + r"""
(() => {
  const results = [];
  for (const el of document.body.querySelectorAll('*')) {
    const ownText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const control = el.matches('input:not([type=hidden]):not([type=radio]):not([type=checkbox]), textarea, button');
    if ((ownText || control) && visible(el)) results.push(contrastOf(el));
  }
  return results;
})()
"""

JS_LABELS = r"""
(() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&
    getComputedStyle(el).visibility !== 'hidden'; };
  const out = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), textarea, select, button')) {
    if (!visible(el)) continue;
    let name = '';
    if (el.getAttribute('aria-labelledby'))
      name = el.getAttribute('aria-labelledby').split(/\s+/).map(id => (document.getElementById(id) || {}).textContent || '').join(' ');
    if (!name.trim() && el.labels) name = [...el.labels].map(l => l.textContent).join(' ');
    if (!name.trim() && el.tagName === 'BUTTON') name = el.textContent;
    out.push({control: el.tagName.toLowerCase() + '#' + (el.id || el.name || ''), name: name.trim()});
  }
  return out;
})()
"""

JS_TABBABLE = r"""
(() => {
  const selector = 'a[href], summary, button:not([disabled]), input:not([type=hidden]):not([disabled]), ' +
                   'textarea:not([disabled]), select:not([disabled]), [tabindex]';
  const all = [...document.querySelectorAll(selector)].filter(e => e.tabIndex >= 0);
  const positive = all.filter(e => e.tabIndex > 0).length;
  // Links inside a closed disclosure (the language list) are not tab stops until it opens.
  const folded = e => { const d = e.closest('details:not([open])');
    return d !== null && !(e.tagName === 'SUMMARY' && e.parentElement === d); };
  const shown = all.filter(e => e.classList.contains('skip') ||
    (e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' && !folded(e)));
  // One stop per radio group: its checked radio (or its first one).
  const groups = {};
  for (const e of shown) if (e.type === 'radio') (groups[e.name] = groups[e.name] || []).push(e);
  const stops = shown.filter(e => e.type !== 'radio' ||
    e === (groups[e.name].find(r => r.checked) || groups[e.name][0]));
  if (document.activeElement) document.activeElement.blur();
  stops.forEach((e, i) => { e.dataset.a11y = String(i); });
  const unfocused = stops.map(e => { const s = getComputedStyle(e);
    return {outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow}; });
  return {count: stops.length, positive, unfocused, names: stops.map(e => e.tagName + '#' + (e.id || e.textContent.trim().slice(0, 20)))};
})()
"""

JS_FOCUSED = JS_COLOURS + r"""
(() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  const rect = el.getBoundingClientRect();
  const around = background(el.parentElement);
  const colours = [];
  if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) colours.push(parse(s.outlineColor));
  for (const m of (s.boxShadow === 'none' ? [] : s.boxShadow.match(/rgba?\([^)]+\)/g) || [])) colours.push(parse(m));
  const indicator = colours.filter(c => c && c.a > 0).map(c => ratio(over(c, around), around));
  return {index: el.dataset ? el.dataset.a11y : undefined, tag: el.tagName,
          outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow,
          indicator: Math.max(0, ...indicator), top: rect.top + scrollY, left: rect.left + scrollX,
          inViewport: rect.left >= 0 && rect.top >= 0 && rect.right <= innerWidth && rect.bottom <= innerHeight,
          skip: el.classList ? el.classList.contains('skip') : false, contrast: contrastOf(el)};
})()
"""


def low_contrast(results: list[dict[str, Any]]) -> list[str]:
    found = []
    for r in results:
        if r.get("problem"):
            found.append(f"{r['el']}: {r['problem']}")
        elif r["ratio"] < r["needed"]:
            found.append(f"{r['el']}: {r['ratio']:.2f}:1 < {r['needed']}:1")
    return found


def check_tab_order_and_focus(page) -> int:
    """Tab through the page from the top; returns how many stops there were."""
    page.evaluate("window.scrollTo(0, 0)")
    found = page.evaluate(JS_TABBABLE)
    assert found["positive"] == 0, "a positive tabindex breaks the document order"
    assert found["count"] >= 5
    previous_top = None
    problems = []
    for expected in range(found["count"]):
        page.keyboard.press("Tab")
        focused = page.evaluate(JS_FOCUSED)
        name = found["names"][expected]
        if focused["index"] != str(expected):
            problems.append(f"Tab {expected + 1}: focus on {focused['tag']} #{focused['index']}, expected {name}")
            break
        before = found["unfocused"][expected]
        if (focused["outline"], focused["shadow"]) == (before["outline"], before["shadow"]) or (
                focused["outline"].startswith("none") and focused["shadow"] == "none"):
            problems.append(f"{name}: no visible focus indicator")
        elif focused["indicator"] < 3:
            problems.append(f"{name}: focus indicator contrast {focused['indicator']:.2f}:1 < 3:1")
        problems += [f"focused {p}" for p in low_contrast([focused["contrast"]])]
        if focused["skip"]:
            assert expected == 0, "the skip link comes first"
            if not focused["inViewport"]:
                problems.append("the skip link stays off screen when focused")
        else:
            if previous_top is not None and focused["top"] < previous_top - 4:
                problems.append(f"{name}: Tab goes back up the page ({focused['top']:.0f} < {previous_top:.0f})")
            previous_top = focused["top"]
    assert problems == []
    # Past the last stop focus leaves the page (or wraps to the first): no hidden stop remains.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement === document.body || document.activeElement.dataset.a11y === '0'")
    return found["count"]


@pytest.mark.e2e
@pytest.mark.parametrize("which", PAGES)
@pytest.mark.parametrize("lang", LANGS)
def test_page_is_accessible_with_keyboard_labels_language_and_contrast(server, page, lang, which):
    base, _ = server
    open_page(page, base, lang, which)
    assert page.get_attribute("html", "lang") == lang
    labels = page.evaluate(JS_LABELS)
    assert [entry for entry in labels if not entry["name"]] == []
    assert low_contrast(page.evaluate(JS_CONTRAST)) == []
    check_tab_order_and_focus(page)

    # The skip link (the first stop, checked above) moves focus to the content, and the next
    # Tab goes into it.
    page.focus("a.skip")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def press_tab_until(page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.e2e
@pytest.mark.parametrize("lang", LANGS)
def test_the_form_is_completed_and_sent_with_the_keyboard_only(server, page, lang):
    base, data = server
    page.goto(f"{base}/report/{lang}")
    url = f"https://benign.example.test/keyboard/{lang}"
    press_tab_until(page, "#url")
    page.keyboard.type(url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "description"
    page.keyboard.type(f"DEMO: typed with the keyboard ({lang}).")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "what-unsure"
    page.keyboard.press("ArrowUp")  # within the radio group: "contact"
    page.keyboard.press("ArrowUp")  # and "pictures"
    assert page.evaluate("document.activeElement.id") == "what-pictures" and page.is_checked("#what-pictures")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "danger"
    page.keyboard.press("Space")
    assert page.is_checked("#danger")
    press_tab_until(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#report-number")
    assert page.inner_text("h1") == tr(lang, "Thank you. We got your report.")
    assert url in page.inner_text("dl.sent")
    number = page.inner_text("#report-number")

    engine = create_engine(f"sqlite:///{data / 'balise.sqlite3'}")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT r.report_type, r.urgent, r.additional_info FROM public_reports p "
                                "JOIN reports r ON r.id = p.report_id WHERE p.number = :n"), {"n": number}).one()
    engine.dispose()
    assert row.report_type == "new_csam" and bool(row.urgent) is True  # the radio and the box took effect
    assert row.additional_info == f"DEMO: typed with the keyboard ({lang})."


FORM_ERRORS = {"url": "Give the web address, or tell us what happened (or both).",
               "description": "Give the web address, or tell us what happened (or both)."}
STATUS_ERRORS = {"number": "Please type your report number.", "secret": "Please type your secret code."}


@pytest.mark.e2e
@pytest.mark.parametrize(("where", "errors"), [("", FORM_ERRORS), ("/status", STATUS_ERRORS)],
                         ids=["form", "status"])
@pytest.mark.parametrize("lang", LANGS)
def test_missing_required_fields_show_an_error_summary_whose_links_reach_the_fields(server, page, lang, where,
                                                                                   errors):
    base, _ = server
    page.goto(f"{base}/report/{lang}{where}")
    press_tab_until(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    assert page.inner_text("#error-summary-title") == tr(lang, "Please check this:")
    links = summary.locator("a")
    assert [(links.nth(i).get_attribute("href"), links.nth(i).inner_text()) for i in range(links.count())] == [
        (f"#{field}", tr(lang, message)) for field, message in errors.items()]
    assert page.get_attribute("html", "lang") == lang
    assert low_contrast(page.evaluate(JS_CONTRAST)) == []
    from playwright.sync_api import expect

    for field in errors:
        control = page.locator(f"#{field}")
        assert control.get_attribute("aria-invalid") == "true"
        assert f"{field}-error" in control.get_attribute("aria-describedby").split()
        assert page.inner_text(f"#{field}-error") == tr(lang, errors[field])
        # With the keyboard: Tab to the summary's link, Enter, and the field has the focus.
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        press_tab_until(page, f".error-summary a[href='#{field}']")
        page.keyboard.press("Enter")
        # A locator assertion: wait_for_function would eval a string, which the page's CSP refuses.
        expect(page.locator(f"#{field}")).to_be_focused()
        # The field is scrolled into view with its label and its error message, not under the
        # top edge of the window.
        shown = page.evaluate(f"""[`label[for={field}]`, `#{field}-error`, `#{field}`].map(selector => {{
            const r = document.querySelector(selector).getBoundingClientRect();
            return r.top >= 0 && r.bottom <= innerHeight; }})""")
        assert shown == [True, True, True], f"label, error, field of {field} in view: {shown}"
