"""course.scaling: linear work passes, quadratic work fails with the numbers, and quickly."""

from __future__ import annotations

import time

import pytest

from course.scaling import GROWTH, assert_scales, measure_growth


def linear(n: int):
    data = list(range(n))
    return lambda: sum(data)


def quadratic(n: int):
    data = list(range(n))
    return lambda: [x for x in data for _ in data[:n]]


def test_linear_work_grows_about_eightfold() -> None:
    growth = measure_growth(linear, 2000)
    assert growth.large_n == GROWTH * 2000
    assert 3 < growth.ratio < 30, f"summing 8× the numbers should take about 8× as long: {growth}"
    assert_scales(linear, 2000)


def test_quadratic_work_fails_with_its_ratio_and_gives_up_early() -> None:
    started = time.perf_counter()
    with pytest.raises(pytest.fail.Exception, match=r"quadratic: \d+× slower at n=1600 than at n=200"):
        assert_scales(quadratic, 200, what="quadratic")
    assert time.perf_counter() - started < 20, (
        "a quadratic run should stop measuring once the answer is known"
    )


def test_a_lower_limit_tells_logarithmic_from_linear() -> None:
    def lookups(n: int):
        data = set(range(n))
        return lambda: [i in data for i in range(100)]

    assert_scales(lookups, 2000, limit=4, expected="logarithmic")
    with pytest.raises(pytest.fail.Exception, match="logarithmic solution stays under 4×"):
        assert_scales(linear, 2000, limit=4, expected="logarithmic")
