"""Every pointer into a lesson names a heading that is there.

A starter's ``NotImplementedError`` and a ``week.yaml`` hint send the learner to the lesson one way:
``see weeks/NN-topic/README.md, section 'Exact Heading Text'``. A renamed heading, or a pointer in
another style ("§3", "README §4", "sections 'A' to 'B'"), leaves the learner searching; this test
lists every such pointer with its file and line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from course import curriculum, paths

LAB_WEEKS = [w for w in curriculum.weeks() if w.has_lab]

POINTER = re.compile(r"weeks/(?P<folder>\d{2}-[a-z0-9-]+)/README\.md, section "
                     r"'(?P<heading>.+?)'(?=[\s.,;:)\]]|$)")
# Words that mark an attempt to point into a lesson; outside a POINTER they are another style.
POINTER_WORDS = re.compile(r"§|README|\bsections?\b", re.IGNORECASE)


def headings(folder: str) -> set[str]:
    """The week's headings as written, and as the page shows them (inline-code backticks gone)."""
    readme = paths.WEEKS_DIR / folder / "README.md"
    if not readme.is_file():
        return set()
    written = {line.lstrip("#").strip() for line in readme.read_text().splitlines()
               if re.match(r"#{1,6} ", line)}
    return written | {heading.replace("`", "") for heading in written}


def pointer_problems(text: str, where: str) -> list[str]:
    """What is wrong with the lesson pointers in ``text`` (found at ``where``)."""
    problems = []
    for match in POINTER.finditer(text):
        if match["heading"] not in headings(match["folder"]):
            problems.append(f"{where}: weeks/{match['folder']}/README.md has no heading "
                            f"{match['heading']!r}")
    rest = POINTER.sub("", text)
    if POINTER_WORDS.search(rest):
        problems.append(f"{where}: a lesson pointer in another style: {' '.join(text.split())!r} — "
                        "write \"see weeks/NN-topic/README.md, section 'Exact Heading'\"")
    return problems


def _static_text(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The string an expression builds from literals and module-level string constants, if any."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.FormattedValue) and node.format_spec is None:
        return _static_text(node.value, constants)
    if isinstance(node, ast.JoinedStr):
        parts = [_static_text(value, constants) for value in node.values]
        return None if None in parts else "".join(p or "" for p in parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format" and not node.keywords:  # TODO.format("Auth")
        template = _static_text(node.func.value, constants)
        args = [_static_text(arg, constants) for arg in node.args]
        if template is None or None in args:
            return None
        return template.format(*args)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _static_text(node.left, constants), _static_text(node.right, constants)
        return None if left is None or right is None else left + right
    return None


def starter_messages(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line, message) for every ``raise NotImplementedError(…)``; None when not a plain string."""
    tree = ast.parse(path.read_text())
    constants: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            value = _static_text(statement.value, constants)
            if value is not None:
                constants[statement.targets[0].id] = value
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc
            name = call.func if isinstance(call, ast.Call) else call
            if isinstance(name, ast.Name) and name.id == "NotImplementedError":
                arg = call.args[0] if isinstance(call, ast.Call) and call.args else None
                yield node.lineno, _static_text(arg, constants) if arg is not None else None


def yaml_line(path: Path, needle: str) -> int:
    """The line of ``path`` that first mentions ``needle`` (1 when none does)."""
    lines = path.read_text().splitlines()
    return next((number for number, line in enumerate(lines, 1) if needle in line), 1)


@pytest.mark.parametrize("week", LAB_WEEKS, ids=lambda w: w.code)
def test_starters_point_at_headings_that_exist(week: curriculum.Week) -> None:
    problems = []
    for path in sorted(paths.lab_package_dir(week.package or "").rglob("*.py")):
        where = paths.relative(path)
        for line, message in starter_messages(path):
            if message is None or not (POINTER.search(message) or POINTER_WORDS.search(message)):
                problems.append(f"{where}:{line}: NotImplementedError({message!r}) does not say where "
                                "in the lesson to look: end it with \"see weeks/NN-topic/README.md, "
                                "section 'Exact Heading'\"")
            else:
                problems += pointer_problems(message, f"{where}:{line}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("week", LAB_WEEKS, ids=lambda w: w.code)
def test_hints_point_at_headings_that_exist(week: curriculum.Week) -> None:
    meta = week.folder / "week.yaml"
    where = paths.relative(meta)
    texts = [(yaml_line(meta, test_id), text) for test_id, text in week.hints.items()]
    texts += [(yaml_line(meta, f"name: {m.name}"), m.hint) for m in week.mistakes]
    problems = [problem for line, text in texts for problem in pointer_problems(text, f"{where}:{line}")]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_each_kind_of_bad_pointer(tmp_path: Path) -> None:
    week = LAB_WEEKS[0]
    heading = sorted(headings(week.folder.name))[0]
    good = f"see weeks/{week.folder.name}/README.md, section '{heading}'."
    assert pointer_problems(good, "x") == []
    assert "has no heading 'Nope'" in pointer_problems(
        f"see weeks/{week.folder.name}/README.md, section 'Nope'", "x")[0]
    for other in ("Look at SET NX in the lesson, §3.", "README §4.", f"{good} Also §2"):
        assert "another style" in pointer_problems(other, "x:1")[0], other
    tree = ("README = 'weeks/x/README.md'\nTODO = 'g: {}'\ndef f():\n"
            "    raise NotImplementedError(f'f: see {README}, ' 'y')\n"
            "    raise NotImplementedError(TODO.format('z'))\n")
    source = tmp_path / "starter.py"
    source.write_text(tree)
    assert list(starter_messages(source)) == [(4, "f: see weeks/x/README.md, y"), (5, "g: z")]
