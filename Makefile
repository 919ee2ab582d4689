# Shortcuts for the two README commands and friends.
.PHONY: demo test lint bench db-down
demo:
	scripts/demo.sh
test:
	scripts/test.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
bench:
	scripts/bench.sh
db-down:
	.venv/bin/onemap db down
