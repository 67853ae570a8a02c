"""Every audit event type is documented in docs/audit-events.md, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

from balise.domain.audit import AuditEvent

DOC = Path(__file__).resolve().parents[1] / "docs" / "audit-events.md"


def test_every_event_type_is_documented_and_every_documented_type_exists():
    documented = set(re.findall(r"^\| `([a-z_]+:[a-z_]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    assert documented == {e.value for e in AuditEvent}


def test_event_types_are_subject_colon_action():
    for event in AuditEvent:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*:[a-z_]+", event.value)
        assert event.subject and event.action
