"""The audit page, the auditor's home and the CSV export show event types, and the
organisation pages show API scopes, in words: every code of those vocabularies needs a label,
and every label a French translation (a new event type added without one would otherwise
reach a page as its raw code)."""

from __future__ import annotations

from babel.messages.pofile import read_po

from balise.domain.audit import AuditEvent
from balise.domain.model import Scope
from balise.web.ui import labels
from balise.web.ui.i18n import LOCALE_DIR


def _french() -> dict[str, str]:
    with open(LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def test_every_audit_event_type_has_a_label_translated_into_french() -> None:
    vocabulary = labels.VOCABULARIES["audit_event"]
    unlabelled = [e.value for e in AuditEvent if e.value not in vocabulary]
    assert not unlabelled, f"audit event types without a label in web/ui/labels.py: {unlabelled}"
    french = _french()
    untranslated = [vocabulary[e.value] for e in AuditEvent if not french.get(vocabulary[e.value])]
    assert not untranslated, f"labels without a French translation: {untranslated}"


def test_every_api_scope_has_a_label_translated_into_french() -> None:
    vocabulary = labels.VOCABULARIES["scope"]
    assert {s.value for s in Scope} <= set(vocabulary)
    french = _french()
    assert all(french.get(vocabulary[s.value]) for s in Scope)
