"""Indicator lists are imported line by line (bad lines named, the rest kept, nothing kept on a
fatal error), exported in version order, and every change raises the version."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.detection.indicators import ImportAborted
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus

ACTOR = Actor.system("test")
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_B = "30a10efd71c83f429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"
MD5 = "d35c785545392755e7e4164457657269"


def _import(balise, text: str, fmt: str, **kw):
    with balise.db.transaction() as s:
        return balise.indicators.import_lines(s, ACTOR, io.StringIO(text), fmt=fmt, source="test-list", **kw)


def _count(balise) -> int:
    with balise.db.sessions() as s:
        return s.execute(select(func.count()).select_from(Indicator)).scalar_one()


def test_threatexchange_lines_import_and_bad_lines_are_named(balise):
    text = f"pdq {PDQ_A}\n# comment\n\npdq {PDQ_A[:-1]}\nvideo_md5 {MD5}\nraw_text hello\npdq zz{PDQ_B[2:]}\nsha256\n"
    report = _import(balise, text, "te")
    assert report.imported == 2 and report.rejected == 4
    assert [line for line, _ in report.errors] == [4, 6, 7, 8]
    messages = dict(report.errors)
    assert "64 hex characters" in messages[4]
    assert "unknown signal type 'raw_text'" in messages[6]
    assert "not hexadecimal" in messages[7]
    assert _count(balise) == 2


def test_csv_with_classification_and_kinds(balise):
    text = ("signal_type,signal_value,kind,ncmec_category,classification\n"
            f"pdq,{PDQ_A.upper()},known_csam,A1,\n"
            f"md5,{MD5},new_csam,,\"{{\"\"uk_category\"\": \"\"B\"\"}}\"\n"
            "url,https://Example.TEST/a?b=1#frag,,,\n"
            f"pdq,{PDQ_B},known_csam,Z9,\n")
    report = _import(balise, text, "csv")
    assert (report.imported, report.rejected) == (3, 1)
    assert report.errors[0][0] == 5 and "ncmec_category" in report.errors[0][1]
    with balise.db.sessions() as s:
        pdq = s.execute(select(Indicator).where(Indicator.algorithm == "pdq")).scalar_one()
        assert pdq.value == PDQ_A and pdq.classification == {"ncmec_category": "A1"}
        assert s.execute(select(Indicator.classification).where(Indicator.algorithm == "md5")).scalar_one() == {"uk_category": "B"}
        url = s.execute(select(Indicator).where(Indicator.algorithm == "url")).scalar_one()
        assert url.value == "https://example.test/a?b=1" and url.kind == "url"


def test_bad_csv_header_is_fatal_and_imports_nothing(balise):
    with pytest.raises(ImportAborted, match="signal_type and signal_value"):
        _import(balise, f"hash,type\n{PDQ_A},pdq\n", "csv")
    with pytest.raises(ImportAborted, match="unknown CSV columns"):
        _import(balise, f"signal_type,signal_value,colour\npdq,{PDQ_A},red\n", "csv")
    assert _count(balise) == 0


def test_a_fatal_error_half_way_keeps_nothing(balise):
    def lines():
        yield "signal_type,signal_value\n"
        for i in range(5000):
            yield f"md5,{i:032x}\n"
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(UnicodeDecodeError), balise.db.transaction() as s:
        balise.indicators.import_lines(s, ACTOR, lines(), fmt="csv", source="broken")
    assert _count(balise) == 0
    with balise.db.sessions() as s:
        assert balise.indicators.current_version(s) == 0


def test_reimport_is_unchanged_and_a_change_raises_the_version(balise):
    first = _import(balise, f"pdq {PDQ_A}\npdq {PDQ_B}\n", "te")
    assert (first.first_version, first.last_version) == (1, 2)
    again = _import(balise, f"pdq {PDQ_A}\n", "te")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 1)
    changed = _import(balise, f"signal_type,signal_value,status\npdq,{PDQ_A},suspended\n", "csv")
    assert changed.updated == 1 and changed.first_version == 3


def test_export_round_trips_in_version_order_and_syncs_deltas(balise):
    _import(balise, f"pdq {PDQ_A}\nmd5 {MD5}\n", "te")
    with balise.db.transaction() as s:
        te = "".join(balise.indicators.export(s, ACTOR, fmt="te"))
    assert te == f"pdq {PDQ_A}\nmd5 {MD5}\n"
    _import(balise, f"pdq {PDQ_B}\n", "te")
    with balise.db.transaction() as s:
        delta = "".join(balise.indicators.export(s, ACTOR, fmt="te", since_version=2))
        csv_text = "".join(balise.indicators.export(s, ACTOR, fmt="csv"))
    assert delta == f"pdq {PDQ_B}\n"
    assert csv_text.splitlines()[0].startswith("signal_type,signal_value,kind")
    # The CSV export imports back as unchanged.
    assert _import(balise, csv_text, "csv").unchanged == 3


def test_suspended_indicators_leave_the_default_export(balise):
    _import(balise, f"pdq {PDQ_A}\npdq {PDQ_B}\n", "te")
    with balise.db.transaction() as s:
        ind = s.execute(select(Indicator).where(Indicator.value == PDQ_A)).scalar_one()
        balise.indicators.set_status(s, ACTOR, ind.id, IndicatorStatus.SUSPENDED, "under review")
    with balise.db.transaction() as s:
        assert "".join(balise.indicators.export(s, ACTOR, fmt="te")) == f"pdq {PDQ_B}\n"
        everything = "".join(balise.indicators.export(s, ACTOR, fmt="te", include_inactive=True))
    assert everything.splitlines() == [f"pdq {PDQ_B}", f"pdq {PDQ_A}"]  # version order


def test_add_validates_value_and_classification(balise):
    from balise.domain.indicators import InvalidIndicator

    with balise.db.transaction() as s:
        ind = balise.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=PDQ_A, kind=IndicatorKind.KNOWN_CSAM,
                                    provenance={"assessment": "x"},
                                    classification={"ncmec_category": "A2", "national": {"FR": "illegal"}, "flags": ["generative_ai"]})
        assert ind.version == 1 and ind.classification["national"] == {"FR": "illegal"}
    for bad in ({"ncmec_category": "C9"}, {"national": {"france": "illegal"}}, {"flags": ["nice"]}, {"colour": 1}):
        with pytest.raises(InvalidIndicator), balise.db.transaction() as s:
            balise.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=PDQ_B, kind=IndicatorKind.KNOWN_CSAM,
                                  provenance={}, classification=bad)


def test_stats_count_by_kind_algorithm_and_status(balise):
    _import(balise, f"pdq {PDQ_A}\nmd5 {MD5}\n", "te")
    with balise.db.sessions() as s:
        stats = balise.indicators.stats(s)
    assert stats["total"] == 2 and stats["active"] == 2 and stats["version"] == 2
    assert {(r["algorithm"], r["count"]) for r in stats["by"]} == {("pdq", 1), ("md5", 1)}
