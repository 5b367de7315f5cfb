"""Every expected failure derives from ``UserError`` (the CLI's one ``except``) and keeps
the built-in base it had, so code that caught ``ValueError`` or ``OSError`` still does."""

from __future__ import annotations

import pytest

from bot.process.runner import StartupFailed
from bot.process.training import TrainingFailed
from faqbot.config import ConfigError
from faqbot.errors import FaqbotError, UserError
from indexer.embedders import EmbedderError
from indexer.evaluate import BenchmarkError
from indexer.kb import KBInvalid
from indexer.kb_import import KBImportError
from indexer.manifest import IndexCorrupt, IndexMismatch, IndexMissing, IndexOutdated
from indexer.service import IndexUnusable
from indexer.store import StoreError


@pytest.mark.parametrize(
    "error, builtin",
    [
        (ConfigError, ValueError),
        (KBInvalid, ValueError),
        (KBImportError, ValueError),
        (BenchmarkError, ValueError),
        (EmbedderError, RuntimeError),
        (IndexMissing, FileNotFoundError),
        (IndexUnusable, FileNotFoundError),
        (IndexMismatch, RuntimeError),
        (IndexOutdated, RuntimeError),
        (IndexCorrupt, RuntimeError),
        (StoreError, RuntimeError),
        (TrainingFailed, RuntimeError),
        (StartupFailed, RuntimeError),
    ],
)
def test_expected_failures_are_user_errors_and_keep_their_builtin_base(error, builtin):
    assert issubclass(error, UserError) and issubclass(error, FaqbotError) and issubclass(error, builtin)


def test_the_message_is_unchanged_by_the_root():
    assert str(IndexMissing("no published index under var/index")) == "no published index under var/index"
