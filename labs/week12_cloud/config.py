"""Settings whose secrets stay secret: loaded from Secrets Manager or a mounted directory.

A secret leaks through the channels nobody reviews: a ``repr`` in a log line, a validation error
that quotes the bad value, a traceback chained to that error, an error page. Typing the value
as ``SecretStr`` closes the first three at the source — it prints as ``'**********'`` everywhere
and hands out the real value only to code that asks for it by name, ``get_secret_value()``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each field, never a value."""


class Settings(BaseModel):
    """The service's settings.

    Fields: ``database_url`` and ``jwt_secret`` (secrets: typed so that no repr, str, f-string or
    dump shows them; ``jwt_secret`` at least 32 characters) and ``bucket`` (a plain ``str``).
    Unknown keys are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")


def settings_from_secrets_manager(client: Any, secret_id: str) -> Settings:
    """Settings from one Secrets Manager secret whose SecretString is a JSON object of fields.

    Invalid or missing fields raise ``SettingsError`` naming each field (e.g. ``JWT_SECRET``,
    ``BUCKET``) and no value — in the message *and* in the whole traceback, chained causes too.
    """
    raise NotImplementedError(
        "settings_from_secrets_manager — see weeks/12-cloud/README.md, section "
        "'Secrets that stay secret'")


def settings_from_directory(path: Path) -> Settings:
    """Settings from a mounted directory: one file per field, its trailing newline stripped."""
    raise NotImplementedError(
        "settings_from_directory — see weeks/12-cloud/README.md, section "
        "'Secrets that stay secret'")
