"""The one exception the harness raises for a problem the learner can fix.

The CLI prints a ``CourseError`` as one line — its message says what went wrong and how to fix
it. Anything else escaping the harness is a bug in the harness, and keeps its traceback so it can
be reported and fixed rather than hidden behind a friendly line.
"""

from __future__ import annotations


class CourseError(Exception):
    """A problem with the learner's setup or input; the message names it and gives the fix."""
