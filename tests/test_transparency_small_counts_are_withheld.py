"""The rule that keeps persons out of the published figures: a count from 1 to N-1 is withheld
(zero is shown), a lone withheld cell takes the smallest shown cell with it, and a median or
share over fewer than N cases is withheld too."""

from __future__ import annotations

from balise.domain.transparency import (
    SECONDARY,
    SUPPRESSED,
    suppress,
    suppress_counts,
    suppress_measure,
)


def test_counts_below_the_threshold_are_withheld_and_zero_is_shown():
    assert suppress(0, 10) == (0, None)
    assert suppress(1, 10) == (None, SUPPRESSED)
    assert suppress(9, 10) == (None, SUPPRESSED)
    assert suppress(10, 10) == (10, None)


def test_a_lone_withheld_cell_takes_the_smallest_shown_one_with_it():
    rows = suppress_counts([(("a",), 40), (("b",), 12), (("c",), 3), (("d",), 0), (("e",), 25)], 10)
    assert [(r.keys[0], r.values[0], r.reason(0)) for r in rows] == [
        ("a", 40, None), ("b", None, SECONDARY), ("c", None, SUPPRESSED), ("d", 0, None), ("e", 25, None)]


def test_two_withheld_cells_protect_each_other():
    rows = suppress_counts([(("a",), 40), (("b",), 2), (("c",), 3)], 10)
    assert [(r.values[0], r.reason(0)) for r in rows] == [(40, None), (None, SUPPRESSED), (None, SUPPRESSED)]


def test_a_lone_withheld_cell_with_nothing_else_shown_stays_alone():
    rows = suppress_counts([(("a",), 4), (("b",), 0)], 10)
    assert [(r.values[0], r.reason(0)) for r in rows] == [(None, SUPPRESSED), (0, None)]


def test_a_median_over_few_cases_is_withheld():
    assert suppress_measure(9, 12.5, 10) == (None, SUPPRESSED)
    assert suppress_measure(10, 12.5, 10) == (12.5, None)
    assert suppress_measure(0, None, 10) == (None, None)
