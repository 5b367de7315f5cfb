"""The one root of the project's own exceptions.

``FaqbotError`` is what every error the project raises on purpose derives
from; ``UserError`` marks the expected failures a person can fix (an invalid
KB, a missing index, a bad argument): the CLI prints their message as one
line and exits 1, and shows a traceback only for anything else. A leaf: it
imports nothing of the project, so every package may raise these.
"""

from __future__ import annotations


class FaqbotError(Exception):
    """Raised on purpose by faqbot code (as opposed to a bug or a library's error)."""


class UserError(FaqbotError):
    """An expected failure whose message tells a person what to fix; the CLI prints it and exits 1."""
