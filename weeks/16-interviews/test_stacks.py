"""Stacks — each problem: examples, a property against a brute force, a scaling check."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.scaling import assert_scales
from labs.week16_interviews import stacks as sol

fuzz = settings(max_examples=40, deadline=None)


def check(got: object, want: object, call: str) -> None:
    assert got == want, f"{call}: expected {want!r}, got {got!r}"


# --------------------------------------------------------------------------- valid_parentheses


def brute_valid(s: str) -> bool:
    previous = None
    while previous != s:
        previous, s = s, s.replace("()", "").replace("[]", "").replace("{}", "")
    return s == ""


def test_valid_parentheses_examples() -> None:
    for s, want in [
        ("()", True),
        ("()[]{}", True),
        ("(]", False),
        ("([)]", False),
        ("{[]}", True),
        ("", True),
        ("(", False),
        (")", False),
        ("((", False),
        ("())", False),
    ]:
        check(sol.valid_parentheses(s), want, f"valid_parentheses({s!r})")


@fuzz
@given(st.text("()[]{}", max_size=12))
def test_valid_parentheses_matches_brute_force(s: str) -> None:
    check(sol.valid_parentheses(s), brute_valid(s), f"valid_parentheses({s!r})")


def test_valid_parentheses_scales() -> None:
    def work(n: int):
        s = "([{" * (n // 6) + "}])" * (n // 6)
        return lambda: sol.valid_parentheses(s)

    assert_scales(work, 400, what="valid_parentheses")


# --------------------------------------------------------------------------- min_stack


def test_min_stack_examples() -> None:
    stack = sol.MinStack()
    for method in (stack.pop, stack.top, stack.get_min):
        with pytest.raises(IndexError):
            method()
    stack.push(3)
    stack.push(1)
    stack.push(1)
    check(stack.get_min(), 1, "push 3, 1, 1; get_min()")
    check(stack.pop(), 1, "pop()")
    check(stack.get_min(), 1, "after popping one of two 1s, get_min()")
    check(stack.pop(), 1, "pop()")
    check((stack.top(), stack.get_min()), (3, 3), "after popping both 1s, (top(), get_min())")
    stack.push(-5)
    check(stack.get_min(), -5, "push -5; get_min()")


@fuzz
@given(st.lists(st.one_of(st.integers(-9, 9), st.none()), max_size=30))
def test_min_stack_matches_brute_force(operations: list[int | None]) -> None:
    stack, model = sol.MinStack(), []
    for op in operations:  # an int pushes, None pops
        if op is not None:
            stack.push(op)
            model.append(op)
        elif model:
            check(stack.pop(), model.pop(), f"after {operations}: pop()")
        if model:
            check(
                (stack.top(), stack.get_min()), (model[-1], min(model)), f"after {operations}: (top, get_min)"
            )


def test_min_stack_scales() -> None:
    def work(n: int):
        def run() -> None:
            stack = sol.MinStack()
            for i in range(n):
                stack.push(n - i)
                stack.get_min()
            for _ in range(n):
                stack.get_min()
                stack.pop()

        return run

    assert_scales(work, 400, what="MinStack (n pushes, n get_min, n pops)")


# --------------------------------------------------------------------------- eval_rpn


def brute_rpn(tokens: list[str]) -> int:
    stack: list[int] = []
    for token in tokens:
        if token in "+-*/" and len(token) == 1:
            b, a = stack.pop(), stack.pop()
            stack.append(
                a + b if token == "+" else a - b if token == "-" else a * b if token == "*" else int(a / b)
            )
        else:
            stack.append(int(token))
    return stack[-1]


def test_eval_rpn_examples() -> None:
    for tokens, want in [
        (["2", "1", "+", "3", "*"], 9),
        (["4", "13", "5", "/", "+"], 6),
        (["42"], 42),
        (["-7", "2", "/"], -3),
        (["7", "-2", "/"], -3),
        (["-7", "-2", "/"], 3),
        (["3", "-4", "-"], 7),
        (["10", "6", "9", "3", "+", "-11", "*", "/", "*", "17", "+", "5", "+"], 22),
    ]:
        check(sol.eval_rpn(tokens), want, f"eval_rpn({tokens})")


@st.composite
def rpn(draw: st.DrawFn) -> list[str]:
    tokens = [str(draw(st.integers(-9, 9)))]
    for _ in range(draw(st.integers(0, 6))):
        operator = draw(st.sampled_from("+-*/"))
        operand = draw(st.integers(-9, 9).filter(lambda v: v != 0) if operator == "/" else st.integers(-9, 9))
        tokens += [str(operand), operator]
    return tokens


@fuzz
@given(rpn())
def test_eval_rpn_matches_brute_force(tokens: list[str]) -> None:
    check(sol.eval_rpn(tokens), brute_rpn(tokens), f"eval_rpn({tokens})")


def test_eval_rpn_scales() -> None:
    def work(n: int):
        tokens = ["1"] * (n // 2) + ["+"] * (n // 2 - 1)
        return lambda: sol.eval_rpn(tokens)

    assert_scales(work, 400, what="eval_rpn")


# --------------------------------------------------------------------------- daily_temperatures


def brute_daily(temps: list[int]) -> list[int]:
    return [next((j - i for j in range(i + 1, len(temps)) if temps[j] > t), 0) for i, t in enumerate(temps)]


def test_daily_temperatures_examples() -> None:
    for temps, want in [
        ([73, 74, 75, 71, 69, 72, 76, 73], [1, 1, 4, 2, 1, 1, 0, 0]),
        ([30, 40, 50, 60], [1, 1, 1, 0]),
        ([], []),
        ([50], [0]),
        ([60, 50, 40], [0, 0, 0]),
        ([70, 70, 71], [2, 1, 0]),
        ([-5, -10, 0], [2, 1, 0]),
    ]:
        check(sol.daily_temperatures(temps), want, f"daily_temperatures({temps})")


@fuzz
@given(st.lists(st.integers(-5, 5), max_size=20))
def test_daily_temperatures_matches_brute_force(temps: list[int]) -> None:
    check(sol.daily_temperatures(temps), brute_daily(temps), f"daily_temperatures({temps})")


def test_daily_temperatures_scales() -> None:
    def work(n: int):  # falling, then one hot day: scanning ahead from each day is quadratic
        temps = [*range(n, 0, -1), n + 1]
        return lambda: sol.daily_temperatures(temps)

    assert_scales(work, 400, what="daily_temperatures")


# --------------------------------------------------------------------------- largest_rectangle


def brute_rectangle(heights: list[int]) -> int:
    return max(
        (min(heights[i:j]) * (j - i) for i in range(len(heights)) for j in range(i + 1, len(heights) + 1)),
        default=0,
    )


def test_largest_rectangle_examples() -> None:
    for heights, want in [
        ([2, 1, 5, 6, 2, 3], 10),
        ([2, 4], 4),
        ([], 0),
        ([7], 7),
        ([0, 0], 0),
        ([3, 3, 3], 9),
        ([1, 2, 3, 4, 5], 9),
        ([5, 4, 1, 2], 8),
    ]:
        check(sol.largest_rectangle(heights), want, f"largest_rectangle({heights})")


@fuzz
@given(st.lists(st.integers(0, 9), max_size=14))
def test_largest_rectangle_matches_brute_force(heights: list[int]) -> None:
    check(sol.largest_rectangle(heights), brute_rectangle(heights), f"largest_rectangle({heights})")


def test_largest_rectangle_scales() -> None:
    def work(n: int):
        heights = [(i * 7919) % 1000 for i in range(n)]
        return lambda: sol.largest_rectangle(heights)

    assert_scales(work, 400, what="largest_rectangle")


# --------------------------------------------------------------------------- decode_string


def brute_decode(encoded: str) -> str:
    innermost = re.compile(r"(\d+)\[([a-z]*)\]")
    while "[" in encoded:
        encoded = innermost.sub(lambda m: m[2] * int(m[1]), encoded)
    return encoded


@st.composite
def encoded(draw: st.DrawFn, depth: int = 2) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        if depth and draw(st.booleans()):
            parts.append(f"{draw(st.integers(1, 12))}[{draw(encoded(depth - 1))}]")
        else:
            parts.append(draw(st.text("abc", max_size=3)))
    return "".join(parts)


def test_decode_string_examples() -> None:
    for s, want in [
        ("3[a]2[bc]", "aaabcbc"),
        ("3[a2[c]]", "accaccacc"),
        ("2[abc]3[cd]ef", "abcabccdcdcdef"),
        ("", ""),
        ("abc", "abc"),
        ("10[a]", "a" * 10),
        ("1[]x", "x"),
        ("2[2[2[z]]]", "z" * 8),
    ]:
        check(sol.decode_string(s), want, f"decode_string({s!r})")


@fuzz
@given(encoded())
def test_decode_string_matches_brute_force(s: str) -> None:
    check(sol.decode_string(s), brute_decode(s), f"decode_string({s!r})")


def test_decode_string_scales() -> None:
    def work(n: int):  # n small groups: rebuilding the whole output string per group is quadratic
        s = "2[ab]" * n
        return lambda: sol.decode_string(s)

    assert_scales(work, 400, what="decode_string")


# --------------------------------------------------------------------------- simplify_path


def brute_simplify(path: str) -> str:
    while True:
        simpler = re.sub(r"/+", "/", path)
        simpler = re.sub(r"/\.(?=/|$)", "", simpler)
        simpler = re.sub(r"^/\.\.(?=/|$)", "", simpler)
        simpler = re.sub(r"/(?!\.\.(?:/|$))[^/]+/\.\.(?=/|$)", "", simpler, count=1)
        if simpler == path:
            break
        path = simpler
    path = path.rstrip("/")
    return path or "/"


def test_simplify_path_examples() -> None:
    for path, want in [
        ("/home/", "/home"),
        ("/../", "/"),
        ("/home//foo/", "/home/foo"),
        ("/a/./b/../../c/", "/c"),
        ("/", "/"),
        ("/...", "/..."),
        ("/a/../../b", "/b"),
        ("/.hidden/x/.", "/.hidden/x"),
        ("/a/..b/..", "/a"),
    ]:
        check(sol.simplify_path(path), want, f"simplify_path({path!r})")


@fuzz
@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "..."]), max_size=8))
def test_simplify_path_matches_brute_force(parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    check(sol.simplify_path(path), brute_simplify(path), f"simplify_path({path!r})")


def test_simplify_path_scales() -> None:
    def work(n: int):
        path = "/" + "/".join(f"d{i}" for i in range(n)) + "/.." * (n // 2)
        return lambda: sol.simplify_path(path)

    assert_scales(work, 400, what="simplify_path")
