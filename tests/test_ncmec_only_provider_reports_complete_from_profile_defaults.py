"""A provider that speaks only NCMEC's API sets once, through the JSON API, the Annex III fields
NCMEC's format lacks; its /ispws reports take them, triage asks only for what is still missing,
and staff complete that with a reason (audited), sending the report back through triage. Bad
defaults and bad completions are refused with the field named and change nothing."""

from __future__ import annotations

import os

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, IspwsReport, Organisation, Report
from balise.domain.model import Scope
from balise.intake.report_defaults import InvalidDefaults
from tests.cli_support import run_cli
from tests.helpers import auth as bearer
from tests.ispws_support import basic, code, finish, make_ispws_provider, open_report

STAFF = Actor.staff("00000000-0000-0000-0000-000000000001", "demo-senior")


def _filed(balise, client, ispws_auth) -> Report:
    report_id = open_report(client, ispws_auth)
    r = finish(client, ispws_auth, report_id)
    assert code(r) == 0, r.text
    with balise.db.sessions() as s:
        filed = s.execute(select(IspwsReport.report_id).where(IspwsReport.id == report_id)).scalar_one()
    balise.triage.triage(filed)
    with balise.db.sessions() as s:
        return s.get(Report, filed)


def test_profile_defaults_fill_ncmec_reports_and_staff_complete_the_rest(balise, client, tmp_path):
    org_id, user, password = make_ispws_provider(balise)
    with balise.db.transaction() as s:
        org = s.get(Organisation, org_id)
        key = balise.organisations.issue_key(s, Actor.system("test"), org, [Scope.REPORTS_WRITE]).plaintext
    ispws_auth = basic(user, password)

    before = _filed(balise, client, ispws_auth)
    assert set(before.missing_fields) >= {"signature", "awareness", "content_removed", "reported_elsewhere"}

    bad = client.put("/api/v1/organisation/report-defaults", headers=bearer(key),
                     json={"awareness": {"source": "other"}, "colour": "red", "content_removed": 1})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_defaults"
    assert {f["field"] for f in bad.json()["fields"]} == {"awareness", "colour", "content_removed"}
    assert client.get("/api/v1/organisation/report-defaults", headers=bearer(key)).json() == {}

    defaults = {"signature": "DEMO Trust & Safety lead", "awareness": {"source": "user_flag"},
                "content_removed": True, "reported_elsewhere": {"reported": True, "body": "NCMEC"}}
    put = client.put("/api/v1/organisation/report-defaults", headers=bearer(key), json=defaults)
    assert put.status_code == 200, put.text
    assert client.get("/api/v1/organisation/report-defaults", headers=bearer(key)).json() == defaults

    after = _filed(balise, client, ispws_auth)
    assert after.provider_signature == "DEMO Trust & Safety lead" and after.awareness_source == "user_flag"
    assert after.content_removed is True and after.reported_elsewhere is True
    assert after.reported_elsewhere_body == "NCMEC"
    assert after.state == "information_requested"
    assert not {"signature", "awareness", "content_removed", "reported_elsewhere"} & set(after.missing_fields)
    still = set(after.missing_fields)
    assert "user_decision" in still and "type" in still

    with balise.db.transaction() as s:
        report = s.get(Report, after.id, with_for_update=True)
        for data, reason, field in (({"type": "known_csam"}, "", "reason"),
                                    ({"type": "mystery"}, "provider unreachable, confirmed by phone", "type"),
                                    ({}, "provider unreachable, confirmed by phone", "(body)")):
            try:
                balise.report_defaults.complete_by_staff(s, STAFF, report, data, reason)
            except InvalidDefaults as exc:
                assert exc.fields[0]["field"] == field
            else:
                raise AssertionError(f"{data} with reason {reason!r} was accepted")
        completion = {"user_decision": "terminate", "type": "known_csam"}
        if "provider.contact_point" in still:
            completion["provider"] = {"contact_point": {"email": "trust@provider.demo.invalid"}}
        balise.report_defaults.complete_by_staff(s, STAFF, report, completion,
                                                 "DEMO: the provider answered by phone; it cannot PATCH")
    balise.triage.triage(after.id)
    with balise.db.sessions() as s:
        done = s.get(Report, after.id)
        assert done.missing_fields is None and done.state not in ("incomplete", "information_requested")
        # In the order written, so each type keeps its latest event (two reports were finished).
        events = {e.event_type: e for e in s.execute(select(AuditRecord).where(AuditRecord.event_type.in_(
            ["report:staff_complete", "organisation:report_defaults", "ispws:report_finish"]))
            .order_by(AuditRecord.seq)).scalars()}
        assert events["report:staff_complete"].purpose.startswith("DEMO: the provider answered")
        assert "DEMO Trust" not in str(events["organisation:report_defaults"].details)
        assert events["ispws:report_finish"].details["from_profile"] == ["signature", "awareness", "content_removed",
                                                                         "reported_elsewhere"]

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}, "BALISE_ENV": "development",
           "BALISE_DATA_DIR": str(balise.settings.data_dir), "BALISE_DATABASE_URL": balise.settings.database_url}
    shown = run_cli(env, "org", "report-defaults", "DEMO Platform")
    assert shown.returncode == 0 and '"signature": "DEMO Trust & Safety lead"' in shown.stdout
    refused = run_cli(env, "org", "report-defaults", "DEMO Platform", "--set", '{"content_removed": "maybe"}',
                      "--reason", "staff fix for the provider")
    assert refused.returncode == 2 and "content_removed" in refused.stderr
    cleared = run_cli(env, "org", "report-defaults", "DEMO Platform", "--set", "{}", "--reason", "contract ended")
    assert cleared.returncode == 0 and "none" in cleared.stdout
