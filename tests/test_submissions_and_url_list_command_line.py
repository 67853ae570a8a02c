"""`balise submissions` and `balise urllist`: staff record an authority's submission and a court
decision (a bad one refused naming the field), read an indicator's history, withdraw a
submission; list a URL with its evidence (a host in the Union refused), export it for a blocking
order of the registry (by its id) as a signed JSON feed, a removal order refused, and take it off the list."""

from __future__ import annotations

import json

from tests.cli_support import run_cli
from tests.orders_support import order_body
from tests.servers import clean_env

MD5 = "0123456789abcdef0123456789abcdef"


def ok(env, *args) -> str:
    r = run_cli(env, *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def test_submissions_and_the_url_list_from_the_command_line(tmp_path, db_url):
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    ok(env, "db", "upgrade")
    ok(env, "org", "create", "DEMO CA", "--kind", "coordinating_authority", "--country", "FR", "--no-key")
    ok(env, "org", "create", "DEMO ISP", "--kind", "provider", "--country", "FR", "--no-key")

    refused = run_cli(env, "submissions", "add", "--authority", "DEMO CA", "--reference", " ", "--hash", f"md5:{MD5}")
    assert refused.returncode == 2 and "reference: is required" in refused.stderr
    refused = run_cli(env, "submissions", "add", "--authority", "DEMO ISP", "--reference", "X", "--hash", f"md5:{MD5}")
    assert refused.returncode == 2 and "only a coordinating authority" in refused.stderr
    refused = run_cli(env, "submissions", "add", "--authority", "DEMO CA", "--reference", "X", "--hash", "md5:12")
    assert refused.returncode == 2 and "hashes.0.value: md5 must be 32 hex characters" in refused.stderr
    assert ok(env, "submissions", "list").strip() == "no submission"

    added = json.loads(ok(env, "submissions", "add", "--authority", "DEMO CA", "--reference", "CA-FR-7",
                          "--hash", f"md5:{MD5}", "--json"))
    assert [i["outcome"] for i in added["indicators"]] == ["created"]
    court = ok(env, "submissions", "add", "--court", "Tribunal judiciaire de Lyon", "--reference", "TJ 26/1",
               "--hash", f"sha256:{'a' * 64}")
    assert "submission 2: 1 indicator(s)" in court
    listing = ok(env, "submissions", "list")
    assert "Tribunal judiciaire de Lyon\tTJ 26/1\tcourt_decision" in listing and "DEMO CA\tCA-FR-7" in listing
    indicator = added["indicators"][0]["id"]
    assert "withdrawn" in ok(env, "submissions", "withdraw", str(added["id"]), "--reason", "annulled on appeal")
    history = json.loads(ok(env, "indicators", "history", str(indicator), "--json"))
    assert history["submission"]["reference"] == "CA-FR-7" and history["status"] == "suspended"
    assert [h["action"] for h in history["history"]] == ["created", "submission_withdrawn"]
    assert "no candidate waits" in ok(env, "submissions", "awaiting")

    refused = run_cli(env, "urllist", "add", "https://host.example/a", "--host-country", "NL", "--refusal", "x",
                      "--authority-non-cooperation", "y")
    assert refused.returncode == 2 and "host_country" in refused.stderr
    assert "URL list entry 1" in ok(env, "urllist", "add", "https://host.example/a", "--host-country", "US",
                                    "--refusal", "DEMO: notices unanswered",
                                    "--authority-non-cooperation", "DEMO: no answer")
    out = tmp_path / "out"
    out.mkdir()
    order_file = tmp_path / "blocking.json"
    order_file.write_text(json.dumps(order_body("blocking", reference="BO-2026-3", addressee={"name": "DEMO ISP"})))
    blocking = ok(env, "orders", "enter", str(order_file), "--verification", "qualified e-signature checked").split()[0]
    order_file.write_text(json.dumps(order_body("removal", addressee={"name": "DEMO ISP"})))
    removal = ok(env, "orders", "enter", str(order_file), "--verification", "qualified e-signature checked").split()[0]
    printed = ok(env, "urllist", "export", "--order", blocking, "--out", str(out))
    (path,) = out.iterdir()
    assert str(path) in printed
    feed = json.loads(path.read_text())["feed"]
    assert feed["order_reference"] == "BO-2026-3" and [a["url"] for a in feed["added"]] == ["https://host.example/a"]
    assert [p["name"] for p in feed["providers"]] == ["DEMO ISP"]
    refused = run_cli(env, "urllist", "export", "--order", "BO-2026-3", "--out", str(out))
    assert refused.returncode == 2 and "--order: 'BO-2026-3' is not an order id" in refused.stderr
    refused = run_cli(env, "urllist", "export", "--order", removal, "--out", str(out))
    assert refused.returncode == 2 and "--order: " in refused.stderr and "not a blocking order" in refused.stderr
    assert len(list(out.iterdir())) == 1
    ok(env, "urllist", "remove", "1", "--reason", "removed at last")
    assert ok(env, "urllist", "list").strip() == "the URL list is empty"
