"""Staff single sign-on pages: "Sign in with <provider>" sends the browser to the OpenID Connect
provider; its answer comes back to the callback, which signs the account in or refuses with one
generic message (the reason is in the audit trail as sso:refused). Between the two, the state,
nonce and PKCE verifier wait in a signed cookie of their own: SameSite=Lax, because the staff
session cookie (SameSite=Strict) is not sent on the provider's redirect back."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from balise.accounts.ports import PendingSignIn, SsoRefused
from balise.web.ui.routes import N_, render

router = APIRouter(prefix="/ui", include_in_schema=False)
COOKIE = "balise_sso"
COOKIE_PATH = "/ui/login/sso"
PENDING_SECONDS = 600
GENERIC = N_("Single sign-on did not work. Try again, or sign in with your Balise user name and password.")


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.balise.settings.secret_key.get_secret_value(),
                                  salt="balise sso pending sign-in")


def _pending(request: Request) -> PendingSignIn | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        return PendingSignIn(**_serializer(request).loads(raw, max_age=PENDING_SECONDS))
    except (BadSignature, TypeError):
        return None


def _refuse(request: Request, name: str, refusal: SsoRefused, status: int = 401) -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        balise.sso.refused(session, name, refusal)
    response = render(request, "login.html", status=status, error=GENERIC, enrolled=False)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.get("/login/sso/{name}")
def sso_start(request: Request, name: str) -> Response:
    balise = request.app.state.balise
    if name not in dict(balise.sso.providers()):
        return render(request, "login.html", status=404, error=GENERIC, enrolled=False)
    redirect_uri = str(request.url_for("sso_callback", name=name))
    try:
        url, pending = balise.sso.start(name, redirect_uri)
    except SsoRefused as refusal:
        return _refuse(request, name, refusal, status=502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(COOKIE, _serializer(request).dumps(asdict(pending)), max_age=PENDING_SECONDS,
                        path=COOKIE_PATH, httponly=True, samesite="lax",
                        secure=not balise.settings.is_development)
    return response


@router.get("/login/sso/{name}/callback", name="sso_callback")
def sso_callback(request: Request, name: str) -> Response:
    balise = request.app.state.balise
    client = request.client.host if request.client else "unknown"
    allowed, _ = request.app.state.login_limiter.hit("sso", client)
    if not allowed:
        return render(request, "login.html", status=429, error=N_("Too many attempts. Try again in a minute."),
                      enrolled=False)
    if name not in dict(balise.sso.providers()):
        return render(request, "login.html", status=404, error=GENERIC, enrolled=False)
    params = {k: request.query_params.get(k, "") for k in ("state", "code", "error")}
    try:
        with balise.db.transaction() as session:
            user = balise.sso.finish(session, _pending(request), name, params)
            user_id = str(user.id)
            # A role that must use a security key proves it after the provider too.
            key_step = balise.security_keys.required_for(user) and balise.security_keys.has_key(session, user)
    except SsoRefused as refusal:
        return _refuse(request, name, refusal)
    request.session.clear()
    if key_step:
        request.session["pending_user"] = user_id
        request.session["pending_at"] = balise.clock().timestamp()
        request.session["pending_sso"] = True
        response = render(request, "signed_in.html", user=None, next_url="/ui/login/key")
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response
    request.session["user_id"] = user_id
    request.session["login_at"] = balise.clock().timestamp()
    # A page of our own rather than a redirect: the browser then opens /ui/ from this site, so
    # the new SameSite=Strict session cookie goes with it.
    response = render(request, "signed_in.html", user=None)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
