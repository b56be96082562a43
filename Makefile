# ecopy — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORPUS ?= ../shared/corpus/dev
REAL_CORPUS ?= ../shared/corpus/real
PYTEST_ARGS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# System packages: OCR (Vietnamese; English for the machine-readable zones of ID cards and passports), PDF tools, Redis, fonts with Vietnamese glyphs, zbar (QR).
APT_RUN  := tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng poppler-utils qpdf ghostscript redis-server \
            fonts-noto-core fonts-dejavu-core libzbar0 ca-certificates
# Extra for tests: NSS tools for poppler's pdfsig trust store, compose to validate docker-compose.yml,
# Chromium for the Playwright browser tests (Playwright never downloads a browser here),
# SoftHSM2 as the PKCS#11 signing token of the token tests and of `make bench`.
APT_TEST := libnss3-tools docker-compose chromium softhsm2

export OMP_THREAD_LIMIT := 1

.PHONY: help run test bench eval ocr-models lint typecheck sysdeps sysdeps-test venv venv-test clean-data

help:
	@echo "make run    — install everything and start ecopy on 127.0.0.1:8000 (embedded default)"
	@echo "make test   — install test needs, start test services, run lint, types and tests"
	@echo "make eval   — read $(CORPUS) and the real documents $(REAL_CORPUS) (no signing): accuracy, calibration, confidently wrong fields"
	@echo "make bench  — pages/min of the full pipeline vs bare tesseract, batch pages/min on 1 and 2 workers, then copies/s of batch signing vs bare pyHanko, on $(CORPUS)"

# Installs only what is missing, so a second run does nothing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if ! $(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "==> apt-get install$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

sysdeps:
	$(call apt_install,$(APT_RUN))

sysdeps-test: sysdeps
	$(call apt_install,$(APT_TEST))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.installed-test: requirements-test.lock $(VENV)/.installed
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.lock
	touch $@

# The second OCR model (tessdata_best_int vie from the npm package @tesseract.js-data/vie, pinned
# by hash): ecopy re-reads every confident field with it and sends disagreements to review.
# tesseract also needs configs/ (tsv output) and osd beside a model: copied from the system's.
NPM_VIE     := https://registry.npmjs.org/@tesseract.js-data/vie/-/vie-1.0.0.tgz
NPM_VIE_SHA := 4f0a17b39722269c1c5e5f10d7aa3acd9a74fe46b109621973450caa4d9fe19f
TESSDATA_SYS := /usr/share/tesseract-ocr/5/tessdata
OCR_CHECK   := $(VENV)/share/ecopy/tessdata/best_int

$(OCR_CHECK)/vie.traineddata: | $(BIN)/python
	@echo "==> second OCR model: $(NPM_VIE)"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  curl -sSfL --retry 3 -o "$$tmp/vie.tgz" "$(NPM_VIE)" && \
	  echo "$(NPM_VIE_SHA)  $$tmp/vie.tgz" | sha256sum -c --quiet - && \
	  tar -xzf "$$tmp/vie.tgz" -C "$$tmp" package/4.0.0_best_int/vie.traineddata.gz && \
	  mkdir -p $(OCR_CHECK) && cp -r $(TESSDATA_SYS)/configs $(TESSDATA_SYS)/tessconfigs $(TESSDATA_SYS)/osd.traineddata $(OCR_CHECK)/ && \
	  gunzip -c "$$tmp/package/4.0.0_best_int/vie.traineddata.gz" > $@.part && mv $@.part $@

ocr-models: sysdeps $(OCR_CHECK)/vie.traineddata

venv: $(VENV)/.installed $(OCR_CHECK)/vie.traineddata
venv-test: $(VENV)/.installed-test $(OCR_CHECK)/vie.traineddata

run: sysdeps venv
	$(BIN)/ecopy up

# ruff, then the rooms of ARCHITECTURE.md ([tool.importlinter] in pyproject.toml).
lint: venv-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: venv-test
	$(BIN)/mypy

# pytest's conftest starts what the tests need (Redis DB, SeaweedFS S3, a fresh PostgreSQL
# database) and stops it afterwards. Exit code 5 (no tests collected) counts as a failure.
test: sysdeps-test venv-test lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS) || { rc=$$?; [ $$rc -eq 5 ] && echo "pytest collected no tests"; exit $$rc; }

bench: sysdeps venv
	$(call apt_install,softhsm2)
	$(BIN)/ecopy bench $(CORPUS)

clean-data:
	rm -rf data

# Reading accuracy on the dev corpus and on the real documents: results in results/eval-*,
# the report on stdout and its figures in results/eval-*.json.
eval: sysdeps venv
	$(BIN)/ecopy eval $(CORPUS) --results results/eval-dev --report results/eval-dev.json --quiet
	$(BIN)/ecopy eval $(REAL_CORPUS) --results results/eval-real --report results/eval-real.json --quiet
