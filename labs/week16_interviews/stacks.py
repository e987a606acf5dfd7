"""Stacks: the most recent unfinished thing is the one to finish first (brackets, operands, waits)."""

from __future__ import annotations

LESSON = "see weeks/16-interviews/README.md, section 'Stacks'"


def valid_parentheses(s: str) -> bool:
    """True if every bracket in ``s`` — ``()[]{}`` — is closed by its own kind, in the right order.

    Constraints: ``s`` holds only bracket characters, len up to 10^5; "" is valid.
    Example: valid_parentheses("([]{})") is True; valid_parentheses("([)]") is False.
    """
    raise NotImplementedError(LESSON)


class MinStack:
    """A stack that also answers "what is the smallest value in you?" in O(1).

    ``push(x)``, ``pop() -> int``, ``top() -> int``, ``get_min() -> int``; pop, top and get_min on
    an empty stack raise ``IndexError``. Every operation O(1).
    Example: push(3), push(1), get_min() == 1, pop() == 1, get_min() == 3.
    """

    def __init__(self) -> None:
        raise NotImplementedError(LESSON)

    def push(self, value: int) -> None:
        raise NotImplementedError(LESSON)

    def pop(self) -> int:
        raise NotImplementedError(LESSON)

    def top(self) -> int:
        raise NotImplementedError(LESSON)

    def get_min(self) -> int:
        raise NotImplementedError(LESSON)


def eval_rpn(tokens: list[str]) -> int:
    """The value of an expression in reverse Polish notation: ``["2", "1", "+", "3", "*"]`` is 9.

    Operators ``+ - * /``; ``/`` truncates toward zero (``-7 / 2`` is -3). The input is valid and
    never divides by zero. Constraints: up to 10^4 tokens; integers may be negative ("-3").
    Example: eval_rpn(["4", "13", "5", "/", "+"]) == 6.
    """
    raise NotImplementedError(LESSON)


def daily_temperatures(temperatures: list[int]) -> list[int]:
    """For each day, how many days until a strictly warmer one; 0 if none comes.

    Constraints: len up to 10^5.
    Example: daily_temperatures([73, 74, 75, 71, 69, 72, 76, 73]) == [1, 1, 4, 2, 1, 1, 0, 0].
    """
    raise NotImplementedError(LESSON)


def largest_rectangle(heights: list[int]) -> int:
    """The largest rectangle area inside a histogram of bars of width 1.

    Constraints: heights >= 0, len up to 10^5.
    Example: largest_rectangle([2, 1, 5, 6, 2, 3]) == 10.
    """
    raise NotImplementedError(LESSON)


def decode_string(encoded: str) -> str:
    """Expand ``k[text]`` (text repeated k times), nested: ``"3[a2[c]]"`` → ``"accaccacc"``.

    Constraints: the input is well formed; k is a positive integer (maybe several digits); the
    output is at most 10^5 characters.
    Example: decode_string("2[ab]c") == "ababc".
    """
    raise NotImplementedError(LESSON)


def simplify_path(path: str) -> str:
    """The canonical form of an absolute Unix path: no ``.``, ``..`` resolved, single slashes.

    ``..`` at the root stays at the root; the result never ends with "/" unless it is "/".
    Constraints: ``path`` starts with "/", len up to 10^5; names may contain dots ("...").
    Example: simplify_path("/a/./b/../../c/") == "/c".
    """
    raise NotImplementedError(LESSON)
