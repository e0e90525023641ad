"""The confidence bounds the gates are judged on, pinned to known numbers and to scipy/statsmodels."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint

from harness import stats


def test_clopper_pearson_one_sided_95_known_values():
    assert stats.upper_bound(0, 300) == pytest.approx(0.0099, abs=0.0001)
    assert stats.upper_bound(2, 300) == pytest.approx(0.0208, abs=0.0001)


def test_about_299_clean_runs_bring_the_bound_under_one_percent():
    assert 0.0099 < stats.upper_bound(0, 299) < 0.01
    assert stats.upper_bound(0, 298) > 0.01
    assert stats.runs_needed(0.01) == 299


def test_the_bound_is_one_sided_not_two_sided():
    two_sided_upper = stats.interval(0, 300, 0.95, "clopper-pearson")[1]
    assert stats.upper_bound(0, 300) < two_sided_upper
    assert two_sided_upper == pytest.approx(0.0122, abs=0.0001)  # the 97.5% one-sided bound


def test_k_zero_matches_the_closed_form():
    for n in (1, 10, 300, 10_000, 1_000_000):
        exact = -math.expm1(math.log(0.05) / n)
        assert stats.upper_bound(0, n) == pytest.approx(exact, rel=1e-9)


def test_wilson_differs_and_matches_statsmodels_one_sided():
    cp, wilson = stats.upper_bound(2, 300), stats.upper_bound(2, 300, method="wilson")
    assert wilson != pytest.approx(cp, abs=1e-4)
    assert wilson == pytest.approx(proportion_confint(2, 300, alpha=0.10, method="wilson")[1], rel=1e-12)


def test_edges():
    assert stats.upper_bound(0, 0) == 1.0
    assert stats.upper_bound(5, 5) == 1.0
    with pytest.raises(ValueError):
        stats.upper_bound(3, 2)
    with pytest.raises(ValueError):
        stats.upper_bound(1, 2, confidence=1.0)
    with pytest.raises(ValueError):
        stats.upper_bound(1, 2, method="bayes")


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 5000), data=st.data(), confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_clopper_pearson_matches_scipy_binomtest(n, data, confidence):
    k = data.draw(st.integers(0, n - 1))
    expected = binomtest(k, n, alternative="less").proportion_ci(confidence).high
    assert stats.upper_bound(k, n, confidence) == pytest.approx(expected, rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 5000), data=st.data(), confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_statsmodels(n, data, confidence):
    k = data.draw(st.integers(0, n - 1))
    expected = proportion_confint(k, n, alpha=2 * (1 - confidence), method="wilson")[1]
    assert stats.upper_bound(k, n, confidence, "wilson") == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_two_sided_intervals_match_the_references():
    lo, hi = stats.interval(3, 40, 0.95, "clopper-pearson")
    ref = binomtest(3, 40).proportion_ci(0.95, method="exact")
    assert (lo, hi) == (pytest.approx(ref.low, rel=1e-6), pytest.approx(ref.high, rel=1e-6))
    assert stats.interval(3, 40, 0.95, "wilson") == pytest.approx(
        proportion_confint(3, 40, alpha=0.05, method="wilson"), rel=1e-9)


def test_nearest_rank():
    assert stats.nearest_rank(95, 100) == 95
    assert stats.nearest_rank(95, 10) == 10
    assert stats.nearest_rank(50, 1) == 1
    with pytest.raises(ValueError):
        stats.nearest_rank(0, 10)


def test_burn_rate_needs_both_windows_high():
    clean, bad = [False], [True]
    recent_spike = bad * 5 + clean * 5 + clean * 40   # short 50%, long 10%
    old_trouble = clean * 10 + bad * 20 + clean * 20  # short 0%, long 40%
    sustained = (bad + clean) * 25                    # 50% / 50%
    assert stats.burn_rate_exceeded(recent_spike, 50, 10, 0.1) == (False, 0.1, 0.5)
    assert stats.burn_rate_exceeded(old_trouble, 50, 10, 0.1)[0] is False
    assert stats.burn_rate_exceeded(sustained, 50, 10, 0.1) == (True, 0.5, 0.5)
    assert stats.burn_rate_exceeded(bad * 9, 50, 10, 0.1)[0] is False  # too few runs to judge
