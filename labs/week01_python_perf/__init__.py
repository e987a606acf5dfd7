"""Week 01 — Python, deep: concurrency models, profiling, memory. Lesson: weeks/01-python-perf/README.md.

Yours to write: ``concurrency.py``, ``fast_logs.py``, ``profiling.py``, ``memory.py``.
Given (read them, don't edit them): ``slow_server.py``, ``workloads.py``, ``loglines.py``,
``slow_logs.py``.
"""
