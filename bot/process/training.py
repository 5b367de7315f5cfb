"""Train the Rasa model from ``bot/``, once per distinct set of training inputs.

The inputs are the pipeline config, the domain, the NLU/rule/story data and
the jieba dictionary (from ``kb_content/terms.txt``). Their hash names the
model file, so an unchanged bot is never retrained and FAQ edits (which live
in the index, not in the model) never trigger training.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import yaml

from bot.paths import BOT_DIR
from faqbot.config import PROJECT_ROOT, Settings
from faqbot.errors import UserError
from indexer.validate import read_terms

JIEBA_DICT = "userdict.txt"


class TrainingFailed(UserError, RuntimeError):
    """``rasa train`` exited non-zero."""


def _training_files() -> list[Path]:
    data = sorted(p for p in (BOT_DIR / "data").rglob("*.yml"))
    return [BOT_DIR / "config.yml", BOT_DIR / "domain.yml", *data]


def jieba_dictionary(settings: Settings) -> str:
    terms, _ = read_terms(settings.kb_dir)
    return "".join(f"{term} 2000\n" for term in sorted(set(terms)))


def training_hash(settings: Settings) -> str:
    digest = hashlib.sha256()
    for path in _training_files():
        digest.update(str(path.relative_to(BOT_DIR)).encode())
        digest.update(path.read_bytes())
    digest.update(jieba_dictionary(settings).encode())
    return digest.hexdigest()[:16]


def model_path(settings: Settings, models_dir: Path | None = None) -> Path:
    return (models_dir or settings.models_dir) / f"bot-{training_hash(settings)}.tar.gz"


def _prepare_config(settings: Settings, work: Path) -> Path:
    """The pipeline config with the jieba dictionary folder made absolute."""
    dict_dir = work / "jieba"
    dict_dir.mkdir(parents=True, exist_ok=True)
    (dict_dir / JIEBA_DICT).write_text(jieba_dictionary(settings), encoding="utf-8")
    config = yaml.safe_load((BOT_DIR / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component.get("name") == "JiebaTokenizer":
            component["dictionary_path"] = str(dict_dir)
    path = work / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def rasa_env() -> dict[str, str]:
    """Environment for Rasa subprocesses: the project importable, TF quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def train(settings: Settings, models_dir: Path | None = None, force: bool = False) -> tuple[Path, bool]:
    """Return the model for the current inputs, training it if needed.

    The second value says whether training ran. Rasa's own progress bars are
    passed through, so long training is visible.
    """
    target = model_path(settings, models_dir)
    if target.exists() and not force:
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    work = settings.data_dir / "rasa" / "train"
    config = _prepare_config(settings, work)
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        str(config),
        "--domain",
        str(BOT_DIR / "domain.yml"),
        "--data",
        str(BOT_DIR / "data"),
        "--out",
        str(target.parent),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=rasa_env())
    if done.returncode != 0 or not target.exists():
        raise TrainingFailed(f"`rasa train` failed (exit {done.returncode}); see its output above")
    return target, True
