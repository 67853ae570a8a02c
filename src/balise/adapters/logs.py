"""One log format for every process, and the request id carried by every line.

``BALISE_LOG_FORMAT=json`` (the default outside development) writes one JSON object per line to
standard error: ``time``, ``level``, ``logger``, ``message``, ``request_id`` (when the line was
written while serving an HTTP request, or while running a job that such a request enqueued) and
``exc_info`` for errors. ``console`` writes the same fields as text.

The request id lives in a context variable: Starlette copies the context into the thread that
runs a synchronous endpoint, the job queue stores it on each job it enqueues, and the worker
binds it again while that job runs. Log messages never carry personal data nor hashes of
content; a request id is an opaque token chosen by the caller or generated here.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("balise_request_id", default=None)

# Accepted from X-Request-ID as given (a proxy's or a client's own id): short, printable, no
# spaces or separators that could forge a log field. Anything else is replaced by a new id.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}")


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(given: str | None) -> str:
    """The caller's id when it is sane, else a new one."""
    if given and _SANE.fullmatch(given):
        return given
    return new_request_id()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is emitted (not when configured)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def configure_logging(as_json: bool, level: str = "INFO", access_log: bool = False) -> None:
    """Install (once; again replaces it) the root handler writing the chosen format to standard
    error; uvicorn's loggers (run without their own configuration) propagate to it. Handlers
    installed by others are left alone. uvicorn's access log (every client's address, anonymous
    reporters' too) reaches it only with ``access_log``: uvicorn writes access lines whenever
    its access logger has somewhere to write, and each process of `serve --workers N` calls
    this after uvicorn set its own logging up."""
    handler = _StderrHandler()
    handler.addFilter(_RequestIdFilter())
    if as_json:
        from pythonjsonlogger.core import RESERVED_ATTRS
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            ["asctime", "levelname", "name", "message", "request_id"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn adds a copy of its message with terminal colours: not for a log collector.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            datefmt="%Y-%m-%dT%H:%M:%S%z"))
    else:
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = access_log if name == "uvicorn.access" else True
