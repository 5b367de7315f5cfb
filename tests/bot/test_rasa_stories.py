"""`rasa test` over the conversation paths in bot/tests/test_stories.yml, and
`rasa data validate` over the project: real Rasa CLI, real trained model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.paths import BOT_DIR
from bot.process.training import rasa_env, train
from faqbot.config import PROJECT_ROOT, load_settings
from tests.bot.conftest import MODELS_DIR

pytestmark = pytest.mark.slow


def test_conversation_stories_pass(tmp_path):
    model, _ = train(load_settings(env={}), MODELS_DIR)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            str(BOT_DIR / "tests" / "test_stories.yml"),
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path / "results"),
        ],
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = tmp_path / "results" / "failed_test_stories.yml"
    assert done.returncode == 0, failed.read_text(encoding="utf-8") if failed.exists() else done.stdout[-3000:]


def test_training_data_is_consistent():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "data",
            "validate",
            "--domain",
            str(BOT_DIR / "domain.yml"),
            "--data",
            str(BOT_DIR / "data"),
            "--config",
            str(BOT_DIR / "config.yml"),
            "--fail-on-warnings",
        ],
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
