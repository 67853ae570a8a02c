"""One validated settings object for the whole service.

Every value comes from the environment with the prefix ``BALISE_``. Secrets may instead be
read from a file named by ``BALISE_<NAME>_FILE`` (Docker/Kubernetes secrets), which wins over
the plain variable so that a secret never has to sit in a process environment.
"""

from __future__ import annotations

import base64
import binascii
import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "BALISE_"

# Development-only defaults. They are public (they are in this file), so the service refuses
# to start with them anywhere but in development.
DEV_SECRET_KEY = "balise-development-secret-key-do-not-use-in-production"
DEV_VAULT_KEY = base64.b64encode(b"balise-dev-vault-key-not-secret!").decode()

SECRET_FIELDS = ("secret_key", "vault_key")


class UnsafeConfiguration(RuntimeError):
    """The configuration must not be used to run the service (outside development)."""


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
    base_url: str = "http://127.0.0.1:8000"

    # Intake limits. A request larger than max_request_bytes is refused before it is read.
    max_request_bytes: int = 64 * 1024 * 1024
    max_file_bytes: int = 32 * 1024 * 1024
    max_items_per_report: int = 1000

    # Rate limiting per API key, "N/period" in the `limits` library notation.
    api_rate_limit: str = "120/minute"
    # memory:// keeps counters in the process; redis://127.0.0.1:6379 shares them.
    rate_limit_storage: str = "memory://"

    # Detection. A changed indicator reaches the in-memory PDQ index within this many seconds.
    index_refresh_seconds: float = 0.2
    # Each uploaded file is hashed in a child process bounded in time and memory.
    hash_timeout_seconds: float = 60.0
    hash_memory_bytes: int = 2 * 1024 * 1024 * 1024
    max_match_hashes: int = 10_000

    # Off by default: an access log records every client address, anonymous reporters' too.
    access_log: bool = False

    # The embedded default runs background jobs in a thread of `balise serve`.
    run_jobs_in_server: bool = True

    session_max_age_seconds: int = 8 * 3600
    login_rate_limit: str = "10/minute"

    # Anonymous public reporting: per-address buckets (a keyed hash, in memory only) and per
    # report number for status lookups.
    public_report_rate_limit: str = "10/hour"
    public_status_rate_limit: str = "30/hour"
    public_number_rate_limit: str = "30/hour"

    # NCMEC CyberTipline-compatible API (/ispws): largest <report> or <fileDetails> document,
    # and requests per credential (a report is submit + 2 per file + finish).
    ispws_max_xml_bytes: int = 2 * 1024 * 1024
    ispws_rate_limit: str = "600/minute"

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

    @field_validator("api_rate_limit", "login_rate_limit", "public_report_rate_limit",
                     "public_status_rate_limit", "public_number_rate_limit", "ispws_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)
        return value

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
    def vault_master_key(self) -> bytes:
        return base64.b64decode(self.vault_key.get_secret_value())

    @property
    def is_development(self) -> bool:
        return self.env == "development"

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
