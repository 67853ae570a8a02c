"""Article 36 submissions and the provenance of indicators (CSAR Art. 36, 44(4)), and the URL
list (Art. 44(1)(b)): pure rules, no I/O.

* An indicator is generated only from material or hashes that a coordinating authority
  submits after a competent authority confirmed them, or from a court decision recorded as a
  submission. Each submission carries the authority's decision reference; without one there
  is no submission.
* The centre's own candidates (new material its analysts assessed, confirmed by four eyes)
  wait for an authority's confirmation: 1 month, extendable once to 2 (Art. 36(3)).
* Each indicator keeps its submission and every later change for as long as it exists
  (Art. 44(4)): the history actions are named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from balise.domain.indicators import (
    Algorithm,
    IndicatorKind,
    InvalidIndicator,
    normalise_value,
    validate_classification,
)
from balise.domain.partners import EU_CODES

MAX_REFERENCE = 200
MAX_AUTHORITY = 200
MAX_NOTE = 2000
MAX_HASHES = 10_000
AUTHORITY_CLOCK_MONTHS = 1
AUTHORITY_CLOCK_EXTENDED_MONTHS = 2


class SubmissionProcess(StrEnum):
    """How the material was confirmed before it reached the centre."""

    AUTHORITY_CONFIRMATION = "authority_confirmation"  # a competent authority's diligent assessment (Art. 36(1))
    COURT_DECISION = "court_decision"  # a court's decision, recorded by staff as a submission


class SubmissionChannel(StrEnum):
    API = "api"
    UI = "ui"
    CLI = "cli"


class HistoryAction(StrEnum):
    """What happened to an indicator (``indicator_history.action``)."""

    CREATED = "created"  # generated from a submission
    PROPOSED = "proposed"  # the centre's candidate, from an analyst's assessment
    FOUR_EYES = "four_eyes"  # a senior analyst confirmed it: it now waits for an authority
    REJECTED = "rejected"  # a senior analyst rejected it
    AUTHORITY_CONFIRMED = "authority_confirmed"  # a submission confirmed the centre's candidate
    RECONFIRMED = "reconfirmed"  # another submission named an existing indicator again
    CLOCK_EXTENDED = "clock_extended"  # the authority's month extended to two
    STATUS = "status"  # suspended, reactivated or deleted by staff
    SUBMISSION_WITHDRAWN = "submission_withdrawn"  # the authority withdrew its submission
    VERIFIED = "verified"  # periodic re-verification found something to record (Art. 46(7))


class InvalidSubmission(ValueError):
    """Refused: ``field`` names what is wrong; nothing was stored."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SubmittedHash:
    algorithm: Algorithm
    value: str


@dataclass(frozen=True)
class SubmissionTerms:
    """A checked submission: what the authority confirmed, under which decision."""

    reference: str
    process: SubmissionProcess
    kind: IndicatorKind
    hashes: tuple[SubmittedHash, ...]
    authority: str
    decided_at: datetime | None = None
    classification: dict[str, Any] | None = None
    note: str = ""


