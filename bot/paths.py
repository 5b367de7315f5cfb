"""Where the Rasa project's files are: a leaf, so reading ``domain.yml`` does not import the trainer."""

from __future__ import annotations

from pathlib import Path

BOT_DIR = Path(__file__).resolve().parent
