"""Which channels listed in ``bot/credentials.yml`` are mounted.

A platform channel declares the environment variables it cannot work without
(``PlatformChannel.required_env``, ``connectors/base.py``). When any is unset the channel is not mounted at all (no
half-configured webhook that rejects every request) and the run command says
which, in one line. Secrets live only in the environment; credentials.yml
names the classes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import InputChannel

from connectors.base import PlatformChannel


def required_env(channel_class: type[InputChannel]) -> tuple[str, ...]:
    """What the channel declares (``PlatformChannel.required_env``); a channel that declares nothing needs nothing."""
    if issubclass(channel_class, PlatformChannel):
        return channel_class.required_env
    return tuple(getattr(channel_class, "required_env", ()))  # an InputChannel of Rasa's kind, declaring its own


def missing_env(channel_class: type[InputChannel], env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    return [name for name in required_env(channel_class) if not env.get(name, "").strip()]


def channel_classes(credentials_file: Path) -> dict[str, type[InputChannel]]:
    """Class path → class, for every channel in the credentials file."""
    from rasa.shared.utils.common import class_from_module_path

    data: dict[str, Any] = yaml.safe_load(credentials_file.read_text(encoding="utf-8")) or {}
    return {path: class_from_module_path(path) for path in data}


def unmounted(credentials_file: Path, env: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Channel name → its unset variables, for each channel that will not be mounted."""
    skipped = {}
    for cls in channel_classes(credentials_file).values():
        missing = missing_env(cls, env)
        if missing:
            skipped[cls.name()] = missing
    return skipped


def summary(skipped: dict[str, list[str]]) -> str:
    """The one line the run command prints."""
    parts = [f"{name} ({', '.join(names)})" for name, names in skipped.items()]
    return "channels not mounted, set their environment variables to enable them: " + "; ".join(parts)
