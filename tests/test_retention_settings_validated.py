"""Retention settings are whole, positive numbers: anything else stops the process with a
message naming the setting, the value and what is expected (read from the environment, as in
production)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from balise.settings import Settings


def test_the_defaults_are_the_documented_ones():
    s = Settings()
    assert (s.retention_unfounded_days, s.retention_forwarded_days, s.retention_retracted_days,
            s.retention_public_contact_days, s.retention_public_contact_max_days, s.retention_jobs_days,
            s.retention_idempotency_days, s.retention_interval_seconds, s.retention_batch_size) == \
        (90, 730, 30, 30, 365, 30, 30, 3600, 200)


def test_values_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("BALISE_RETENTION_UNFOUNDED_DAYS", " 45 ")
    monkeypatch.setenv("BALISE_RETENTION_INTERVAL_SECONDS", "600")
    s = Settings()
    assert (s.retention_unfounded_days, s.retention_interval_seconds) == (45, 600)


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("BALISE_RETENTION_UNFOUNDED_DAYS", "0", "BALISE_RETENTION_UNFOUNDED_DAYS must be at least 1 day, not 0"),
    ("BALISE_RETENTION_FORWARDED_DAYS", "-30", "BALISE_RETENTION_FORWARDED_DAYS must be at least 1 day, not -30"),
    ("BALISE_RETENTION_RETRACTED_DAYS", "1.5",
     "BALISE_RETENTION_RETRACTED_DAYS must be a whole number of days (like 30), not '1.5'"),
    ("BALISE_RETENTION_PUBLIC_CONTACT_DAYS", "thirty",
     "BALISE_RETENTION_PUBLIC_CONTACT_DAYS must be a whole number of days (like 30), not 'thirty'"),
    ("BALISE_RETENTION_PUBLIC_CONTACT_MAX_DAYS", "",
     "BALISE_RETENTION_PUBLIC_CONTACT_MAX_DAYS must be a whole number of days (like 30), not ''"),
    ("BALISE_RETENTION_JOBS_DAYS", "99999", "BALISE_RETENTION_JOBS_DAYS must be at most 36500 days, not 99999"),
    ("BALISE_RETENTION_IDEMPOTENCY_DAYS", "30d",
     "BALISE_RETENTION_IDEMPOTENCY_DAYS must be a whole number of days (like 30), not '30d'"),
    ("BALISE_RETENTION_INTERVAL_SECONDS", "0", "BALISE_RETENTION_INTERVAL_SECONDS must be at least 1 second, not 0"),
    ("BALISE_RETENTION_INTERVAL_SECONDS", "100000",
     "BALISE_RETENTION_INTERVAL_SECONDS must be at most 86400 seconds, not 100000"),
    ("BALISE_RETENTION_BATCH_SIZE", "0", "BALISE_RETENTION_BATCH_SIZE must be at least 1 record, not 0"),
])
def test_a_bad_value_is_refused_with_a_precise_message(monkeypatch, variable, value, said):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert said in str(caught.value)
    assert len(caught.value.errors()) == 1  # only the bad setting is blamed


def test_a_boolean_is_not_taken_for_a_number():
    with pytest.raises(ValidationError) as caught:
        Settings(retention_jobs_days=True)
    assert "BALISE_RETENTION_JOBS_DAYS must be a whole number of days" in str(caught.value)
