"""Schemathesis over the whole OpenAPI document (/api/v1 and the health endpoints), against the
full ASGI stack in this process, with a provider API key of every scope and an indicator to
match: valid and invalid requests of every operation, and each answer checked against the
document — no 5xx, only declared status codes, headers and content types, bodies of the declared
shape, invalid input refused, valid input accepted, OPTIONS and undeclared methods answered
with the right Allow. All of schemathesis's phases run (examples, coverage, fuzzing, stateful).

The examples are bounded and the seed fixed, so a run is repeatable and takes about a minute
on a 2-core machine (SQLite only: the PostgreSQL-specific failures, NUL characters, have their
own tests); raise MAX_EXAMPLES or change SEED locally to search harder.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
import schemathesis
import schemathesis.engine
from schemathesis.engine import Status

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider

MAX_EXAMPLES = 25
SEED = 20261202
MD5 = "d35c785545392755e7e4164457657269"


@pytest.fixture
def contract_app(tmp_path, db_url) -> Iterator[tuple[Balise, str]]:
    # Every generated request to the signed federation endpoints is refused, and refusals past
    # BALISE_API_AUTH_FAILURE_LIMIT from one address get 429 (tested on its own): a limit that
    # the run cannot reach lets schemathesis see each refusal's own status.
    balise = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0, api_auth_failure_limit="100000/minute"))
    with balise.db.transaction() as session:
        balise.indicators.import_lines(session, Actor.system("test"),
                                       io.StringIO(f"signal_type,signal_value,ncmec_category\nmd5,{MD5},B2\n"),
                                       fmt="csv", source="test")
    _, key = make_provider(balise, scopes=(Scope.REPORTS_WRITE, Scope.REPORTS_READ, Scope.MATCH))
    yield balise, key
    balise.close()


def _failures(event: object) -> list[tuple[str, str]]:
    from schemathesis.engine import events

    found = []
    if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)) and event.status != Status.SUCCESS:
        recorder = event.recorder
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.status == Status.FAILURE and check.failure_info is not None:
                    info = check.failure_info
                    found.append((f"{recorder.label}: {check.name}: {info.failure.title}",
                                  f"{info.failure.message}\n{info.code_sample[:1500]}"))
    elif isinstance(event, events.NonFatalError):
        found.append((f"{event.label}: error", event.info.message))
    elif isinstance(event, events.FatalError):
        found.append(("fatal", repr(event.exception)))
    elif isinstance(event, events.EngineFinished):
        found += [("after run", failure.title) for failure in event.failures]
    return found


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_answer_matches_the_openapi_document(contract_app):
    balise, key = contract_app
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": auth(key),
        "continue-on-failure": True,
        # The key is sent in the headers above; generated credentials would only ever be refused.
        # NUL characters are refused wherever they are (docs/api.md#errors: `nul_character`), which
        # JSON Schema cannot say of every string; the refusal has tests of its own.
        "generation": {"max-examples": MAX_EXAMPLES, "with-security-parameters": False, "database": "none",
                       "allow-x00": False},
        # Rules across fields and parts that JSON Schema does not carry: a media item needs its
        # file part, awareness `other` needs `detail`, a hash-only item a non-empty hash, a URL
        # http(s) with a host, a patch at least one non-null field; a grant request's operations must
        # apply to its databases, its purpose must not be blank and its validity must end after it
        # starts, after now and within BALISE_GRANT_MAX_MONTHS; report defaults follow the patch's
        # awareness rule. Schema-valid documents may
        # be refused (422, declared); every other check runs on these operations too.
        "operations": [{"include-name": name, "checks": {"positive_data_acceptance": {"enabled": False}}}
                       for name in ("POST /api/v1/reports", "PATCH /api/v1/reports/{report_id}",
                                    "POST /api/v1/grants", "PUT /api/v1/organisation/report-defaults",
                                    # Signed by a partner installation's Ed25519 key over a fresh
                                    # time stamp and nonce, which no generated request can be: every
                                    # one is refused (401, 403 or 422, declared). The acceptance is
                                    # tested by test_referral_requests_are_refused_unless_signed_fresh_and_new.
                                    "POST /api/v1/referrals", "POST /api/v1/referrals/{referral_id}/outcome")],
        # Off: in one parallel run (same seed) it reported a GET 404 right after a 201, which four
        # runs alone did not reproduce; upstream has fixed several false positives in this check.
        # That a filed report is readable at once is proven deterministically elsewhere
        # (test_report_intake_api, test_readme_ispws_example_is_accepted).
        "checks": {"ensure_resource_availability": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(balise), config=config)
    failures: list[tuple[str, str]] = []
    tested: set[str] = set()
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        failures += _failures(event)
        if isinstance(event, schemathesis.engine.events.ScenarioFinished) and event.status != Status.SKIP:
            tested.add(event.recorder.label)
    elapsed = time.monotonic() - started
    operations = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item}
    assert operations <= tested, f"not tested: {operations - tested}"
    assert "POST /api/v1/reports" in operations and len(operations) == 32
    # One example per kind of failure: the operation, the check and what it found.
    kinds = {kind: example for kind, example in reversed(failures)}
    assert not failures, f"{len(failures)} failures ({len(kinds)} kinds) in {elapsed:.0f} s:\n\n" + "\n\n".join(
        f"{kind} ({sum(1 for k, _ in failures if k == kind)}x)\n{example}" for kind, example in kinds.items())
