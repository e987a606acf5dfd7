"""Reference solutions, module for module the same as ``labs/``.

Tests reach this code as ``labs.weekNN_topic`` when run with ``--solutions``, so solutions import
their siblings relatively (``from . import cache``), never as ``solutions.…``.
"""
