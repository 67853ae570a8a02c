"""`balise jobs list|retry|run` as an operator uses them: a notice that failed for good shows as
a failed `notice.send` job; `jobs retry` or `notice retry` sends it again, once; bad input
gets a precise error and changes nothing."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Job, Notice
from tests.cli_support import CliResult, run_cli
from tests.servers import clean_env, free_port
from tests.takedown_support import Clock, demo_site, file_url_report, forward, known_picture, mailbox, reencoded
from tests.takedown_support import routing_app, routing_overrides


class Refusing:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return "550 5.1.1 DEMO: no such mailbox"


def _failed_host_notice(tmp_path, db_url):  # type: ignore[no-untyped-def]
    """A host notice refused for good by the mail server: the notice and its job fail."""
    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with demo_site() as site:
            app = routing_app(tmp_path, db_url, Clock(), port)
            report_id = file_url_report(app, site.serve("/j/1.jpg", reencoded(known_picture(app))))
            app.run_jobs()
            forward(app, report_id)
            app.run_jobs()
    finally:
        controller.stop()
    with app.db.sessions() as s:
        notice = s.execute(select(Notice).where(Notice.kind == "host_notice")).scalar_one()
        job = s.execute(select(Job).where(Job.kind == "notice.send")).scalar_one()
    assert (notice.status, job.status) == ("failed", "failed")
    return app, notice, job


def _cli(env):  # type: ignore[no-untyped-def]
    def run(*args: str) -> CliResult:
        return run_cli(env, *args)
    return run


def _env(tmp_path, db_url, smtp_port: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url, BALISE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
                     BALISE_MAIL_FROM="DEMO Centre <centre@balise.example>", BALISE_CENTRE_COUNTRY="NL",
                     BALISE_CENTRE_NAME="DEMO Centre", BALISE_FETCH_ALLOW_NETWORKS="127.0.0.1/32",
                     BALISE_GEO_OVERRIDES_FILE=str(routing_overrides(tmp_path)))


def test_jobs_list_shows_the_failed_notice_job_and_jobs_retry_sends_the_notice_once(tmp_path, db_url) -> None:
    app, notice, job = _failed_host_notice(tmp_path, db_url)
    with mailbox() as box:
        run = _cli(_env(tmp_path, db_url, box.port))
        listed = run("jobs", "list")
        assert listed.returncode == 0, listed.stderr
        kinds = {line.split()[1]: line.split()[2] for line in listed.stdout.splitlines()}
        assert kinds == {"report.triage": "done", "entities.extract": "done", "url.fetch": "done", "report.route": "done",
                         "notice.send": "failed"}
        failed = run("jobs", "list", "--status", "failed")
        [line] = failed.stdout.splitlines()
        assert line.split()[:3] == [str(job.id), "notice.send", "failed"]
        assert "attempts=1/" in line and "550" in line
        assert run("jobs", "list", "--status", "pending").stdout == ""

        retried = run("jobs", "retry", str(job.id))
        assert retried.returncode == 0 and retried.stdout.strip() == f"job {job.id} queued again", retried.stderr
        assert run("jobs", "list", "--status", "failed").stdout == ""
        ran = run("jobs", "run")
        assert ran.returncode == 0 and ran.stdout.strip() == "ran 1 job(s)", ran.stderr
        assert len(box.messages) == 1 and box.messages[0]["X-Balise-Reference"] == notice.reference

        # Neither retry sends it a second time: the job is done, the notice sent.
        again = run("jobs", "retry", str(job.id))
        assert again.returncode == 1 and "is not failed or pending" in again.stderr
        resend = run("notice", "retry", notice.reference)
        assert resend.returncode == 1 and f"notice {notice.reference} is sent, not failed" in resend.stderr
        assert run("jobs", "run").stdout.strip() == "ran 0 job(s)"
    assert len(box.messages) == 1
    with app.db.sessions() as s:
        assert s.execute(select(Notice.status).where(Notice.id == notice.id)).scalar_one() == "sent"
        retry = s.execute(select(AuditRecord).where(AuditRecord.event_type == "notice:retry")).scalar_one()
        jobs = s.execute(select(Job.status).where(Job.kind == "notice.send")).scalars().all()
    assert retry.actor_id == "cli" and retry.subject_id == notice.reference
    assert jobs == ["done"]
    app.close()


def test_notice_retry_puts_the_same_failed_job_back_and_bad_input_changes_nothing(tmp_path, db_url) -> None:
    app, notice, job = _failed_host_notice(tmp_path, db_url)
    with mailbox() as box:
        run = _cli(_env(tmp_path, db_url, box.port))
        bogus = run("jobs", "list", "--status", "stuck")
        assert bogus.returncode == 2 and "--status must be one of pending, running, done, failed" in bogus.stderr
        missing = run("jobs", "retry", "999999")
        assert missing.returncode == 1 and "job 999999 does not exist" in missing.stderr
        assert run("jobs", "retry", "not-a-number").returncode == 2
        assert run("jobs", "list", "--status", "failed").stdout.split()[:3] == [str(job.id), "notice.send", "failed"]

        retried = run("notice", "retry", notice.reference)
        assert retried.returncode == 0, retried.stderr
        [line] = run("jobs", "list", "--status", "pending").stdout.splitlines()
        assert line.split()[:3] == [str(job.id), "notice.send", "pending"] and "attempts=0/" in line
        assert run("jobs", "run").stdout.strip() == "ran 1 job(s)"
        assert len(box.messages) == 1
        assert run("jobs", "retry", str(job.id)).returncode == 1
        assert run("jobs", "run").stdout.strip() == "ran 0 job(s)"
    assert len(box.messages) == 1
    app.close()
