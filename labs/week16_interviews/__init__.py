"""Week 16 — Interviews: sixty basic problems by pattern, a resume and a story bank.

Lesson: weeks/16-interviews/README.md. One module per pattern; ``resume.yaml`` and
``stories.yaml`` are yours to fill.
"""
