"""Stacks: the most recent unfinished thing is the one to finish first (brackets, operands, waits)."""

from __future__ import annotations

PAIRS = {")": "(", "]": "[", "}": "{"}


def valid_parentheses(s: str) -> bool:
    """True if every bracket in ``s`` — ``()[]{}`` — is closed by its own kind, in the right order.

    Constraints: ``s`` holds only bracket characters, len up to 10^5; "" is valid.
    Example: valid_parentheses("([]{})") is True; valid_parentheses("([)]") is False.

    Complexity: O(n) time, O(n) space — push openers; a closer must match the top.
    """
    stack: list[str] = []
    for char in s:
        if char in PAIRS:
            if not stack or stack.pop() != PAIRS[char]:
                return False
        else:
            stack.append(char)
    return not stack


class MinStack:
    """A stack that also answers "what is the smallest value in you?" in O(1).

    ``push(x)``, ``pop() -> int``, ``top() -> int``, ``get_min() -> int``; pop, top and get_min on
    an empty stack raise ``IndexError``. Every operation O(1).
    Example: push(3), push(1), get_min() == 1, pop() == 1, get_min() == 3.

    Complexity: O(1) time per operation, O(n) space — each entry stores the minimum below and
    including it, so popping restores the previous minimum.
    """

    def __init__(self) -> None:
        self._items: list[tuple[int, int]] = []

    def push(self, value: int) -> None:
        low = min(value, self._items[-1][1]) if self._items else value
        self._items.append((value, low))

    def pop(self) -> int:
        if not self._items:
            raise IndexError("pop from an empty MinStack")
        return self._items.pop()[0]

    def top(self) -> int:
        if not self._items:
            raise IndexError("top of an empty MinStack")
        return self._items[-1][0]

    def get_min(self) -> int:
        if not self._items:
            raise IndexError("get_min of an empty MinStack")
        return self._items[-1][1]


def eval_rpn(tokens: list[str]) -> int:
    """The value of an expression in reverse Polish notation: ``["2", "1", "+", "3", "*"]`` is 9.

    Operators ``+ - * /``; ``/`` truncates toward zero (``-7 / 2`` is -3). The input is valid and
    never divides by zero. Constraints: up to 10^4 tokens; integers may be negative ("-3").
    Example: eval_rpn(["4", "13", "5", "/", "+"]) == 6.

    Complexity: O(n) time, O(n) space — operands wait on a stack for their operator.
    """
    stack: list[int] = []
    for token in tokens:
        if token in {"+", "-", "*", "/"}:
            right, left = stack.pop(), stack.pop()
            if token == "+":
                stack.append(left + right)
            elif token == "-":
                stack.append(left - right)
            elif token == "*":
                stack.append(left * right)
            else:
                quotient = abs(left) // abs(right)
                stack.append(quotient if (left >= 0) == (right > 0) else -quotient)
        else:
            stack.append(int(token))
    return stack[-1]


def daily_temperatures(temperatures: list[int]) -> list[int]:
    """For each day, how many days until a strictly warmer one; 0 if none comes.

    Constraints: len up to 10^5.
    Example: daily_temperatures([73, 74, 75, 71, 69, 72, 76, 73]) == [1, 1, 4, 2, 1, 1, 0, 0].

    Complexity: O(n) time, O(n) space — a stack of days still waiting, temperatures decreasing
    from bottom to top; a warmer day answers every colder day on top.
    """
    answer = [0] * len(temperatures)
    waiting: list[int] = []
    for day, temperature in enumerate(temperatures):
        while waiting and temperatures[waiting[-1]] < temperature:
            earlier = waiting.pop()
            answer[earlier] = day - earlier
        waiting.append(day)
    return answer


def largest_rectangle(heights: list[int]) -> int:
    """The largest rectangle area inside a histogram of bars of width 1.

    Constraints: heights >= 0, len up to 10^5.
    Example: largest_rectangle([2, 1, 5, 6, 2, 3]) == 10.

    Complexity: O(n) time, O(n) space — a stack of bars with increasing heights; when a lower bar
    arrives, each taller bar popped knows both its edges.
    """
    stack: list[int] = []  # indices, heights increasing
    best = 0
    for i, height in enumerate([*heights, 0]):
        while stack and heights[stack[-1]] >= height:
            top = heights[stack.pop()]
            left = stack[-1] + 1 if stack else 0
            best = max(best, top * (i - left))
        stack.append(i)
    return best


def decode_string(encoded: str) -> str:
    """Expand ``k[text]`` (text repeated k times), nested: ``"3[a2[c]]"`` → ``"accaccacc"``.

    Constraints: the input is well formed; k is a positive integer (maybe several digits); the
    output is at most 10^5 characters.
    Example: decode_string("2[ab]c") == "ababc".

    Complexity: O(output) time and space — a stack of (text so far, repeat count) per open bracket;
    parts are joined once, never concatenated in a loop.
    """
    stack: list[tuple[list[str], int]] = []
    parts: list[str] = []
    count = 0
    for char in encoded:
        if char.isdigit():
            count = count * 10 + int(char)
        elif char == "[":
            stack.append((parts, count))
            parts, count = [], 0
        elif char == "]":
            outer, repeat = stack.pop()
            outer.append("".join(parts) * repeat)
            parts = outer
        else:
            parts.append(char)
    return "".join(parts)


def simplify_path(path: str) -> str:
    """The canonical form of an absolute Unix path: no ``.``, ``..`` resolved, single slashes.

    ``..`` at the root stays at the root; the result never ends with "/" unless it is "/".
    Constraints: ``path`` starts with "/", len up to 10^5; names may contain dots ("...").
    Example: simplify_path("/a/./b/../../c/") == "/c".

    Complexity: O(n) time, O(n) space — a stack of directory names.
    """
    names: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if names:
                names.pop()
        elif part and part != ".":
            names.append(part)
    return "/" + "/".join(names)
