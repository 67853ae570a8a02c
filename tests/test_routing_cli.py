"""`balise partner|hold|notice|takedown|stats`, run as an operator would (the real command,
in this process, on the same database as the service): every bad input exits non-zero with a
message naming the problem and changes nothing; good input does what the help says."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Hold, Item, Job, Notice, Partner
from balise.container import Balise
from balise.intake.report_schema import ReportIn
from balise.takedown.holds import eighteen_months_after
from balise.takedown.takedowns import ntd_stats
from tests.cli_support import CliResult, run_cli
from tests.helpers import minimal_report
from tests.takedown_support import (
    Clock,
    DemoSite,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
)

Run = CliResult


def cli_env(app: Balise) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(app.settings.data_dir),
               BALISE_DATABASE_URL=app.settings.database_url)
    return env


class Cli:
    def __init__(self, app: Balise) -> None:
        self.env = cli_env(app)

    def __call__(self, *args: str) -> Run:
        return run_cli(self.env, *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.returncode == 0, f"balise {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def refused(self, *args: str) -> str:
        """The one error line on stderr of a command that must fail."""
        result = self(*args)
        assert result.returncode != 0, f"balise {' '.join(args)} should fail: {result.stdout}"
        assert "Traceback" not in result.stderr, result.stderr
        assert result.stdout == "", result.stdout
        return result.stderr.strip()

    def partners(self, *filters: str) -> list[dict[str, object]]:
        return json.loads(self.ok("partner", "list", "--json", *filters))


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Balise]:
    with mailbox() as box:
        balise = routing_app(tmp_path, db_url, Clock(), box.port)
        yield balise
        balise.close()


@pytest.fixture
def cli(app: Balise) -> Cli:
    return Cli(app)


def count(app: Balise, model: type, *where: object) -> int:
    with app.db.sessions() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def events(app: Balise, event_type: str) -> int:
    return count(app, AuditRecord, AuditRecord.event_type == event_type)


# -- partners ------------------------------------------------------------------------------

def test_partner_seed_is_idempotent_and_list_shows_the_entries(cli, app) -> None:
    first = cli.ok("partner", "seed")
    added = int(first.split()[1])
    assert first == f"seeded {added} partners\n" and added > 27 * 3
    assert cli.ok("partner", "seed") == "seeded 0 partners\n"
    assert count(app, Partner) == added and events(app, "partner:seed") == 2

    listed = cli.partners()
    assert len(listed) == added
    assert [p["country"] for p in cli.partners("--kind", "europol")] == [None]
    belgium = cli.partners("--kind", "hotline", "--country", "be")
    assert len(belgium) == 1 and belgium[0]["languages"] == ["nl", "fr", "de"]
    assert (belgium[0]["channel"], belgium[0]["endpoint"], belgium[0]["verified"]) == ("export", None, False)
    text = cli.ok("partner", "list", "--kind", "hotline", "--country", "BE").splitlines()
    assert len(text) == 1 and "  BE  hotline" in text[0] and str(belgium[0]["name"]) in text[0]
    assert text[0].endswith("[export; nl,fr,de; unverified]")


def test_partner_add_with_bad_input_names_the_field_and_adds_nothing(cli, app, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("DEMO-shared-secret-0123456789abcdef\n")
    good = ["DEMO Unit", "--kind", "police", "--country", "DE", "--channel", "email",
            "--endpoint", "unit@police.example", "--language", "de"]
    cases = [
        (["--endpoint", "not-an-address"], "error: endpoint: an email channel needs an email address"),
        (["--kind", "ngo"], "error: kind: unknown kind 'ngo'"),
        (["--country", "Germany"], "error: country: give the ISO 3166 alpha-2 code"),
        (["--channel", "pigeon"], "error: channel: unknown channel 'pigeon'"),
        (["--language", "german"], "error: languages: give one or more ISO 639-1 codes"),
        (["--channel", "webhook", "--endpoint", "https://police.example/hook"],
         "error: webhook_secret: a webhook needs a shared secret"),
        (["--channel", "webhook", "--endpoint", "ftp://police.example/hook", "--webhook-secret-file", str(secret)],
         "error: endpoint: a webhook endpoint must be an http(s) URL"),
        (["--channel", "webhook", "--endpoint", "https://police.example/hook",
          "--webhook-secret-file", str(tmp_path / "missing.txt")],
         f"error: webhook_secret: cannot read {tmp_path / 'missing.txt'}"),
        (["--channel", "export"], "error: endpoint: the export channel takes no endpoint"),
    ]
    for change, message in cases:
        args = list(good)
        for flag, value in zip(change[::2], change[1::2], strict=True):
            if flag in args:
                args[args.index(flag) + 1] = value
            else:
                args += [flag, value]
        assert cli.refused("partner", "add", *args).startswith(message), change
    assert cli.partners() == [] and events(app, "partner:create") == 0

    assert cli.ok("partner", "add", *good) == "partner 1 added\n"
    # The same partner twice is refused too.
    assert cli.refused("partner", "add", *good) == "error: name: this partner is already in the directory"
    assert [(p["name"], p["endpoint"], p["languages"]) for p in cli.partners()] == \
        [("DEMO Unit", "unit@police.example", ["de"])]
    assert events(app, "partner:create") == 1


def test_partner_set_changes_channel_and_endpoint_and_resets_verification(cli, app, tmp_path) -> None:
    cli.ok("partner", "add", "DEMO Hotline", "--kind", "hotline", "--country", "FR", "--channel", "email",
           "--endpoint", "old@hotline.example", "--language", "fr", "--verified")
    assert cli.partners()[0]["verified"] is True

    assert cli.ok("partner", "set", "1", "--endpoint", "new@hotline.example") == "partner 1 updated\n"
    [partner] = cli.partners()
    # A new endpoint is not trusted until someone confirms it with the partner again.
    assert (partner["channel"], partner["endpoint"], partner["verified"]) == ("email", "new@hotline.example", False)
    cli.ok("partner", "set", "1", "--verified", "--language", "fr", "--language", "en")
    assert (cli.partners()[0]["verified"], cli.partners()[0]["languages"]) == (True, ["fr", "en"])

    secret = tmp_path / "secret.txt"
    secret.write_text("DEMO-shared-secret-0123456789abcdef\n")
    cli.ok("partner", "set", "1", "--channel", "webhook", "--endpoint", "https://hotline.example/balise",
           "--webhook-secret-file", str(secret))
    [partner] = cli.partners()
    assert (partner["channel"], partner["endpoint"], partner["verified"]) == \
        ("webhook", "https://hotline.example/balise", False)
    with app.db.sessions() as s:
        assert app.partners.webhook_secret(s.get(Partner, 1)) == "DEMO-shared-secret-0123456789abcdef"

    before = cli.partners()
    assert cli.refused("partner", "set", "1", "--endpoint", "javascript:alert(1)") == \
        "error: endpoint: a webhook endpoint must be an http(s) URL without credentials"
    assert cli.refused("partner", "set", "1", "--channel", "email") == \
        "error: endpoint: an email channel needs an email address like abuse@example.org"
    assert cli.refused("partner", "set", "1", "--language", "French") == \
        "error: languages: give one or more ISO 639-1 codes such as fr, de, nl"
    assert cli.refused("partner", "set", "99", "--verified") == "error: id: no partner 99"
    assert cli.partners() == before
    assert events(app, "partner:update") == 3


# -- holds ---------------------------------------------------------------------------------

def file_report(app: Balise) -> uuid.UUID:
    report = ReportIn.model_validate(minimal_report())
    return app.intake.file(actor=Actor.system("test"), organisation_id=None, report=report, files={},
                           fingerprint="cli-holds", idempotency_key=None).report.id


def test_hold_set_refuses_bad_requests_precisely_then_records_lists_and_lifts_a_good_one(cli, app) -> None:
    report = str(file_report(app))
    now = datetime.now(timezone.utc)
    ok = ["--authority", "DEMO Police Unit", "--do-not-inform", "--do-not-remove"]
    too_late = (eighteen_months_after(now) + timedelta(days=1)).isoformat()
    unknown = str(uuid.uuid4())
    cases = [
        (["hold", "set", report, "--until", too_late, *ok], "error: a hold lasts at most 18 months (CSAR Art. 48(6))"),
        (["hold", "set", report, "--until", (now - timedelta(days=1)).date().isoformat(), *ok],
         "error: the expiry must be in the future"),
        (["hold", "set", report, "--until", (now + timedelta(days=30)).isoformat(), "--authority", "DEMO Police"],
         "error: a hold must ask for do-not-inform, do-not-remove or both"),
        (["hold", "set", "not-a-report", "--until", (now + timedelta(days=30)).isoformat(), *ok],
         "error: 'not-a-report' is not a report id (a UUID)"),
        (["hold", "set", unknown, "--until", (now + timedelta(days=30)).isoformat(), *ok],
         f"error: no such report: {unknown}"),
        (["hold", "set", report, "--until", "next tuesday", *ok],
         "error: 'next tuesday' is not a date such as 2027-06-30 or 2027-06-30T12:00:00+02:00"),
        (["hold", "set", report, "--until", (now + timedelta(days=30)).isoformat(), "--authority", " ",
          "--do-not-remove"], "error: name the requesting authority (1 to 200 characters)"),
    ]
    for args, message in cases:
        assert cli.refused(*args) == message, args
    assert count(app, Hold) == 0 and events(app, "hold:set") == 0
    assert cli.ok("hold", "list", report) == ""

    # Just inside the 18 months is accepted.
    until = eighteen_months_after(now) - timedelta(hours=1)
    assert cli.ok("hold", "set", report, "--until", until.isoformat(), *ok, "--reference", "DEMO-2026-001") == \
        "hold 1 set\n"
    [line] = cli.ok("hold", "list", report).splitlines()
    assert line.split() == ["1", "do-not-inform,do-not-remove", "until", f"{until:%Y-%m-%d}", f"{until:%H:%M}Z",
                            "DEMO", "Police", "Unit", "(active)"]
    with app.db.sessions() as s:
        assert app.holds.active(s, uuid.UUID(report)).do_not_remove_until == until

    assert cli.ok("hold", "lift", "1", "--reason", "DEMO: case closed") == "hold 1 lifted\n"
    [line] = cli.ok("hold", "list", report).splitlines()
    assert "(ended " in line and line.endswith("by system:cli)")
    assert cli.refused("hold", "lift", "1") == "error: this hold no longer applies"
    assert cli.refused("hold", "lift", "7") == "error: no hold 7"
    assert cli.refused("hold", "list", "42") == "error: '42' is not a report id (a UUID)"
    with app.db.sessions() as s:
        assert not app.holds.active(s, uuid.UUID(report)).any
    assert (events(app, "hold:set"), events(app, "hold:lift")) == (1, 1)


# -- notices, takedowns, figures: after the real flow ----------------------------------------

def removed_through_the_flow(app: Balise, site: DemoSite, clock: Clock) -> tuple[uuid.UUID, uuid.UUID]:
    """A URL report routed to police and the host, whose URL is taken down and verified removed."""
    original = known_picture(app)
    url = site.serve("/gallery/5.jpg", reencoded(original))
    report_id = file_url_report(app, url)
    app.run_jobs()
    forward(app, report_id)
    app.run_jobs()
    site.take_down("/gallery/5.jpg")
    clock.advance(hours=1, minutes=1)
    app.run_jobs()
    with app.db.sessions() as s:
        item_id = s.execute(select(Item.id).where(Item.report_id == report_id)).scalar_one()
        assert app.takedowns.for_report(s, report_id)[0].status == "removed"
    return report_id, item_id


@pytest.fixture
def routed(app: Balise, cli: Cli) -> Iterator[tuple[uuid.UUID, Clock]]:
    """Europol's channel is 'none', so its police notice fails and stays visible as failed."""
    cli.ok("partner", "seed")
    [europol] = cli.partners("--kind", "europol")
    cli.ok("partner", "set", str(europol["id"]), "--channel", "none")
    with demo_site() as site:
        clock = app.clock
        report_id, _ = removed_through_the_flow(app, site, clock)
        yield report_id, clock