def _text(field: str, value: Any, limit: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidSubmission(field, "must be text")
    value = " ".join(value.split())
    if required and not value:
        raise InvalidSubmission(field, "is required: an indicator is generated only under an authority's decision "
                                       "reference" if field == "reference" else "is required")
    if len(value) > limit:
        raise InvalidSubmission(field, f"is longer than {limit} characters")
    return value


@dataclass(frozen=True)
class Decision:
    """Whose decision an indicator file rests on (``balise indicators import|add``): the header
    of a submission whose hashes come from a file rather than a list."""

    reference: str
    process: SubmissionProcess
    kind: IndicatorKind
    authority: str


def check_decision(*, reference: Any, authority: Any, process: Any = None, kind: Any = None) -> Decision:
    """The reference, authority, process and kind of a submission, or InvalidSubmission."""
    clean_reference = _text("reference", reference, MAX_REFERENCE, required=True)
    clean_authority = _text("authority", authority, MAX_AUTHORITY, required=True)
    try:
        clean_process = SubmissionProcess(process or SubmissionProcess.AUTHORITY_CONFIRMATION)
    except ValueError:
        raise InvalidSubmission("process", "must be one of " + ", ".join(p.value for p in SubmissionProcess)) from None
    try:
        clean_kind = IndicatorKind(kind or IndicatorKind.KNOWN_CSAM)
    except ValueError:
        raise InvalidSubmission("kind", "must be one of " + ", ".join(k.value for k in IndicatorKind)) from None
    return Decision(clean_reference, clean_process, clean_kind, clean_authority)


def check_submission(*, reference: Any, hashes: Any, authority: Any, process: Any = None, kind: Any = None,
                     decided_at: datetime | None = None, classification: Any = None, note: Any = "",
                     now: datetime | None = None) -> SubmissionTerms:
    """The terms of a submission, or InvalidSubmission naming the first field that is wrong."""
    decision = check_decision(reference=reference, authority=authority, process=process, kind=kind)
    clean_reference, clean_authority = decision.reference, decision.authority
    clean_process, clean_kind = decision.process, decision.kind
    if decided_at is not None and now is not None and decided_at > now:
        raise InvalidSubmission("decided_at", "is in the future")
    if not isinstance(hashes, list | tuple) or not hashes:
        raise InvalidSubmission("hashes", "at least one hash is required")
    if len(hashes) > MAX_HASHES:
        raise InvalidSubmission("hashes", f"at most {MAX_HASHES} hashes per submission")
    seen: set[tuple[str, str]] = set()
    clean_hashes: list[SubmittedHash] = []
    for n, entry in enumerate(hashes):
        if not isinstance(entry, dict):
            raise InvalidSubmission(f"hashes.{n}", "must be an object with algorithm and value")
        try:
            algorithm = Algorithm(str(entry.get("algorithm") or "").strip().lower())
        except ValueError:
            raise InvalidSubmission(f"hashes.{n}.algorithm", "unknown algorithm " + repr(entry.get("algorithm"))) \
                from None
        if algorithm is Algorithm.VPDQ:
            raise InvalidSubmission(f"hashes.{n}.algorithm", "vpdq is submitted as a video file, not one value")
        if (algorithm is Algorithm.URL) != (clean_kind is IndicatorKind.URL):
            raise InvalidSubmission(f"hashes.{n}.algorithm",
                                    "URLs go in a submission of kind url, and only there")
        value = entry.get("value")
        if not isinstance(value, str):
            raise InvalidSubmission(f"hashes.{n}.value", "must be text")
        try:
            value = normalise_value(algorithm, value)
        except InvalidIndicator as exc:
            raise InvalidSubmission(f"hashes.{n}.value", str(exc)) from None
        if (algorithm.value, value) in seen:
            continue
        seen.add((algorithm.value, value))
        clean_hashes.append(SubmittedHash(algorithm, value))
    try:
        clean_classification = validate_classification(classification) or None
    except InvalidIndicator as exc:
        raise InvalidSubmission("classification", str(exc)) from None
    return SubmissionTerms(clean_reference, clean_process, clean_kind, tuple(clean_hashes), clean_authority,
                           decided_at, clean_classification, _text("note", note, MAX_NOTE, required=False))


def authority_months(extended: bool) -> int:
    return AUTHORITY_CLOCK_EXTENDED_MONTHS if extended else AUTHORITY_CLOCK_MONTHS


# -- the URL list (Art. 44(1)(b)) --------------------------------------------------------------

MAX_EVIDENCE = 4000


class UrlListState(StrEnum):
    LISTED = "listed"
    REMOVED = "removed"  # taken off the list (removed at last, or no longer justified)


@dataclass(frozen=True)
class UrlListTerms:
    url: str
    host: str
    host_country: str
    refusal: str  # what the host answered, or that it never did, with dates
    authority_non_cooperation: str  # what the third country's authorities answered, or not
    takedown_item: str | None = None


def check_url_entry(*, url: Any, host_country: Any, refusal: Any, authority_non_cooperation: Any,
                    takedown_item: str | None = None) -> UrlListTerms:
    """A URL may be listed only on a host outside the Union, with evidence of both refusals."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidSubmission("url", "is required")
    try:
        clean_url = normalise_value(Algorithm.URL, url)
    except InvalidIndicator as exc:
        raise InvalidSubmission("url", str(exc)) from None
    from urllib.parse import urlsplit

    host = urlsplit(clean_url).hostname or ""
    country = str(host_country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise InvalidSubmission("host_country", "must be the ISO code of the country where the host is")
    if country in EU_CODES:
        raise InvalidSubmission("host_country", "the host is in the Union: a removal order applies, not the URL list")
    refusal_text = _text("refusal", refusal, MAX_EVIDENCE, required=True)
    authority_text = _text("authority_non_cooperation", authority_non_cooperation, MAX_EVIDENCE, required=True)
    return UrlListTerms(clean_url, host, country, refusal_text, authority_text, takedown_item)


def sample_size(population: int, wanted: int | None) -> int:
    """A representative sample: what was asked for, else the square root of the list plus 10
    (at least all of a list of 10 or fewer), never more than the list."""
    if population <= 0:
        return 0
    if wanted is not None:
        if wanted < 1:
            raise InvalidSubmission("sample_size", "must be at least 1")
        return min(wanted, population)
    return min(population, int(population ** 0.5) + 10)
