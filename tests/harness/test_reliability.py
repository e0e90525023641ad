from types import SimpleNamespace

from harness.reliability import pass_hat, pass_hat_k


def test_pass_hat_k_by_hand():
    # scenario A: 3 of 4 passed; scenario B: 4 of 4
    counts = [(4, 3), (4, 4)]
    assert pass_hat_k(counts, 1) == (0.75 + 1) / 2
    assert pass_hat_k(counts, 2) == (3 / 6 + 1) / 2
    assert pass_hat_k(counts, 4) == (0 + 1) / 2
    assert pass_hat_k(counts, 8) is None


def test_errors_count_as_not_passed():
    runs = [SimpleNamespace(scenario="a", outcome=o) for o in ("pass", "error", "pass", "fail")]
    figures = pass_hat(runs)
    assert figures == {"pass^1": 0.5, "pass^2": round(1 / 6, 4), "pass^4": 0.0}
