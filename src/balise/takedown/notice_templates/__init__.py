"""Notices: what Balise writes to hosts, hotlines, police, the coordinating authority and
reporting providers, rendered from templates in the recipient's language. Delivery is the
adapters' job (balise.takedown.adapters.mail_smtp, mail_outbox, webhook)."""

from balise.takedown.notice_templates.context import (
    FEEDBACK_REASONS,
    FINANCIAL_REASONS,
    PAYMENT_IDENTIFIER_KINDS,
    KINDS,
    LEGAL_BASES,
    REPORT_TYPES,
    TIMELINE_EVENTS,
    NoticeContextError,
    NoticeError,
    UnknownNoticeKind,
)
from balise.takedown.notice_templates.references import NOTICE_REFERENCE_RE, is_notice_reference, new_notice_reference
from balise.takedown.notice_templates.render import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    RenderedNotice,
    choose_language,
    render_notice,
)

__all__ = [
    "DEFAULT_LANGUAGE", "FEEDBACK_REASONS", "FINANCIAL_REASONS", "PAYMENT_IDENTIFIER_KINDS", "KINDS", "LANGUAGES", "LEGAL_BASES", "NOTICE_REFERENCE_RE",
    "REPORT_TYPES", "TIMELINE_EVENTS", "NoticeContextError", "NoticeError", "RenderedNotice",
    "UnknownNoticeKind", "choose_language", "is_notice_reference", "new_notice_reference", "render_notice",
]
