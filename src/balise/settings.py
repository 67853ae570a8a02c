"""One validated settings object for the whole service.

Every value comes from the environment with the prefix ``BALISE_``. Secrets may instead be
read from a file named by ``BALISE_<NAME>_FILE`` (Docker/Kubernetes secrets), which wins over
the plain variable so that a secret never has to sit in a process environment.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "BALISE_"

# Development-only defaults. They are public (they are in this file), so the service refuses
# to start with them anywhere but in development.
DEV_SECRET_KEY = "balise-development-secret-key-do-not-use-in-production"
DEV_VAULT_KEY = base64.b64encode(b"balise-dev-vault-key-not-secret!").decode()

# Every setting that is or may carry a secret (a database or Redis URL holds its password):
# each may be read from the file named by BALISE_<NAME>_FILE instead of the environment.
SECRET_FIELDS = ("secret_key", "vault_key", "smtp_password", "database_url", "rate_limit_storage", "metrics_token")
DEFAULT_MAIL_FROM = "Balise <notices@balise.invalid>"
# Development only: where the generated evidence-package signing key is kept, under data_dir.
DEV_SIGNING_KEY_NAME = "signing-key.pem"
# Development only: the generated audit checkpoint key, under data_dir.
DEV_CHECKPOINT_KEY_NAME = "checkpoint-key.pem"


def static_hosts(value: str) -> dict[str, list[str]]:
    """"host=1.2.3.4,host=::1" -> {"host": ["1.2.3.4", "::1"]}; anything else is refused."""
    import ipaddress

    table: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, sep, address = part.partition("=")
        try:
            ipaddress.ip_address(address.strip())
        except ValueError:
            raise ValueError(f"{part!r} is not name=address") from None
        if not sep or not name.strip():
            raise ValueError(f"{part!r} is not name=address")
        table.setdefault(name.strip().lower(), []).append(address.strip())
    return table


_DELAY_UNITS = {"m": 60, "h": 3600, "d": 86400}


def parse_delays(value: str) -> list[timedelta]:
    """"1h,6h,24h,72h,7d" -> increasing delays; anything else is refused with the culprit."""
    delays = []
    for part in value.split(","):
        part = part.strip()
        unit = _DELAY_UNITS.get(part[-1:])
        if unit is None or not part[:-1].isdigit() or int(part[:-1]) <= 0:
            raise ValueError(f"{part!r} is not a delay like 30m, 6h or 7d")
        delays.append(timedelta(seconds=int(part[:-1]) * unit))
    if delays != sorted(delays) or len(set(delays)) != len(delays):
        raise ValueError("removal check delays must increase")
    return delays


# Retention settings: the unit each one counts in (by its name's last word) and a ceiling that
# keeps dates computable (100 years; a day of seconds; a batch of 10 000 records).
RETENTION_LIMITS = {"days": ("days", 36_500), "seconds": ("seconds", 86_400), "size": ("records", 10_000)}


class UnsafeConfiguration(RuntimeError):
    """The configuration must not be used to run the service (outside development)."""


STAFF_ROLES = ("admin", "analyst", "senior-analyst", "le-liaison", "auditor")


class OidcProvider(BaseModel):
    """One OpenID Connect issuer staff may sign in with (BALISE_OIDC_PROVIDERS, a JSON list;
    docs/configuration.md#single-sign-on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    label: str = Field(min_length=1, max_length=80)
    issuer: str
    client_id: str = Field(min_length=1, max_length=255)
    # The client secret: from a file (outside development), or inline in development only.
    client_secret_file: Path | None = None
    client_secret: SecretStr | None = None
    scopes: str = "openid profile email"
    username_claim: str = "preferred_username"
    role_claim: str = "groups"
    # Claim value -> Balise role; the first entry (in this order) whose value the claim holds wins.
    roles: dict[str, str] = Field(min_length=1)
    # Just-in-time accounts: a first sign-in with a mapped role and no Balise account creates one.
    create_accounts: bool = False

    @field_validator("issuer")
    @classmethod
    def _issuer_is_a_url(cls, value: str) -> str:
        value = value.rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError(f"issuer must be an http(s) URL, not {value!r}")
        return value

    @field_validator("roles")
    @classmethod
    def _roles_are_staff_roles(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted({role for role in value.values() if role not in STAFF_ROLES})
        if wrong:
            raise ValueError(f"roles maps to unknown roles {wrong}; one of {', '.join(STAFF_ROLES)}")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> OidcProvider:
        if (self.client_secret_file is None) == (self.client_secret is None):
            raise ValueError(f"OIDC provider {self.name!r}: give client_secret_file (or, in development, "
                             "client_secret), not both")
        if self.client_secret_file is not None:
            try:
                self.client_secret_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"OIDC provider {self.name!r}: client_secret_file cannot be read: {exc.strerror}") from None
        return self

    def secret(self) -> str:
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        assert self.client_secret_file is not None
        return self.client_secret_file.read_text(encoding="utf-8").strip()


class _SecretFileSource(PydanticBaseSettingsSource):
    """Reads ``BALISE_<FIELD>_FILE`` for secret fields."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in SECRET_FIELDS:
            path = os.environ.get(f"{ENV_PREFIX}{name.upper()}_FILE")
            if not path:
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UnsafeConfiguration(
                    f"{ENV_PREFIX}{name.upper()}_FILE={path!r} cannot be read: {exc.strerror}"
                ) from exc
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file data_dir/balise.sqlite3",
    )
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    vault_key: SecretStr = Field(
        default=SecretStr(DEV_VAULT_KEY),
        description="base64 of 32 random bytes: the master key wrapping each vault object's key",
    )
    vault_dir: Path | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    # Reverse proxies (comma-separated addresses or networks) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; empty: none, the client address is the connection's.
    forwarded_allow_ips: str = ""
    base_url: str = "http://127.0.0.1:8000"

    # Intake limits. A request larger than max_request_bytes is refused before it is read.
    max_request_bytes: int = 64 * 1024 * 1024
    # HTML forms (staff pages, the public reporting form): refused past this size while they
    # stream in, and past this many fields. They hold text; nothing in them comes near.
    max_form_bytes: int = Field(default=256 * 1024, ge=1024)
    max_form_fields: int = Field(default=100, ge=1)
    # JSON documents of the API (a report, a match request, a patch): size and nesting depth,
    # checked before they are parsed.
    max_json_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=4, le=200)
    max_file_bytes: int = 32 * 1024 * 1024
    max_items_per_report: int = 1000

    # Overload (per API process): past this many requests in progress a new one gets 503 with
    # Retry-After instead of waiting in an unbounded queue (0: no bound); a request whose body
    # stops arriving for this many seconds gets 408 and its connection closed.
    max_concurrent_requests: int = Field(default=128, ge=0)
    body_read_timeout_seconds: float = Field(default=30.0, ge=0)
    # API processes of `balise serve` (0: one per core); `balise worker` job processes (default 1).
    serve_workers: int = Field(default=0, ge=0)
    # The HTTP parser and event loop of `balise serve`: llhttp (httptools) on uvloop, compiled;
    # or uvicorn's pure-Python h11 on asyncio (the tests' in-process servers use it too).
    http_parser: Literal["httptools", "h11"] = "httptools"
    # PostgreSQL: how an API process learns that a credential or grant changed. "listen": one
    # connection per process LISTENs for the triggers' notification and the epoch is held in
    # memory (no round trip per request; a change elsewhere counts when its notification
    # arrives, about a millisecond). "read": the epoch read on every authenticated request
    # (for a pooler in transaction mode, such as PgBouncer, through which LISTEN does not work).
    credential_changes: Literal["listen", "read"] = "listen"
    # Rate limiting per API key, "N/period" in the `limits` library notation.
    api_rate_limit: str = "120/minute"
    # Failed API key authentications per client address (unknown, wrong or revoked keys); past
    # it every request from the address is refused (429) until the window frees a slot.
    api_auth_failure_limit: str = "20/minute"
    # memory:// keeps counters in the process; redis://127.0.0.1:6379 shares them.
    rate_limit_storage: str = "memory://"

    # Detection. A changed indicator reaches the in-memory PDQ index within this many seconds.
    index_refresh_seconds: float = 0.2
    # Changes behind the database past which a process opens the host's newer PDQ snapshot
    # instead of applying them, and past which `balise indicators import` rebuilds that
    # snapshot once at its end (issue 19 item 6).
    index_snapshot_after_changes: int = Field(default=50_000, ge=1)
    # Each uploaded file is hashed in a child process bounded in time and memory.
    hash_timeout_seconds: float = 60.0
    hash_memory_bytes: int = 2 * 1024 * 1024 * 1024
    max_match_hashes: int = 10_000
    # Access grants (CSAR Art. 46): the longest validity an administrator may approve.
    grant_max_months: int = Field(default=24, ge=1, le=120)

    # Off by default: an access log records every client address, anonymous reporters' too.
    access_log: bool = False
    # Log lines: one JSON object per line (default outside development) or readable text.
    log_format: Literal["json", "console"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Prometheus /metrics (docs/deployment.md#metrics). With a token, a scrape must send
    # "Authorization: Bearer <token>"; without one, /metrics is served only when metrics_open
    # says the network in front keeps it private, or in development to loopback clients.
    metrics_token: SecretStr | None = None
    metrics_open: bool = False

    # The embedded default runs background jobs in a thread of `balise serve`.
    run_jobs_in_server: bool = True
    # A job whose worker died (kill -9) is claimed again once its lease has run out.
    job_lease_seconds: float = 300.0
    # Periodic work (hold expiry, overdue removal checks) runs at most this often.
    periodic_seconds: float = 300.0
    # Legal and service clocks (docs/clocks.md): how long a provider has to answer a request
    # for missing information, and how long before its end a hold is flagged for renewal.
    information_request_days: int = Field(default=14, ge=1, le=365)
    hold_warning_days: int = Field(default=30, ge=1, le=540)

    # Routing. The centre's own country (ISO 3166 alpha-2), empty for the EU Centre itself:
    # a URL hosted here gets a notice to its host, elsewhere in a partner's country a referral
    # to that country's hotline.
    centre_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    # JSON list of {"network", "country", "organisation"} for networks the shipped registry data
    # does not place (private or lab networks, corrections).
    geo_overrides_file: Path | None = None
    # Pictures and videos found on a reported HTML page become items of their own (0: off).
    page_media_limit: int = Field(default=20, ge=0, le=200)
    # The transparency report (docs/transparency.md): a count below this is published as
    # "fewer than N", so that no figure points at a person.
    transparency_min_count: int = Field(default=10, ge=2, le=1000)
    # The public page /transparency recomputes a year's figures at most this often.
    transparency_cache_seconds: float = Field(default=3600.0, ge=0)
    # Removal verification: re-fetch after each of these delays from the host notice.
    removal_check_schedule: str = "1h,6h,24h,72h,7d"
    # Not removed this long after the host notice: the coordinating authority is told.
    removal_sla_hours: float = 72.0
    # Evidence packages and exported notices are written here (default data_dir/exports).
    export_dir: Path | None = None
    # Police receive media in evidence packages only when this is on.
    package_include_media: bool = False

    session_max_age_seconds: int = 8 * 3600
    # Single sign-on (docs/security.md#single-sign-on): the OpenID Connect issuers offered on the
    # sign-in page; local accounts keep working beside them.
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    # How long an enrolment link (a new account, a reset second factor) works, once (docs/security.md).
    enrolment_link_hours: int = Field(default=72, ge=1, le=24 * 14)
    password_hash_cost: Literal["standard", "minimal"] = Field(
        default="standard",
        description="argon2id parameters of staff passwords: standard (RFC 9106 low-memory) or minimal "
                    "(the library's cheapest, for test suites; refused outside development)")
    # Wellness: reveals an analyst may make in a day (UTC) before they are refused until a
    # senior analyst lifts the cap for them for the day; 0 is no cap.
    reveal_daily_cap: int = Field(default=0, ge=0, le=10_000)
    login_rate_limit: str = "10/minute"
    # Roles (comma list) that must sign in with a security key (WebAuthn, docs/security.md#security-keys):
    # a user in one without a key is sent to register one before any other page. Unset: the
    # roles that can reveal media (analyst,senior-analyst) outside development, none in development.
    webauthn_required_roles: str | None = None

    # Anonymous public reporting: per-address buckets (a keyed hash, in memory only) and per
    # report number for status lookups.
    public_report_rate_limit: str = "10/hour"
    public_status_rate_limit: str = "30/hour"
    public_number_rate_limit: str = "30/hour"
    # Where the public form's "Quick exit" button goes (docs/public-reporting.md): a path on this
    # service (default: a neutral weather page) or an http(s) URL of another site.
    quick_exit_url: str = "/weather"

    # Notices. An empty smtp_url keeps each email as an .eml file under data_dir/outbox
    # instead of sending it: nothing leaves the machine until an operator says where mail goes.
    smtp_url: str = ""
    smtp_password: SecretStr | None = None
    smtp_ca_file: Path | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_overall_timeout_seconds: float = Field(default=60.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_overall_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_max_response_bytes: int = Field(default=64 * 1024, gt=0)
    # Safe fetcher (reported URLs, RDAP). Special-use addresses (private, loopback, metadata...)
    # are refused unless inside one of these comma-separated networks, e.g. "127.0.0.1/32".
    fetch_allow_networks: str = ""
    # "system" resolves names with the machine's resolver; "static" only with fetch_static_hosts
    # ("name=address,name=address"), every other name failing as unknown: no DNS query leaves
    # the machine (tests, demos, air-gapped installations).
    fetch_resolver: Literal["system", "static"] = "system"
    fetch_static_hosts: str = ""
    fetch_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    fetch_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    fetch_read_timeout_seconds: float = Field(default=20.0, gt=0)
    fetch_total_timeout_seconds: float = Field(default=60.0, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    # Shown in the User-Agent: "Balise-Verifier/<version> (+<contact>)".
    fetch_user_agent_contact: str | None = None
    # RDAP bootstrap (RFC 9224): a directory or http(s) base URL holding ipv4.json and
    # ipv6.json; empty: the small copy shipped with Balise.
    rdap_bootstrap: str | None = None
    rdap_cache_ttl_seconds: float = Field(default=7 * 24 * 3600.0, ge=0)
    rdap_negative_cache_ttl_seconds: float = Field(default=3600.0, ge=0)

    @field_validator("oidc_providers")
    @classmethod
    def _oidc_names_unique(cls, value: list[OidcProvider]) -> list[OidcProvider]:
        names = [p.name for p in value]
        if len(set(names)) != len(names):
            raise ValueError(f"BALISE_OIDC_PROVIDERS: names must be unique, got {names}")
        return value

    @field_validator("quick_exit_url")
    @classmethod
    def _quick_exit_url_is_a_path_or_a_web_address(cls, value: str) -> str:
        value = value.strip()
        is_path = value.startswith("/") and not value.startswith("//")
        if not (is_path or re.fullmatch(r"https?://[^\s/]+(/\S*)?", value)):
            raise ValueError(f"BALISE_QUICK_EXIT_URL must be a path such as /weather or an http(s):// URL, not {value!r}")
        return value

    @field_validator("webauthn_required_roles")
    @classmethod
    def _webauthn_roles_are_staff_roles(cls, value: str | None) -> str | None:
        if value is None:
            return None
        known = {"admin", "analyst", "senior-analyst", "le-liaison", "auditor"}
        for part in filter(None, (p.strip() for p in value.split(","))):
            if part not in known:
                raise ValueError(f"BALISE_WEBAUTHN_REQUIRED_ROLES: {part!r} is not a staff role; "
                                 f"one of {', '.join(sorted(known))}")
        return value

    @field_validator("fetch_static_hosts")
    @classmethod
    def _static_hosts_parse(cls, value: str) -> str:
        static_hosts(value)
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_allow_ips_parse(cls, value: str) -> str:
        import ipaddress

        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"BALISE_FORWARDED_ALLOW_IPS: {part!r} is not an address or network") from None
        return value

    @field_validator("fetch_allow_networks")
    @classmethod
    def _allow_networks_parse(cls, value: str) -> str:
        from balise.domain.addresses import parse_networks

        parse_networks(value)
        return value

    @field_validator("fetch_user_agent_contact")
    @classmethod
    def _contact_fits_a_header(cls, value: str | None) -> str | None:
        if value is not None and (not value.isascii() or any(ord(c) < 0x20 or c in "()" for c in value)):
            raise ValueError("BALISE_FETCH_USER_AGENT_CONTACT must be printable ASCII without parentheses "
                             "(it goes into the User-Agent header)")
        return value or None
    # Evidence packages for law enforcement (docs/evidence-packages.md). The Ed25519 key that
    # signs them: a PEM private key file; in development one is generated under data_dir.
    signing_key_file: Path | None = None
    centre_name: str = Field(default="Balise centre (development)", min_length=1, max_length=200)
    package_dir: Path | None = None
    # Audit checkpoints (docs/oversight.md): signed files anchoring the audit trail and the match
    # access log outside the database. On when checkpoint_dir is set. The Ed25519 key (PEM) must
    # not be readable by whoever can write the database; in development one is generated.
    checkpoint_dir: Path | None = None
    checkpoint_key_file: Path | None = None
    checkpoint_interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # How often the job runner pulls every indicator-list subscription (docs/federation.md); 0: never
    # (pulls only by `balise exchange pull`).
    exchange_pull_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    # A partner's endpoint that receives each checkpoint by HTTP POST (JSON), and an RFC 3161
    # time-stamping authority asked to timestamp each one.
    checkpoint_webhook_url: str | None = None
    # ... and/or an address that receives each checkpoint by mail (BALISE_SMTP_URL, else the outbox).
    checkpoint_mail_to: str | None = None
    tsa_url: str | None = None
    tsa_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The match access log: batches of at most this many entries, written at least this often.
    # "audit-row" writes one audit event per query instead (the behaviour before the log).
    match_log_batch_size: int = Field(default=1000, ge=1, le=100_000)
    match_log_flush_ms: int = Field(default=100, ge=1, le=60_000)
    match_log_mode: Literal["batched", "audit-row"] = "batched"
    # Reports without files filed at the same time commit together, at most this many in one
    # transaction (intake/grouping.py); 1: each report commits alone.
    intake_group_size: int = Field(default=32, ge=1, le=64)

    @field_validator("checkpoint_mail_to")
    @classmethod
    def _mail_address(cls, value: str | None) -> str | None:
        from balise.domain.mail import is_address

        if value and not is_address(value):
            raise ValueError(f"BALISE_CHECKPOINT_MAIL_TO must be one e-mail address, not {value!r}")
        return value or None

    @field_validator("checkpoint_webhook_url", "tsa_url")
    @classmethod
    def _http_url(cls, value: str | None, info: Any) -> str | None:
        from urllib.parse import urlsplit

        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{ENV_PREFIX}{info.field_name.upper()} must be an http:// or https:// URL, not {value!r}")
        return value

    # NCMEC CyberTipline-compatible API (/ispws): largest <report> or <fileDetails> document,
    # and requests per credential (a report is submit + 2 per file + finish).
    ispws_max_xml_bytes: int = 2 * 1024 * 1024
    ispws_rate_limit: str = "600/minute"
    # Failed Basic authentications per client address on /ispws (in memory, per process);
    # past it every request from that address is refused until the window frees a slot.
    ispws_auth_failure_limit: str = "10/minute"

    # Retention (docs/retention.md). Whole days; the defaults are a starting point for the
    # deploying organisation to decide with its data-protection officer, not legal advice.
    # A report closed manifestly unfounded / forwarded / retracted is redacted to a statistical
    # skeleton this many days after that decision.
    retention_unfounded_days: int = 90
    retention_forwarded_days: int = 730
    retention_retracted_days: int = 30
    # A public reporter's optional name, email and IP: deleted this many days after the report
    # is closed, and in any case this many days after it was filed.
    retention_public_contact_days: int = 30
    retention_public_contact_max_days: int = 365
    # Finished (done) jobs; failed jobs stay visible until someone retries them.
    retention_jobs_days: int = 30
    # How long an Idempotency-Key is remembered (docs/api.md).
    retention_idempotency_days: int = 30
    # How often the retention job runs, and how many records one transaction batch selects.
    retention_interval_seconds: int = 3600
    retention_batch_size: int = 200
    # Measured error rates (docs/oversight.md#measured-error-rates): the nightly job runs at this
    # hour (UTC) and recomputes the figures of this many months (the current one included);
    # older months keep the figures stored when they were last recomputed.
    error_rates_hour_utc: int = 2
    error_rates_months: int = 24

    @field_validator("retention_unfounded_days", "retention_forwarded_days", "retention_retracted_days",
                     "retention_public_contact_days", "retention_public_contact_max_days", "retention_jobs_days",
                     "retention_idempotency_days", "retention_interval_seconds", "retention_batch_size",
                     mode="before")
    @classmethod
    def _retention_positive_whole(cls, value: Any, info: Any) -> int:
        name = f"{ENV_PREFIX}{info.field_name.upper()}"
        unit, ceiling = RETENTION_LIMITS[info.field_name.rsplit("_", 1)[-1]]
        text = value.strip() if isinstance(value, str) else value
        whole = isinstance(text, str) and text.removeprefix("-").isdigit()
        if isinstance(text, bool) or not (isinstance(text, int) or whole):
            raise ValueError(f"{name} must be a whole number of {unit} (like 30), not {value!r}")
        number = int(text)
        if number <= 0:
            raise ValueError(f"{name} must be at least 1 {unit.rstrip('s')}, not {number}")
        if number > ceiling:
            raise ValueError(f"{name} must be at most {ceiling} {unit}, not {number}")
        return number

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError("BALISE_METRICS_TOKEN must be at least 24 characters")
        return value or None
    @field_validator("error_rates_hour_utc", "error_rates_months", mode="before")
    @classmethod
    def _error_rates_whole_in_range(cls, value: Any, info: Any) -> int:
        name = f"{ENV_PREFIX}{info.field_name.upper()}"
        low, high, what = (0, 23, "an hour from 0 to 23") if info.field_name == "error_rates_hour_utc" \
            else (1, 120, "a number of months from 1 to 120")
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, bool) or not (isinstance(text, int) or (isinstance(text, str)
                                                                       and text.removeprefix("-").isdigit())):
            raise ValueError(f"{name} must be {what}, not {value!r}")
        if not low <= int(text) <= high:
            raise ValueError(f"{name} must be {what}, not {int(text)}")
        return int(text)

    @field_validator("vault_key")
    @classmethod
    def _vault_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("BALISE_VAULT_KEY must be base64") from exc
        if len(raw) != 32:
            raise ValueError(f"BALISE_VAULT_KEY must decode to 32 bytes, not {len(raw)}")
        return value

    @field_validator("removal_check_schedule")
    @classmethod
    def _schedule_parses(cls, value: str) -> str:
        parse_delays(value)
        return value

    @field_validator("api_rate_limit", "api_auth_failure_limit", "login_rate_limit", "public_report_rate_limit",
                     "public_status_rate_limit", "public_number_rate_limit", "ispws_rate_limit",
                     "ispws_auth_failure_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parses(cls, value: str) -> str:
        from balise.domain.mail import SmtpEndpoint

        if value:
            try:
                SmtpEndpoint.parse(value)
            except ValueError as exc:
                raise ValueError(f"BALISE_SMTP_URL: {exc}") from None
        return value

    @field_validator("smtp_ca_file")
    @classmethod
    def _smtp_ca_file_readable(cls, value: Path | None) -> Path | None:
        if value is not None and not os.access(value, os.R_OK):
            raise ValueError(f"BALISE_SMTP_CA_FILE={str(value)!r} is not a readable file")
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from_parses(cls, value: str) -> str:
        from balise.domain.mail import parse_sender

        try:
            parse_sender(value)
        except ValueError as exc:
            raise ValueError(f"BALISE_MAIL_FROM: {exc}") from None
        return value

    @model_validator(mode="after")
    def _smtp_settings_agree(self) -> Settings:
        if not self.smtp_url:
            return self
        from balise.domain.mail import SmtpEndpoint

        if self.mail_from == DEFAULT_MAIL_FROM:
            raise ValueError("BALISE_MAIL_FROM must be set when BALISE_SMTP_URL is (the default is a placeholder)")
        user = SmtpEndpoint.parse(self.smtp_url).username
        if user and not self.smtp_password:
            raise ValueError(f"BALISE_SMTP_URL names user {user!r}: set BALISE_SMTP_PASSWORD_FILE")
        if self.smtp_password and not user:
            raise ValueError("BALISE_SMTP_PASSWORD is set but BALISE_SMTP_URL names no user (smtp+starttls://user@host)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _SecretFileSource(settings_cls), env_settings)

    # Derived values -------------------------------------------------------------------------

    @cached_property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'balise.sqlite3').resolve()}"

    @cached_property
    def vault_path(self) -> Path:
        return (self.vault_dir or self.data_dir / "vault").resolve()

    @cached_property
    def exports_path(self) -> Path:
        return (self.export_dir or self.data_dir / "exports").resolve()

    @cached_property
    def removal_checks(self) -> list[timedelta]:
        return parse_delays(self.removal_check_schedule)

    @cached_property
    def vault_master_key(self) -> bytes:
        return base64.b64decode(self.vault_key.get_secret_value())

    @cached_property
    def package_path(self) -> Path:
        return (self.package_dir or self.data_dir / "packages").resolve()

    @property
    def signing_key_path(self) -> Path | None:
        """The signing key file: the setting, else (development only) one under data_dir."""
        if self.signing_key_file is not None:
            return self.signing_key_file
        return self.data_dir / DEV_SIGNING_KEY_NAME if self.is_development else None

    def signing_key_problem(self) -> str | None:
        """Why the configured signing key cannot be used (None when it can, or when
        development will generate its own)."""
        path = self.signing_key_file
        if path is None:
            if self.is_development:
                return None
            return ("BALISE_SIGNING_KEY_FILE is missing (evidence packages are signed with it; "
                    "create one with `balise package keygen PATH`)")
        try:
            data = path.read_bytes()
        except OSError as exc:
            return f"BALISE_SIGNING_KEY_FILE={str(path)!r} cannot be read: {exc.strerror}"
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
        if not isinstance(key, Ed25519PrivateKey):
            return f"BALISE_SIGNING_KEY_FILE={str(path)!r} is not an unencrypted Ed25519 private key in PEM"
        return None

    @property
    def checkpoint_key_path(self) -> Path | None:
        """The checkpoint key file: the setting, else (development only) one under data_dir."""
        if self.checkpoint_key_file is not None:
            return self.checkpoint_key_file
        return self.data_dir / DEV_CHECKPOINT_KEY_NAME if self.is_development else None

    def checkpoint_key_problem(self) -> str | None:
        """Why checkpoints cannot be signed (None when they can, are off, or development will
        generate its key)."""
        if self.checkpoint_dir is None and self.checkpoint_key_file is None:
            return None
        path = self.checkpoint_key_file
        if path is None:
            if self.is_development:
                return None
            return ("BALISE_CHECKPOINT_DIR is set but BALISE_CHECKPOINT_KEY_FILE is missing (checkpoints are signed "
                    "with it; create one with `balise package keygen PATH`, kept where the database cannot reach)")
        try:
            data = path.read_bytes()
        except OSError as exc:
            return f"BALISE_CHECKPOINT_KEY_FILE={str(path)!r} cannot be read: {exc.strerror}"
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
        if not isinstance(key, Ed25519PrivateKey):
            return f"BALISE_CHECKPOINT_KEY_FILE={str(path)!r} is not an unencrypted Ed25519 private key in PEM"
        return None

    def check_processes(self, count: int) -> None:
        """Several API processes each keep rate-limit counters of their own with memory://:
        every budget (per key, per address, sign-in attempts) would be multiplied by their
        number. Refused outside development; BALISE_RATE_LIMIT_STORAGE=redis://… shares them."""
        if count > 1 and self.rate_limit_storage.startswith("memory://") and not self.is_development:
            raise UnsafeConfiguration(
                f"{count} API processes with BALISE_RATE_LIMIT_STORAGE=memory:// would each allow the whole rate "
                "limit: set BALISE_RATE_LIMIT_STORAGE=redis://… or run `balise serve --workers 1`")

    @property
    def security_key_roles(self) -> frozenset[str]:
        """The roles that must sign in with a security key (BALISE_WEBAUTHN_REQUIRED_ROLES)."""
        if self.webauthn_required_roles is None:
            return frozenset() if self.is_development else frozenset({"analyst", "senior-analyst"})
        return frozenset(filter(None, (p.strip() for p in self.webauthn_required_roles.split(","))))

    @property
    def webauthn_origin(self) -> str:
        """The origin browsers sign in from (scheme://host[:port] of BALISE_BASE_URL)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def webauthn_rp_id(self) -> str:
        """The WebAuthn relying party ID: the host name of BALISE_BASE_URL."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def log_as_json(self) -> bool:
        return self.log_format == "json" or (self.log_format is None and not self.is_development)

    def unsafe_reasons(self) -> list[str]:
        """Why this configuration must not serve outside development (empty when safe)."""
        reasons = []
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET_KEY:
            reasons.append("BALISE_SECRET_KEY is missing or still the development default")
        elif len(secret) < 32:
            reasons.append("BALISE_SECRET_KEY is shorter than 32 characters")
        if self.vault_key.get_secret_value() == DEV_VAULT_KEY:
            reasons.append("BALISE_VAULT_KEY is missing or still the development default")
        signing = self.signing_key_problem()
        if signing:
            reasons.append(signing)
        checkpoint = self.checkpoint_key_problem()
        if checkpoint:
            reasons.append(checkpoint)
        if self.password_hash_cost != "standard":
            reasons.append("BALISE_PASSWORD_HASH_COST is not standard (minimal is for test suites only)")
        for provider in self.oidc_providers:
            if not provider.issuer.startswith("https://"):
                reasons.append(f"BALISE_OIDC_PROVIDERS: the issuer of {provider.name!r} is not https://")
            if provider.client_secret is not None:
                reasons.append(f"BALISE_OIDC_PROVIDERS: {provider.name!r} has an inline client_secret "
                               "(use client_secret_file)")
        return reasons

    def check_safe(self) -> None:
        if self.is_development:
            return
        reasons = self.unsafe_reasons()
        if reasons:
            raise UnsafeConfiguration(
                f"refusing to start with BALISE_ENV={self.env}: " + "; ".join(reasons)
            )


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
