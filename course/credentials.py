"""Per-installation passwords for the embedded servers, and keeping them out of sight.

Loopback is not a boundary between users: on a shared machine any local account can connect
to 127.0.0.1. So each embedded server gets a random password on first start, kept in the state
directory as ``<service>.password`` (mode 0600), and every URL the course hands out carries it —
a learner never types it. What the course *prints* is masked: :func:`mask_url` for URLs,
:func:`redact` for any text (an error message, a log tail) that might quote one, and every URL
handed out is a :class:`SecretUrl`, whose ``repr`` (what pytest shows) is masked.
"""

from __future__ import annotations

import os
import re
import secrets
from urllib.parse import quote

from course.statedir import PRIVATE_FILE, state_dir

MASK = "***"


def password(service: str) -> str:
    """The password of embedded ``service``, created (random, 0600) on first use."""
    path = state_dir() / f"{service}.password"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()


def known_passwords() -> list[str]:
    """Every password in the state directory (nothing is created)."""
    return [text for path in sorted(state_dir(create=False).glob("*.password"))
            if (text := path.read_text().strip())]


def userinfo(user: str, secret: str) -> str:
    """``user:secret`` for a URL, both percent-encoded (a password may hold ``@``, ``/`` or ``%``)."""
    return f"{quote(user, safe='')}:{quote(secret, safe='')}"


_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s/]*)@", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with the password in its user part replaced by ``***`` (anything else unchanged)."""
    return _USERINFO.sub(lambda m: f"{m['head']}{MASK}@" if m["secret"] else m[0], url)


class SecretUrl(str):
    """A URL whose ``repr`` masks its password — the value itself is the whole URL.

    SQLAlchemy's ``URL`` does the same. ``repr`` is what pytest prints for a failing test's
    arguments (``database_url = '…'``) and in assertion explanations, and what a notebook shows
    for a bare expression; ``str``, f-strings and every client library see the real URL.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_url(str(self)))


def redact(text: str) -> str:
    """``text`` with every URL password and every known password (raw or encoded) masked."""
    text = mask_url(text)
    for secret in known_passwords():
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, MASK)
    return text
