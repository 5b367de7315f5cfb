# The two commands a new user types (see README.md).
.PHONY: run test setup bench

setup:
	@bash scripts/setup.sh

run: setup
	@.venv/bin/faqbot run

test: setup
	@.venv/bin/python -m pytest -q

bench: setup
	@.venv/bin/python benchmarks/run_all.py
