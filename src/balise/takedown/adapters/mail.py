"""The email both mail adapters produce.

A notice email is plain text (UTF-8, quoted-printable) to one recipient. Its Message-ID is
derived from the notice reference (``<BAL-N-…@sender-domain>``) so that a retried send is the
same message to every mail system and ticketing tool on the way; ``X-Balise-Reference``
carries the reference for abuse desks that file by header.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage

from balise.domain.mail import is_address
from balise.ports import DeliveryError, OutgoingEmail

_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")
MAX_SUBJECT = 900
MAX_BODY = 1024 * 1024


def message_id_for(reference: str, sender: Address) -> str:
    return f"<{reference}@{sender.domain}>"


def _invalid(code: str, message: str) -> DeliveryError:
    return DeliveryError(False, code, message)


def build_email(message: OutgoingEmail, sender: Address, now: datetime) -> EmailMessage:
    """The message as it is sent; DeliveryError (permanent) when any part of it is unusable."""
    if not is_address(message.to):
        raise _invalid("invalid_address", f"recipient {str(message.to)[:100]!r} is not an email address")
    if message.reply_to is not None and not is_address(message.reply_to):
        raise _invalid("invalid_address", f"Reply-To {str(message.reply_to)[:100]!r} is not an email address")
    if not isinstance(message.reference, str) or not _REFERENCE.match(message.reference):
        raise _invalid("invalid_message", f"reference {str(message.reference)[:100]!r} must be letters, digits, "
                                          "'.', '_' or '-' (at most 128)")
    if not isinstance(message.subject, str) or not message.subject.strip():
        raise _invalid("invalid_message", "the subject is empty")
    if any(c in message.subject for c in "\r\n\0") or len(message.subject) > MAX_SUBJECT:
        raise _invalid("invalid_message", f"the subject must be one line of at most {MAX_SUBJECT} characters")
    if not isinstance(message.body, str) or not message.body.strip():
        raise _invalid("invalid_message", "the body is empty")
    if "\0" in message.body or len(message.body.encode("utf-8", "surrogatepass")) > MAX_BODY:
        raise _invalid("invalid_message", f"the body must be text of at most {MAX_BODY} bytes without NUL")
    if message.language is not None and not (isinstance(message.language, str) and _LANGUAGE.match(message.language)):
        raise _invalid("invalid_message", f"language {str(message.language)[:20]!r} is not a language tag")
    try:
        message.body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _invalid("invalid_message", f"the body is not valid Unicode text: {exc.reason}") from exc

    try:
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = sender
        msg["To"] = message.to
        if message.reply_to:
            msg["Reply-To"] = message.reply_to
        msg["Subject"] = message.subject
        msg["Date"] = email.utils.format_datetime(now if now.tzinfo else now.replace(tzinfo=timezone.utc))
        msg["Message-ID"] = message_id_for(message.reference, sender)
        msg["X-Balise-Reference"] = message.reference
        msg.set_content(message.body, subtype="plain", charset="utf-8", cte="quoted-printable")
        if message.language:  # after set_content, which replaces every Content-* header
            msg["Content-Language"] = message.language
    except (ValueError, TypeError) as exc:  # the email package's own header checks
        raise _invalid("invalid_message", f"cannot build the message: {exc}") from exc
    return msg


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
