"""Headless Chromium for the console's browser tests: Debian's Chromium
(``/usr/bin/chromium``, or ``FAQBOT_CHROMIUM``) driven by Playwright, with the
flags that keep it off the network at start-up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path:
    return Path(os.environ.get("FAQBOT_CHROMIUM", "/usr/bin/chromium"))


def launch_chromium(playwright: Any) -> Any:
    path = chromium_path()
    if not path.exists():
        raise FileNotFoundError(f"Chromium not found at {path}: apt-get install chromium (or set FAQBOT_CHROMIUM)")
    return playwright.chromium.launch(executable_path=str(path), headless=True, args=ARGS)
