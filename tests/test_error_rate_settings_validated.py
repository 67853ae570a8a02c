"""The error-rate job's hour and window are whole numbers in range: anything else stops the
process with a message naming the setting, the value and what is expected."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from balise.settings import Settings
from tests.cli_support import run_cli


def test_the_defaults_are_the_documented_ones_and_the_environment_is_read(monkeypatch):
    s = Settings()
    assert (s.error_rates_hour_utc, s.error_rates_months) == (2, 24)
    monkeypatch.setenv("BALISE_ERROR_RATES_HOUR_UTC", " 0 ")
    monkeypatch.setenv("BALISE_ERROR_RATES_MONTHS", "120")
    s = Settings()
    assert (s.error_rates_hour_utc, s.error_rates_months) == (0, 120)


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("BALISE_ERROR_RATES_HOUR_UTC", "24", "BALISE_ERROR_RATES_HOUR_UTC must be an hour from 0 to 23, not 24"),
    ("BALISE_ERROR_RATES_HOUR_UTC", "-1", "BALISE_ERROR_RATES_HOUR_UTC must be an hour from 0 to 23, not -1"),
    ("BALISE_ERROR_RATES_HOUR_UTC", "2am", "BALISE_ERROR_RATES_HOUR_UTC must be an hour from 0 to 23, not '2am'"),
    ("BALISE_ERROR_RATES_MONTHS", "0", "BALISE_ERROR_RATES_MONTHS must be a number of months from 1 to 120, not 0"),
    ("BALISE_ERROR_RATES_MONTHS", "121", "BALISE_ERROR_RATES_MONTHS must be a number of months from 1 to 120, not 121"),
    ("BALISE_ERROR_RATES_MONTHS", "1.5",
     "BALISE_ERROR_RATES_MONTHS must be a number of months from 1 to 120, not '1.5'"),
])
def test_a_bad_value_is_refused_with_the_setting_named(monkeypatch, tmp_path, variable, value, said):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert said in str(refused.value)
    result = run_cli({"BALISE_ENV": "development", "BALISE_DATA_DIR": str(tmp_path), variable: value},
                     "stats", "errors")
    assert result.returncode == 2 and said in result.stderr
