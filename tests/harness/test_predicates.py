"""Content checks strong enough to fail: all-of, none-of, exact, numbers with units, dates, before/after."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from harness.predicates import Predicate, numbers_in


def check(**tests):
    return Predicate(**tests)


def test_contains_needs_every_text_and_not_contains_none():
    p = check(contains=["84,000", "10%"], not_contains=["internal only"])
    assert p.holds("Renewal: 84,000 USD with a 10% discount")
    assert p.failures("Renewal: 84,000 USD") == ["contains ['84,000', '10%']"]
    assert not p.holds("84,000 and 10% (internal only)")


def test_equals_ignores_case_and_spacing_but_exact_does_not():
    assert check(equals="Head of  Procurement").holds("head of procurement")
    assert not check(exact="Head of Procurement").holds("head of procurement")
    assert check(exact="Head of Procurement").holds("Head of Procurement")


@pytest.mark.parametrize("text", ["PO-4412 received", "order 1200", "v12.3", "2012-03-04"])
def test_a_number_is_not_met_by_digits_inside_another_number(text):
    assert not check(mentions_number=12).holds(text)


@pytest.mark.parametrize("text", ["12 seats", "a total of 12.", "(12)", "seats: 12, price"])
def test_a_number_written_on_its_own_is_found(text):
    assert check(mentions_number=12).holds(text)


def test_numbers_with_separators_suffixes_and_units():
    assert check(mentions_number={"value": 75600}).holds("comes to 75,600 USD")
    assert check(mentions_number={"value": 75600}).holds("about 75.6k")
    assert not check(mentions_number={"value": 84000}).holds("a quote of 48,000")
    percent = check(mentions_number={"value": 10, "unit": "%"})
    assert percent.holds("a 10% discount") and percent.holds("10 percent off")
    assert not percent.holds("10 seats")
    assert check(mentions_number={"value": 75600, "tolerance": 1}).holds("75,600.50")


def test_dates_in_several_spellings():
    p = check(date="2026-02-28")
    for text in ("closes 2026-02-28", "on 28 February 2026", "by Feb 28, 2026"):
        assert p.holds(text), text
    assert not p.holds("on 28 March 2026")


def test_compared_with_before():
    assert check(than_before="increased").holds(12, 10)
    assert not check(than_before="increased").holds(10, 10)
    assert check(than_before="decreased").holds("2026-01-01", "2026-02-01")
    assert check(than_before="unchanged").holds("x", "x")


def test_an_empty_text_check_is_refused_because_it_cannot_fail():
    with pytest.raises(ValidationError, match="empty text"):
        check(contains="")
    with pytest.raises(ValidationError, match="at least one test"):
        check()


@given(st.integers(min_value=0, max_value=10**9))
def test_any_formatted_amount_reads_back(n):
    assert float(n) in numbers_in(f"total {n:,} USD")
    assert float(n) in numbers_in(f"total {n} USD")


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=1000, max_value=99999))
def test_a_number_is_never_read_out_of_an_identifier(n, ident):
    assert numbers_in(f"ref PO-{ident}{n}") == []
