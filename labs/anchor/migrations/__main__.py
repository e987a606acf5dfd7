"""``python -m anchor.migrations upgrade [REV]`` / ``downgrade [REV]`` against ANCHOR_DATABASE_URL."""

from __future__ import annotations

import sys

from ..core.config import get_settings
from . import downgrade, upgrade


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"upgrade", "downgrade"}:
        print("usage: python -m anchor.migrations upgrade|downgrade [REVISION]", file=sys.stderr)
        return 2
    url = get_settings().database_url
    if argv[0] == "upgrade":
        upgrade(url, argv[1] if len(argv) > 1 else "head")
    else:
        downgrade(url, argv[1] if len(argv) > 1 else "base")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
