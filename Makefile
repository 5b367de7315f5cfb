# The two commands a new user types (see README.md).
.PHONY: run test setup bench lint fmt

setup:
	@bash scripts/setup.sh

run: setup
	@.venv/bin/faqbot run

test: setup
	@.venv/bin/python -m pytest -q

bench: setup
	@.venv/bin/python benchmarks/run_all.py

# The checks every commit passes (configured in pyproject.toml; CI runs them before the tests).
lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy
	@.venv/bin/lint-imports

fmt: setup
	@.venv/bin/ruff check --fix .
	@.venv/bin/ruff format .
