"""The audit vocabulary and the hash chain that makes the trail tamper-evident.

Each event type is ``subject:action``; every one is documented in docs/audit-events.md
(a test holds the two together). The chain: each event's MAC covers its own fields and the
MAC of the event before it, keyed by a key derived from the service secret, so that somebody
with write access to the database alone can neither edit, insert, reorder nor delete a row
without ``balise audit verify`` naming the first event that no longer fits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64


class AuditEvent(StrEnum):
    # Reports and what they hold.
    REPORT_CREATE = "report:create"
    REPORT_READ = "report:read"
    REPORT_TRANSITION = "report:transition"
    REPORT_IDEMPOTENT_REPLAY = "report:idempotent_replay"
    ITEM_CREATE = "item:create"
    ITEM_HASH = "item:hash"
    ITEM_READ = "item:read"
    ITEM_ASSESS = "item:assess"
    REPORT_CLAIM = "report:claim"
    REPORT_RELEASE = "report:release"
    REPORT_DECIDE = "report:decide"
    REPORT_PUBLIC_STATUS = "report:public_status"
    REPORT_PUBLIC_ADDITION = "report:public_addition"
    MEDIA_REVEAL = "media:reveal"
    MEDIA_PREVIEW = "media:preview"
    MEDIA_REFUSE = "media:refuse"
    # Wellness: the daily cap of reveals (docs/workbench.md, "Wellness").
    EXPOSURE_CAP_REACHED = "exposure:cap_reached"
    EXPOSURE_CAP_LIFT = "exposure:cap_lift"
    PERSON_CREATE = "person:create"
    PERSON_READ = "person:read"
    MEDIA_STORE = "media:store"
    MEDIA_READ = "media:read"
    MEDIA_HASH = "media:hash"
    # Indicators (CSAR Art. 44).
    INDICATOR_CREATE = "indicator:create"
    INDICATOR_STATUS = "indicator:status"
    INDICATOR_IMPORT = "indicator:import"
    INDICATOR_EXPORT = "indicator:export"
    INDICATOR_MATCH = "indicator:match"
    INDICATOR_CONFIRM = "indicator:confirm"
    INDICATOR_REJECT = "indicator:reject"
    USER_PREFERENCES = "user:preferences"
    # Evidence packages for law enforcement.
    PACKAGE_BUILD = "package:build"
    PACKAGE_CUSTODY = "package:custody"
    PACKAGE_SWEEP = "package:sweep"
    # Organisations and their credentials.
    ORG_CREATE = "org:create"
    ORG_SUSPEND = "org:suspend"
    ORG_REINSTATE = "org:reinstate"
    ORG_CONTACT_UPDATE = "org:contact_update"
    APIKEY_CREATE = "apikey:create"
    APIKEY_REVOKE = "apikey:revoke"
    APIKEY_REFUSED = "apikey:refused"
    # Access grants (CSAR Art. 46, docs/oversight.md).
    GRANT_REQUEST = "grant:request"
    GRANT_APPROVE = "grant:approve"
    GRANT_REJECT = "grant:reject"
    GRANT_REVOKE = "grant:revoke"
    GRANT_EXPIRE = "grant:expire"
    GRANT_REFUSE = "grant:refuse"
    # Orders: removal, blocking, detection (CSAR Art. 7, 14, 16; docs/orders.md).
    ORDER_KEY_REGISTER = "order:key_register"
    ORDER_CREATE = "order:create"
    ORDER_READ = "order:read"
    ORDER_TRANSITION = "order:transition"
    ORDER_EXECUTE = "order:execute"
    ORDER_OPINION = "order:opinion"
    ORDER_NON_DISCLOSURE_RENEW = "order:non_disclosure_renew"
    ORDER_GRANT = "order:grant"
    ORDER_RECHECK = "order:recheck"
    ORDER_ESCALATE = "order:escalate"
    EXCHANGE_FETCH = "exchange:fetch"
    EXCHANGE_SUBSCRIBE = "exchange:subscribe"
    EXCHANGE_PULL = "exchange:pull"
    EXCHANGE_PULL_REFUSED = "exchange:pull_refused"
    # Federation: partner installations and referrals of URL reports (docs/federation.md).
    FEDERATION_PARTNER_ADD = "federation:partner_add"
    FEDERATION_PARTNER_SET = "federation:partner_set"
    FEDERATION_PARTNER_REMOVE = "federation:partner_remove"
    REFERRAL_SEND = "referral:send"
    REFERRAL_ACKNOWLEDGED = "referral:acknowledged"
    REFERRAL_SEND_REFUSED = "referral:send_refused"
    REFERRAL_RECEIVE = "referral:receive"
    REFERRAL_REFUSE = "referral:refuse"
    REFERRAL_CLOSE = "referral:close"
    REFERRAL_OUTCOME_SEND = "referral:outcome_send"
    REFERRAL_OUTCOME_RECEIVE = "referral:outcome_receive"
    # Staff.
    USER_CREATE = "user:create"
    USER_LOGIN = "user:login"
    USER_LOGIN_FAILED = "user:login_failed"
    USER_LOGOUT = "user:logout"
    USER_DISABLE = "user:disable"
    USER_ENABLE = "user:enable"
    USER_ROLE_CHANGE = "user:role_change"
    USER_RESET_TOTP = "user:reset_totp"
    USER_ENROLMENT_LINK = "user:enrolment_link"
    USER_ENROL = "user:enrol"
    USER_SSO_LINK = "user:sso_link"
    USER_SECURITY_KEY_ADD = "user:security_key_add"
    USER_SECURITY_KEY_REMOVE = "user:security_key_remove"
    USER_SECURITY_KEY_REFUSED = "user:security_key_refused"
    SSO_REFUSED = "sso:refused"
    # Routing, notice-and-takedown, holds (issue 5).
    PARTNER_CREATE = "partner:create"
    PARTNER_UPDATE = "partner:update"
    PARTNER_SEED = "partner:seed"
    URL_FETCH = "url:fetch"
    REPORT_ROUTE = "report:route"
    NOTICE_CREATE = "notice:create"
    NOTICE_SEND = "notice:send"
    NOTICE_FAIL = "notice:fail"
    NOTICE_ACKNOWLEDGE = "notice:acknowledge"
    NOTICE_RETRY = "notice:retry"
    TAKEDOWN_CHECK = "takedown:check"
    TAKEDOWN_REMOVED = "takedown:removed"
    TAKEDOWN_ESCALATE = "takedown:escalate"
    HOLD_SET = "hold:set"
    HOLD_LIFT = "hold:lift"
    HOLD_EXPIRE = "hold:expire"
    # The NCMEC CyberTipline-compatible API (/ispws).
    ISPWS_CREDENTIAL_CREATE = "ispws:credential_create"
    ISPWS_CREDENTIAL_REVOKE = "ispws:credential_revoke"
    ISPWS_REPORT_OPEN = "ispws:report_open"
    ISPWS_FILE_UPLOAD = "ispws:file_upload"
    ISPWS_FILE_DETAILS = "ispws:file_details"
    ISPWS_REPORT_FINISH = "ispws:report_finish"
    ISPWS_REPORT_RETRACT = "ispws:report_retract"
    ISPWS_REPORT_EXPIRE = "ispws:report_expire"
    ISPWS_REPORT_RETYPE = "ispws:report_retype"
    # Cross-report entities (docs/intelligence.md).
    ENTITY_EXTRACT = "entity:extract"
    ENTITY_SEARCH = "entity:search"
    ENTITY_GRAPH = "entity:graph"
    FINANCIAL_ALERT = "financial:alert"
    FINANCIAL_ANSWER = "financial:answer"
    LEAD_RECORD = "lead:record"
    LEAD_READ = "lead:read"
    MEDIA_DELETE = "media:delete"
    # Retention (docs/retention.md).
    REPORT_REDACT = "report:redact"
    REPORT_STAFF_COMPLETE = "report:staff_complete"
    ORGANISATION_REPORT_DEFAULTS = "organisation:report_defaults"
    REPORTER_CONTACT_READ = "reporter:contact_read"
    REPORTER_CONTACT_DELETE = "reporter:contact_delete"
    PACKAGE_DELETE = "package:delete"
    RETENTION_RUN = "retention:run"
    # The trail itself.
    AUDIT_VERIFY = "audit:verify"
    AUDIT_READ = "audit:read"
    # Operations (docs/deployment.md#backup-and-restore).
    BACKUP_CREATE = "backup:create"
    BACKUP_RESTORE = "backup:restore"
    # The Article 83 statistics (docs/transparency.md).
    TRANSPARENCY_BUILD = "transparency:build"
    AUDIT_CHECKPOINT = "audit:checkpoint"

    # Series and identified victims, victims' requests (docs/victims.md).
    SERIES_CREATE = "series:create"
    SERIES_LINK = "series:link"
    SERIES_MERGE = "series:merge"
    SERIES_SPLIT = "series:split"
    SERIES_CONFIRM = "series:confirm"
    SERIES_IDENTIFY = "series:identify"
    SERIES_READ = "series:read"
    SERIES_EXPORT = "series:export"
    SERIES_RECLUSTER = "series:recluster"
    VICTIM_REQUEST_FILE = "victim_request:file"
    VICTIM_REQUEST_REFUSE = "victim_request:refuse"
    VICTIM_REQUEST_ANSWER = "victim_request:answer"
    VICTIM_REQUEST_READ = "victim_request:read"
    VICTIM_REQUEST_REMOVAL = "victim_request:removal"
    VICTIM_REQUEST_ORDER = "victim_request:order"

    CLOCK_OVERDUE = "clock:overdue"
    CLOCK_WARNING = "clock:warning"
    # Article 36 submissions, indicator provenance and the URL list (docs/orders.md).
    SUBMISSION_CREATE = "submission:create"
    SUBMISSION_REFUSE = "submission:refuse"
    SUBMISSION_WITHDRAW = "submission:withdraw"
    INDICATOR_AUTHORITY_CONFIRM = "indicator:authority_confirm"
    INDICATOR_CLOCK_EXTEND = "indicator:clock_extend"
    INDICATOR_HISTORY_READ = "indicator:history_read"
    INDICATOR_VERIFY = "indicator:verify"
    URL_LIST_ADD = "urllist:add"
    URL_LIST_REMOVE = "urllist:remove"
    URL_LIST_EXPORT = "urllist:export"
    URL_LIST_VERIFY = "urllist:verify"

    @property
    def subject(self) -> str:
        return self.value.split(":", 1)[0]

    @property
    def action(self) -> str:
        return self.value.split(":", 1)[1]


@dataclass(frozen=True)
class ChainFields:
    """The fields an event's MAC covers, in a fixed canonical form."""

    seq: int
    occurred_at: datetime
    event_type: str
    actor_type: str
    actor_id: str
    subject_type: str
    subject_id: str
    purpose: str
    details: dict[str, Any]
    prev_mac: str

    def canonical(self) -> bytes:
        body = {
            "seq": self.seq,
            "occurred_at": _utc_iso(self.occurred_at),
            "event_type": self.event_type,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "purpose": self.purpose,
            "details": self.details,
            "prev_mac": self.prev_mac,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _utc_iso(value: datetime) -> str:
    # SQLite hands datetimes back naive; they are stored in UTC, so both forms hash the same.
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def event_mac(key: bytes, fields: ChainFields) -> str:
    return hmac.new(key, fields.canonical(), hashlib.sha256).hexdigest()


def derive_audit_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"balise audit chain v1", hashlib.sha256).digest()
