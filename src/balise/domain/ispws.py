"""The NCMEC CyberTipline-compatible reporting API (``/ispws``): its response codes, the HTTP
status Balise sends beside each, and the deletion clock of unfinished reports (DOMAIN.md §4, §9).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum


class Code(IntEnum):
    """``responseCode`` values, as in NCMEC's documentation."""

    SUCCESS = 0
    SERVER_ERROR = 1000
    SAVE_FAILED = 1100
    UPLOAD_FAILED = 1110
    UPLOAD_REFUSED = 1111
    NOT_FOUND = 1210
    UPDATE_FAILED = 1300
    AUTHENTICATION_REQUIRED = 2000
    NOT_AUTHORIZED = 3000
    REPORT_NOT_AUTHORIZED = 3100
    FILE_NOT_AUTHORIZED = 3300
    INVALID_REQUEST = 4000
    VALIDATION_FAILED = 4100
    MALFORMED_XML = 4110
    MALFORMED_FILE = 4200
    NO_SUCH_REPORT = 5001
    NO_SUCH_FILE = 5002
    ALREADY_RETRACTED = 5101
    ALREADY_FINISHED = 5102


DESCRIPTIONS: dict[Code, str] = {
    Code.SUCCESS: "Success",
    Code.SERVER_ERROR: "Server error",
    Code.SAVE_FAILED: "Report save failed",
    Code.UPLOAD_FAILED: "File upload failed",
    Code.UPLOAD_REFUSED: "File upload refused",
    Code.NOT_FOUND: "Not found",
    Code.UPDATE_FAILED: "Update failed",
    Code.AUTHENTICATION_REQUIRED: "Authentication required",
    Code.NOT_AUTHORIZED: "Not authorized",
    Code.REPORT_NOT_AUTHORIZED: "Not authorized to access this report",
    Code.FILE_NOT_AUTHORIZED: "Not authorized to access this file",
    Code.INVALID_REQUEST: "Invalid request",
    Code.VALIDATION_FAILED: "Validation failed",
    Code.MALFORMED_XML: "Malformed XML",
    Code.MALFORMED_FILE: "Malformed file submittal",
    Code.NO_SUCH_REPORT: "Report does not exist",
    Code.NO_SUCH_FILE: "File does not exist",
    Code.ALREADY_RETRACTED: "Report already retracted",
    Code.ALREADY_FINISHED: "Report already finished",
}

# The HTTP status sent with each code (a client may rely on either; docs/ncmec-api.md lists them).
HTTP_STATUS: dict[Code, int] = {
    Code.SUCCESS: 200,
    Code.SERVER_ERROR: 500,
    Code.SAVE_FAILED: 500,
    Code.UPLOAD_FAILED: 500,
    Code.UPLOAD_REFUSED: 413,
    Code.NOT_FOUND: 404,
    Code.UPDATE_FAILED: 500,
    Code.AUTHENTICATION_REQUIRED: 401,
    Code.NOT_AUTHORIZED: 403,
    Code.REPORT_NOT_AUTHORIZED: 403,
    Code.FILE_NOT_AUTHORIZED: 403,
    Code.INVALID_REQUEST: 400,
    Code.VALIDATION_FAILED: 422,
    Code.MALFORMED_XML: 400,
    Code.MALFORMED_FILE: 400,
    Code.NO_SUCH_REPORT: 404,
    Code.NO_SUCH_FILE: 404,
    Code.ALREADY_RETRACTED: 409,
    Code.ALREADY_FINISHED: 409,
}


class IspwsError(Exception):
    """A refused request: the code, a precise description, and (rarely) another HTTP status
    than the code's usual one (413 for an oversized document, 415, 429, 405)."""

    def __init__(self, code: Code, detail: str, http_status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.http_status = http_status or HTTP_STATUS[code]
        self.headers = headers or {}

    @property
    def description(self) -> str:
        return f"{DESCRIPTIONS[self.code]}: {self.detail}"


class IspwsState:
    """States of a report opened through /ispws (not the Balise report life cycle)."""

    OPEN = "open"
    FINISHED = "finished"
    RETRACTED = "retracted"
    EXPIRED = "expired"


# CyberTipline API documentation: an unfinished report is deleted 24 hours after it was opened
# or one hour after its last change, whichever is later.
OPEN_LIFETIME = timedelta(hours=24)
IDLE_LIFETIME = timedelta(hours=1)


def deletion_deadline(opened_at: datetime, last_change_at: datetime) -> datetime:
    return max(opened_at + OPEN_LIFETIME, last_change_at + IDLE_LIFETIME)
