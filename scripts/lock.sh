#!/usr/bin/env bash
# Regenerate requirements/lock.txt from requirements/{rasa-deps,app,dev}.txt.
# Staged because the sets do not co-resolve on paper: Rasa's stack is resolved
# first, then the app's packages with numpy 1.24.4 (sentence-transformers needs
# >=1.24, TensorFlow 2.12 declares <1.24 but runs with it) and pydantic 1.x
# (Rasa), typer <0.13 (newer typer needs pydantic 2). `pip check` then lists
# exactly three known, accepted conflicts: tensorflow/numpy, rasa/matplotlib,
# rasa/setuptools (see README, "Dependencies").
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
python3.11 -m venv "$tmp/venv"
pip="$tmp/venv/bin/python -m pip"
$pip install -q -r requirements/rasa-deps.txt
$pip install -q --use-pep517 "numpy==1.24.4" "pydantic<1.10.10" "typer<0.13" \
  -r requirements/app.txt -r requirements/dev.txt
$pip install -q --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
$pip check || true
$pip freeze --all --exclude-editable | grep -vE '^(-e|faqbot)' > requirements/lock.txt
rm -rf "$tmp"
echo "wrote requirements/lock.txt"
