.PHONY: install serve test services-start services-stop lint

install:
	.ci/install

serve:
	.ci/serve $(ARGS)

test:
	.ci/test $(ARGS)

services-start:
	.ci/services.sh start

services-stop:
	.ci/services.sh stop

lint: install
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports
