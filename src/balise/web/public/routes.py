"""The public reporting pages under /report: no account, no session cookie (only the CSRF
cookie), no third-party resources, no inline script or style, in English, French and German.

Abuse protection does not identify anyone: rate-limit buckets are keyed by a keyed hash of
the address (the key is random per process), held only in memory, and never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from balise.intake.public_reports import (
    MAX_ADDITION,
    MAX_DESCRIPTION,
    PublicReports,
    Status,
    normalise_number,
)
from balise.intake.report_schema import MAX_URL, ReportIn, check_url
from balise.web.public import i18n


def P_(message: str) -> str:
    """Marks a message of the public pages for extraction (``-k P_``; the staff catalogue's
    extraction, which looks for ``_``, ``gettext`` and ``N_``, leaves these alone)."""
    return message


TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.add_extension("jinja2.ext.i18n")
TEMPLATES.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)

# Per address, in memory only. Tests may lower them before the first request.
# Per report number, whatever the address: bounds guessing one report's secret.
TOKEN_MAX_AGE = 30 * 60
MAX_NAME = 200
MAX_EMAIL = 320
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
POST_PATHS = frozenset({f"/report/{lang}{suffix}" for lang in i18n.LOCALES for suffix in ("", "/status", "/status/add")})

STATES = {
    Status.RECEIVED: (P_("Received"), P_("We have your report. Someone from our team will look at it soon.")),
    Status.LOOKING: (P_("Being looked at"), P_("A trained person from our team is looking at your report.")),
    Status.POLICE: (P_("Passed to the police"), P_("We passed your report to the police. They will take it from here.")),
    Status.CLOSED: (P_("Closed"), P_("We have finished with your report. Thank you for telling us.")),
}
# Refusals of a form body by the guard in front of the routes (web/forms.py), by its code.
REFUSALS = {
    "too_large": (P_("Too much was sent"),
                  P_("The form was larger than we accept (at most %(limit)s bytes). Please shorten what you wrote "
                     "and send it again.")),
    "nul_character": (P_("A character is not allowed"),
                      P_("The field “%(field)s” contains a character that is not allowed (a NUL character). "
                         "Please remove it and send the form again.")),
    "malformed_form": (P_("The form could not be read"),
                       P_("What was sent could not be read as this form. Please go back and send it again.")),
    "csrf_failed": (P_("Please send the form from its page"),
                    P_("For your safety, this form works only from its page on this site. Please open the form "
                       "again and send it from there.")),
}
# The fields of the public forms, named as their labels name them.
FIELD_LABELS = {
    "url": P_("Web address (URL) where you saw it"), "description": P_("What happened?"),
    "name": P_("Your name (optional)"), "email": P_("Your email (optional)"), "number": P_("Report number"),
    "secret": P_("Secret code"), "text": P_("What do you want to add?"),
}
LOOKUP_FAILED = P_("We could not find a report with this number and secret code. Check them and try again.")


def _process_key() -> bytes:
    return secrets.token_bytes(32)


_BUCKET_KEY = _process_key()


def _bucket(request: Request) -> str:
    """A per-address bucket name that is not the address (keyed hash, key random per process)."""
    host = request.client.host if request.client else "unknown"
    return hmac.new(_BUCKET_KEY, host.encode(), hashlib.sha256).hexdigest()[:32]


def _settings(request: Request) -> Any:
    return request.app.state.balise.settings


def _limiter(request: Request, name: str, spec: str) -> Any:
    from balise.web.limits import RateLimiter

    state = request.app.state
    limiters = getattr(state, "public_limiters", None)
    if limiters is None:
        limiters = state.public_limiters = {}
    if name not in limiters:
        # Always memory://, even when staff limits are shared in Redis: no address leaves the process.
        limiters[name] = RateLimiter(spec, "memory://")
    return limiters[name]


def _service(request: Request) -> PublicReports:
    state = request.app.state
    service = getattr(state, "public_reports", None)
    if service is None:
        balise = state.balise
        service = state.public_reports = PublicReports(
            balise.intake, balise.audit, balise.db.sessions, balise.clock,
            balise.settings.secret_key.get_secret_value())
    return service


def _serializer(request: Request) -> URLSafeTimedSerializer:
    key = request.app.state.balise.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(key, salt="balise public report status v1")


def _lang(lang: str) -> str | None:
    return lang if lang in i18n.LOCALES else None


def render(request: Request, locale: str, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    i18n.activate(locale)
    token = request.scope.get("csrftoken")
    suffix = context.pop("suffix", "")

    def here(code: str) -> str:
        return f"/report/{code}{suffix}"

    context.setdefault("errors", {})
    context.setdefault("values", {})
    response = TEMPLATES.TemplateResponse(request, template, {
        "csrftoken": token() if token else "", "locale": locale, "languages": i18n.LANGUAGE_NAMES,
        "here": here, "quick_exit_url": request.app.state.balise.settings.quick_exit_url, "max_description": MAX_DESCRIPTION, "max_addition": MAX_ADDITION, "max_url": MAX_URL,
        **context}, status_code=status)
    response.headers["cache-control"] = "no-store"
    response.headers["content-language"] = locale
    return response


def _limited(request: Request, locale: str, retry: int, back: str) -> HTMLResponse:
    response = render(request, locale, "limited.html", status=429, minutes=max(1, (retry + 59) // 60), back=back)
    response.headers["retry-after"] = str(retry)
    return response


def refused(request: Request, refusal: Any) -> HTMLResponse:
    """The page for a form body the guard refused (web/forms.py), in the page's language."""
    parts = request.url.path.split("/")
    locale = _lang(parts[2]) if len(parts) > 2 else None
    locale = locale or i18n.negotiate(request.headers.get("accept-language"))
    i18n.activate(locale)
    title, message = REFUSALS[refusal.code]
    field = refusal.field or ""
    text = i18n.gettext(message) % {"limit": refusal.limit, "field": i18n.gettext(FIELD_LABELS.get(field, field))}
    back = request.url.path if request.url.path.startswith("/report/") else f"/report/{locale}"
    suffix = "/" + "/".join(parts[3:]) if len(parts) > 3 else ""
    return render(request, locale, "refused.html", status=refusal.status, title=i18n.gettext(title), message=text,
                  back=back, suffix=suffix)


def _not_found(request: Request) -> HTMLResponse:
    return HTMLResponse("Not found", status_code=404)


# -- routes -------------------------------------------------------------------------------

@router.get("/weather")
def weather(request: Request) -> HTMLResponse:
    """The quick exit's default target (BALISE_QUICK_EXIT_URL): a neutral page that says nothing
    about reporting, in no language of the form, with nothing of the form in it."""
    response = TEMPLATES.TemplateResponse(request, "weather.html", {})
    response.headers["cache-control"] = "no-store"
    return response


@router.get("/report")
def choose_language(request: Request) -> Response:
    return RedirectResponse(f"/report/{i18n.negotiate(request.headers.get('accept-language'))}", status_code=303)


@router.get("/report/status")
def choose_status_language(request: Request) -> Response:
    return RedirectResponse(f"/report/{i18n.negotiate(request.headers.get('accept-language'))}/status", status_code=303)


@router.get("/report/{lang}")
def form(request: Request, lang: str) -> Response:
    locale = _lang(lang)
    if locale is None:
        return _not_found(request)
    return render(request, locale, "form.html", values={"what": "unsure"})


def _clean_url(value: str) -> str:
    value = value.strip()
    if value and "://" not in value and not any(c.isspace() for c in value):
        value = "https://" + value  # people copy "www.example.com/page"
    return value


def _valid_url(value: str) -> bool:
    if any(c.isspace() for c in value):
        return False
    try:
        check_url(value)
    except ValueError:
        return False
    from urllib.parse import urlsplit

    host = urlsplit(value).hostname or ""
    return "." in host or host.startswith("[")


@router.post("/report/{lang}")
async def submit(request: Request, lang: str) -> Response:
    locale = _lang(lang)
    if locale is None:
        return _not_found(request)
    i18n.activate(locale)
    tr = i18n.gettext
    data = await request.form()
    values = {k: str(data.get(k, "")) for k in ("url", "description", "what", "name", "email")}
    values["danger"] = data.get("danger") == "yes"
    values["keep_ip"] = data.get("keep_ip") == "yes"
    description = values["description"].strip()
    raw_url = values["url"].strip()
    url = _clean_url(raw_url)
    name, email = values["name"].strip(), values["email"].strip()
    errors: dict[str, str] = {}
    if not raw_url and not description:
        message = tr("Give the web address, or tell us what happened (or both).")
        errors["url"] = message
        errors["description"] = message
    if raw_url and (len(url) > MAX_URL or not _valid_url(url)):
        errors["url"] = tr("This web address does not look right. It should look like https://example.com/page")
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = tr("This text is too long: at most %(max)s characters, and you wrote %(count)s.") % {
            "max": MAX_DESCRIPTION, "count": len(description)}
    if len(name) > MAX_NAME:
        errors["name"] = tr("Your name is too long: at most %(max)s characters.") % {"max": MAX_NAME}
    if email and (len(email) > MAX_EMAIL or not EMAIL_RE.fullmatch(email)):
        errors["email"] = tr("This email address does not look right. You can also leave it empty.")
    if errors:
        return render(request, locale, "form.html", status=422, errors=errors, values=values)

    allowed, retry = await run_in_threadpool(
        _limiter(request, "report", _settings(request).public_report_rate_limit).hit, "public-report", _bucket(request))
    if not allowed:
        return _limited(request, locale, retry, f"/report/{locale}")

    what = values["what"]
    now = request.app.state.balise.clock()
    document = {
        "reported_at": now.isoformat(),
        "type": "solicitation" if what == "contact" else "new_csam",
        "service": {"type": "other"},
        "awareness": {"source": "other", "detail": "public reporting form"
                      + {"pictures": ": pictures or videos", "contact": ": contact with a child"}.get(what, ": not sure")},
        "content_removed": False,
        "urgent": values["danger"],
        "imminent_threat": values["danger"],
        "additional_info": description or None,
        "items": [{"kind": "url", "url": url}] if raw_url else [{"kind": "url", "url": "https://placeholder.invalid/"}],
    }
    try:
        report = ReportIn.model_validate(document)
    except ValidationError:
        errors["url"] = tr("This web address does not look right. It should look like https://example.com/page")
        return render(request, locale, "form.html", status=422, errors=errors, values=values)
    if not raw_url:
        # A description alone is a valid public report: it has no item.
        report = report.model_copy(update={"items": []})
    ip = request.client.host if (values["keep_ip"] and request.client) else None
    filed = await run_in_threadpool(_service(request).file, report, language=locale, name=name or None,
                                    email=email or None, ip=ip)
    return render(request, locale, "done.html", number=filed.number, secret=filed.secret,
                  url=url if raw_url else None, description=description)


@router.get("/report/{lang}/status")
def status_form(request: Request, lang: str) -> Response:
    locale = _lang(lang)
    if locale is None:
        return _not_found(request)
    return render(request, locale, "status.html", suffix="/status")


def _result(request: Request, locale: str, found: Any, status: int = 200, **context: Any) -> HTMLResponse:
    i18n.activate(locale)
    label, text = STATES[found.status]
    steps = [(key, i18n.gettext(STATES[key][0])) for key in (Status.RECEIVED, Status.LOOKING, Status.POLICE, Status.CLOSED)]
    token = _serializer(request).dumps({"n": found.number})
    return render(request, locale, "result.html", status=status, found=found, state_label=i18n.gettext(label),
                  state_text=i18n.gettext(text), steps=steps, token=token, suffix="/status", **context)


@router.post("/report/{lang}/status")
async def status_lookup(request: Request, lang: str) -> Response:
    locale = _lang(lang)
    if locale is None:
        return _not_found(request)
    i18n.activate(locale)
    tr = i18n.gettext
    data = await request.form()
    number, secret = str(data.get("number", ""))[:60].strip(), str(data.get("secret", ""))[:80].strip()
    errors: dict[str, str] = {}
    if not number:
        errors["number"] = tr("Please type your report number.")
    if not secret:
        errors["secret"] = tr("Please type your secret code.")
    if errors:
        return render(request, locale, "status.html", status=422, errors=errors, values={"number": number},
                      suffix="/status")
    back = f"/report/{locale}/status"
    allowed, retry = await run_in_threadpool(
        _limiter(request, "status", _settings(request).public_status_rate_limit).hit, "public-status", _bucket(request))
    # One bucket per report, however the number is typed ("bal abcd efgh", "ABCD-EFGH"...):
    # the key is the number as the lookup reads it. Text that is no report number at all
    # cannot reach a report's secret, so it only counts against the address.
    canonical = normalise_number(number)
    if allowed and canonical:
        allowed, retry = await run_in_threadpool(
            _limiter(request, "number", _settings(request).public_number_rate_limit).hit, "public-number", canonical)
    if not allowed:
        return _limited(request, locale, retry, back)
    found = await run_in_threadpool(_service(request).lookup, number, secret)
    if found is None:
        return render(request, locale, "status.html", status=404, failed=tr(LOOKUP_FAILED),
                      values={"number": number}, suffix="/status")
    return _result(request, locale, found)


@router.post("/report/{lang}/status/add")
async def status_add(request: Request, lang: str) -> Response:
    locale = _lang(lang)
    if locale is None:
        return _not_found(request)
    i18n.activate(locale)
    tr = i18n.gettext
    data = await request.form()
    text = str(data.get("text", "")).strip()
    try:
        number = _serializer(request).loads(str(data.get("token", "")), max_age=TOKEN_MAX_AGE)["n"]
    except (BadSignature, KeyError, TypeError):
        return render(request, locale, "status.html", status=403,
                      failed=tr("This page has expired. Please check your report again."), suffix="/status")
    service = _service(request)
    allowed, retry = await run_in_threadpool(
        _limiter(request, "status", _settings(request).public_status_rate_limit).hit, "public-status", _bucket(request))
    if not allowed:
        return _limited(request, locale, retry, f"/report/{locale}/status")
    errors: dict[str, str] = {}
    if not text:
        errors["text"] = tr("Please write what you want to add.")
    elif len(text) > MAX_ADDITION:
        errors["text"] = tr("This text is too long: at most %(max)s characters, and you wrote %(count)s.") % {
            "max": MAX_ADDITION, "count": len(text)}
    if errors:
        found = await run_in_threadpool(service.status_by_number, number)
        if found is None:
            return _not_found(request)
        return _result(request, locale, found, status=422, errors=errors, values={"text": text})
    outcome = await run_in_threadpool(service.add_information_by_number, number, text)
    if outcome is None:
        return _not_found(request)
    found, added = outcome
    return _result(request, locale, found, added=added)