def test_notices_are_listed_acknowledged_once_and_only_failed_ones_are_retried(cli, app, routed) -> None:
    report_id, _ = routed
    with app.db.sessions() as s:
        notices = {n.kind + ":" + n.status: n for n in app.notices.for_report(s, report_id)}
    assert set(notices) == {"police_forward:failed", "police_forward:sent", "host_notice:sent"}
    host, failed = notices["host_notice:sent"], notices["police_forward:failed"]

    listed = cli.ok("notice", "list", "--report-id", str(report_id)).splitlines()
    assert len(listed) == 3
    [line] = [x for x in listed if x.startswith(host.reference)]
    assert line.split()[1:5] == ["host_notice", "sent", "email", "abuse@demo-hosting.example"]
    [line] = cli.ok("notice", "list", "--status", "failed").splitlines()
    assert line.startswith(failed.reference) and "last error: the recipient has no delivery channel" in line
    assert cli.refused("notice", "list", "--report-id", "BAL-1") == "error: 'BAL-1' is not a report id (a UUID)"

    assert cli.ok("notice", "ack", host.reference, "--note", "DEMO host ticket 42") == f"{host.reference} acknowledged\n"
    assert cli.ok("notice", "ack", host.reference) == \
        f"{host.reference} was already acknowledged; nothing changed\n"
    with app.db.sessions() as s:
        stored = s.get(Notice, host.id)
        assert stored.status == "acknowledged" and stored.receipt["note"] == "DEMO host ticket 42"
    assert events(app, "notice:acknowledge") == 1
    assert cli.refused("notice", "ack", failed.reference) == f"error: notice {failed.reference} is failed: nothing to acknowledge"
    assert cli.refused("notice", "ack", "BAL-N-20000101-AAAAAAAA") == "error: no notice BAL-N-20000101-AAAAAAAA"

    jobs = count(app, Job)
    assert cli.refused("notice", "retry", host.reference) == f"error: notice {host.reference} is acknowledged, not failed"
    assert cli.refused("notice", "retry", "BAL-N-20000101-AAAAAAAA") == "error: no notice BAL-N-20000101-AAAAAAAA"
    assert count(app, Job) == jobs

    # The operator fixes Europol's channel, then sends the failed notice again: it goes out
    # over the channel configured now, not the one it failed on.
    [europol] = cli.partners("--kind", "europol")
    cli.ok("partner", "set", str(europol["id"]), "--channel", "export")
    assert cli.ok("notice", "retry", failed.reference) == f"{failed.reference} queued again\n"
    assert events(app, "notice:retry") == 1
    app.run_jobs()
    with app.db.sessions() as s:
        resent = s.get(Notice, failed.id)
        assert (resent.status, resent.channel, resent.attempts) == ("sent", "export", 1)
    exported = app.settings.exports_path / "notices"
    assert any(p.name == f"{failed.reference}.txt" for p in exported.rglob("*.txt"))


