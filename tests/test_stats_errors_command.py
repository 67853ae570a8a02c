"""`balise stats errors` prints the measured error rates as a table in words, as JSON or as CSV,
optionally per month or week; bad dates, a period that ends before it starts, an unknown format
or period are refused with exit code 2 and the problem named."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from balise.container import Balise
from balise.domain.error_rates import wilson_interval
from tests.cli_support import run_cli
from tests.conftest import make_settings
from tests.error_rates_support import three_months
from tests.test_routing_cli import cli_env


@pytest.fixture
def env(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url))
    three_months(app)
    yield cli_env(app)
    app.close()


def test_the_table_says_each_route_in_words_with_its_rate_interval_and_too_few_decisions(env):
    result = run_cli(env, "stats", "errors")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    md5 = next(line for line in out.splitlines() if line.startswith("exact hash: MD5"))
    low, high = wilson_interval(3, 15)
    assert re.search(r"\b12\s+3\s+0\s+1\s+20\.0 %\s+" + re.escape(f"{100 * low:.1f} % - {100 * high:.1f} %"), md5)
    far = next(line for line in out.splitlines() if line.startswith("PDQ distance 21-31"))
    assert "not enough decisions (5 < 10)" in far and "%" not in far
    assert "provider's own flag, no indicator match" in out and "public report, no indicator match" in out
    assert "list A" in out and "this centre's assessments (four eyes)" in out
    assert not re.search(r"\b(True|False|None)\b", out)


def test_json_carries_counts_rates_and_interval_and_null_below_ten_decisions(env):
    result = run_cli(env, "stats", "errors", "--format", "json", "--since", "2026-09-01", "--until", "2026-12-01")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["since"] == "2026-09-01T00:00:00+00:00" and data["min_decisions"] == 10
    rows = {(r["dimension"], r["key"]): r for r in data["rates"]}
    md5 = rows[("route", "md5")]
    assert (md5["confirmed"], md5["overturned"], md5["unassessed"], md5["false_match_rate"]) == (12, 3, 1, 0.2)
    assert (md5["ci_low"], md5["ci_high"]) == pytest.approx(wilson_interval(3, 15))
    far = rows[("route", "pdq:21-31")]
    assert far["enough_decisions"] is False and far["false_match_rate"] is None and far["ci_low"] is None


def test_csv_has_a_header_the_totals_and_one_block_per_month(env):
    result = run_cli(env, "stats", "errors", "--format", "csv", "--since", "2026-09-01", "--until", "2026-12-01",
                     "--by", "month")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    md5 = {r["period_start"]: r for r in rows if r["key"] == "md5"}
    assert set(md5) == {"all", "2026-09-01", "2026-10-01"}
    assert (md5["all"]["overturned"], md5["all"]["label"]) == ("3", "exact hash: MD5")
    assert (md5["2026-09-01"]["confirmed"], md5["2026-09-01"]["false_match_rate"]) == ("8", "0.2")
    assert md5["2026-10-01"]["false_match_rate"] == ""  # 5 decisions that month


def test_a_weekly_series_in_the_table(env):
    out = run_cli(env, "stats", "errors", "--since", "2026-10-01", "--until", "2026-10-15", "--by", "week").stdout
    assert "== week from 2026-09-28" in out and "== week from 2026-10-05" in out and "== week from 2026-10-12" in out


@pytest.mark.parametrize(("args", "message"), [
    (("--since", "2026-11-01", "--until", "2026-10-01"), "--since (2026-11-01T00:00:00+00:00) must be before --until"),
    (("--since", "2026-10-01", "--until", "2026-10-01"), "must be before --until"),
    (("--since", "last tuesday"), "--since: 'last tuesday' is not a date"),
    (("--until", "2026-02-30"), "--until: '2026-02-30' is not a date"),
    (("--format", "xml"), "--format: 'xml' is not one of table, json, csv"),
    (("--by", "fortnight", "--since", "2026-01-01"), "--by: 'fortnight' is not one of month, week"),
    (("--by", "month"), "--by needs --since"),
])
def test_bad_input_is_refused_with_the_problem_named(env, args, message):
    result = run_cli(env, "stats", "errors", *args)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""
