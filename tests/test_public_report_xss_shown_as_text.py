"""Scripts and HTML typed into the public form are stored exactly and shown as text, never
as markup: on the confirmation page, on a form shown again with errors, and to analysts."""

from __future__ import annotations

import re

from tests.helpers import make_user, sign_in
from tests.public_support import receipt, stored, submit

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


def test_script_in_fields_is_stored_and_shown_as_text(client, balise):
    r = submit(client, "en", url="https://benign.example.test/x?q=<script>", description=SCRIPT, name=SCRIPT[:100])
    assert r.status_code == 200, r.text
    assert SCRIPT not in r.text and ESCAPED in r.text
    # The only script elements are the page's own (quick exit, copy buttons), never one from the fields.
    assert re.findall(r"<script[^>]*>", r.text) == ['<script src="/report-static/quick-exit.js" defer>',
                                                    '<script src="/report-static/copy.js" defer>']
    number, _ = receipt(r.text)
    row, report = stored(balise, number)
    assert report.additional_info == SCRIPT and row.reporter_name == SCRIPT[:100]
    assert report.items[0].url == "https://benign.example.test/x?q=<script>"

    balise.run_jobs()
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    page = client.get(f"/ui/reports/{report.id}")
    assert page.status_code == 200
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text


def test_script_is_escaped_when_the_form_is_shown_again(client, balise):
    r = submit(client, "fr", url='"><script>alert(1)</script>', description=SCRIPT)
    assert r.status_code == 422
    assert "<script>alert" not in r.text
    assert "&lt;script&gt;" in r.text and "&#34;&gt;&lt;script&gt;" in r.text