def test_takedown_list_and_stats_ntd_show_the_removal(cli, app, routed) -> None:
    report_id, _ = routed
    [line] = cli.ok("takedown", "list").splitlines()
    assert line.startswith("removed ") and f"report {report_id}" in line and line.endswith("/gallery/5.jpg")
    assert cli.ok("takedown", "list", "--status", "watching") == ""

    text = cli.ok("stats", "ntd").splitlines()
    assert text[0] == ("reported URLs: 1  host notified: 1  removed: 1  not removed: 0  on hold: 0  "
                       "already gone when inspected: 0")
    assert text[1].startswith("median time to removal: ") and text[1].endswith("1.0 h from the host notice")
    assert text[2] == "removed within 2.5 days: 100.0 %   3 days: 100.0 %   7 days: 100.0 %"
    figures = json.loads(cli.ok("stats", "ntd", "--json"))
    with app.db.sessions() as s:
        assert figures == json.loads(json.dumps(ntd_stats(s).as_dict()))
    assert (figures["urls"], figures["removed"], figures["median_hours"]["notice_to_removed"]) == (1, 1, 1.02)

    later = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert json.loads(cli.ok("stats", "ntd", "--json", "--since", later))["urls"] == 0
    assert cli.refused("stats", "ntd", "--since", "yesterday") == \
        "error: 'yesterday' is not a date such as 2027-06-30 or 2027-06-30T12:00:00+02:00"
