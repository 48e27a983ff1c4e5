# Furusato CRM — `make run` serves the demo, `make test` checks the floors (lint-imports) and runs the whole suite. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
CATALOGUES := $(wildcard crm/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: install run test test-sqlite test-postgres fuzz messages bench clean vendor screenshots

# The catalogues are compiled here and, should a .mo be missing or stale, again at start-up (crm/i18n.py).
install: $(STAMP) $(COMPILED)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

# Local serving over plain http on 127.0.0.1: a random secret kept in instance/, cookies without Secure.
instance/config.py:
	@mkdir -p instance
	@printf '# Written by `make run` for local use. Production sets CRM_SECRET_KEY and keeps Secure cookies.\nSECRET_KEY = "%s"\nSESSION_COOKIE_SECURE = False\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')" > $@
	@chmod 600 $@

# The task queue's worker (imports' checks and commits) runs in the background beside the server and
# stops with it (Ctrl-C, or the server ending for any reason).
run: $(STAMP) $(COMPILED) instance/config.py
	$(BIN)/flask --app crm db upgrade
	$(BIN)/flask --app crm seed-demo --if-empty
	$(BIN)/flask --app crm reports warm
	@$(BIN)/flask --app crm worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(BIN)/flask --app crm run --host $(HOST) --port $(PORT)

# The suite always runs on SQLite, then again on PostgreSQL when one can be had
# (CRM_TEST_DATABASE_URL, or a server on 127.0.0.1:5432). CI sets CRM_REQUIRE_POSTGRES=1.
# Sign-in throttling is tested on Redis too: scripts/ensure-redis starts a private one if needed
# (CRM_TEST_REDIS_URL names another).
REDIS = { [ -n "$$CRM_TEST_REDIS_URL" ] || CRM_TEST_REDIS_URL=$$(scripts/ensure-redis) || exit 1; export CRM_TEST_REDIS_URL; }
test: $(STAMP) $(COMPILED)
	$(BIN)/lint-imports
	@scripts/ensure-chromium || [ -z "$$CRM_REQUIRE_BROWSER" ]
	@scripts/ensure-libreoffice || [ -z "$$CRM_REQUIRE_LIBREOFFICE" ]
	@scripts/ensure-poppler || [ -z "$$CRM_REQUIRE_BROWSER" ]
	@scripts/vendor-assets axe || [ -z "$$CRM_REQUIRE_BROWSER" ]
	@scripts/ensure-java || [ -z "$$CRM_REQUIRE_HTML_VALIDATOR" ]
	@scripts/vendor-assets vnu || [ -z "$$CRM_REQUIRE_HTML_VALIDATOR" ]
	@$(REDIS); $(MAKE) --no-print-directory test-sqlite
	@$(REDIS); \
	url="$${CRM_TEST_DATABASE_URL:-}"; \
	if [ -z "$$url" ] && { [ -n "$$CRM_REQUIRE_POSTGRES" ] || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }; then \
		url=$$(scripts/ensure-postgres crm_test) || exit 1; \
	fi; \
	if [ -n "$$url" ]; then \
		CRM_TEST_DATABASE_URL="$$url" $(MAKE) --no-print-directory test-postgres; \
	else \
		echo "*** PostgreSQL was NOT tested: no CRM_TEST_DATABASE_URL and no server on 127.0.0.1:5432 ***"; \
	fi

test-sqlite: $(STAMP) $(COMPILED)
	@echo "=== test suite on SQLite ==="
	env -u CRM_TEST_DATABASE_URL $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: $(STAMP) $(COMPILED)
	@test -n "$$CRM_TEST_DATABASE_URL" || { echo "CRM_TEST_DATABASE_URL is not set" >&2; exit 1; }
	@echo "=== test suite on PostgreSQL ==="
	$(BIN)/pytest -q $(PYTEST_ARGS)

# A longer, randomized fuzzing run (tests/test_fuzz.py): FUZZ_EXAMPLES examples per field instead of
# CI's one, every Hypothesis phase (shrinking included). Add CRM_TEST_DATABASE_URL for PostgreSQL.
FUZZ_EXAMPLES ?= 20
fuzz: $(STAMP) $(COMPILED)
	CRM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/test_fuzz.py $(PYTEST_ARGS)

# Refresh the catalogues after changing user-visible strings; then translate the new entries.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _p:1c,2 -k lazy_pgettext:1c,2 --no-location --sort-output -o crm/translations/messages.pot .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations --no-fuzzy-matching --ignore-obsolete

# The pinned npm files: the design tokens served from static/vendor/ (committed; this re-fetches and
# checks them), axe-core for the browser tests (tests/browser/vendor/) and the W3C Nu validator
# (tests/vendor/vnu.jar) for tests/test_html_valid.py: neither committed.
vendor:
	scripts/vendor-assets

# PNGs of each role's key pages, ja/en, 1,366 and 390 px wide, into screenshots/ (git-ignored).
screenshots: $(STAMP) $(COMPILED)
	scripts/ensure-chromium
	$(BIN)/python scripts/screenshots.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
