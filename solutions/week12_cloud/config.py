"""Settings whose secrets stay secret: loaded from Secrets Manager or a mounted directory.

A secret leaks through the channels nobody reviews: a ``repr`` in a log line, a validation error
that quotes the bad value, a traceback chained to that error, an error page. Typing the value
as ``SecretStr`` closes the first three at the source — it prints as ``'**********'`` everywhere
and hands out the real value only to code that asks for it by name, ``get_secret_value()``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

logger = logging.getLogger(__name__)


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each field, never a value."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    database_url: SecretStr
    jwt_secret: SecretStr = Field(min_length=32)
    bucket: str


def _validated(values: dict[str, Any], source: str) -> Settings:
    try:
        settings = Settings.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in error.errors())
        # `from None`: a chained ValidationError would print every input value in the traceback.
        raise SettingsError(f"settings from {source} are invalid — {problems}") from None
    logger.info("settings loaded from %s: %r", source, settings)
    return settings


def settings_from_secrets_manager(client: Any, secret_id: str) -> Settings:
    """Settings from one Secrets Manager secret whose SecretString is a JSON object of fields."""
    answer = client.get_secret_value(SecretId=secret_id)
    try:
        values = json.loads(answer["SecretString"])
    except (KeyError, json.JSONDecodeError):
        raise SettingsError(f"secret {secret_id} is not a JSON object of settings") from None
    if not isinstance(values, dict):
        raise SettingsError(f"secret {secret_id} is not a JSON object of settings")
    return _validated(values, f"secret {secret_id}")


def settings_from_directory(path: Path) -> Settings:
    """Settings from a mounted directory (Compose/Kubernetes secrets): one file per field."""
    values = {file.name: file.read_text().rstrip("\n") for file in path.iterdir() if file.is_file()}
    return _validated(values, f"directory {path}")
