# Shortcuts for the README's commands. Nothing here is needed: each target is one command.
.PHONY: dev test soak lint

dev:
	python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/rallyline dev

test:
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest

soak:
	.venv/bin/python -m tests.soak --seconds $${SECONDS:-120}

lint:
	.venv/bin/ruff check .
