# Everything runs inside a local virtual environment (.venv).
# make reproduce           - install, then regenerate every table, figure and executed
#                            notebook from the committed checkpoints (profile "report")
# make test                - install and run the test suite, including every notebook
#                            with the smoke profile (what CI runs)
# make train PROFILE=cpu   - retrain everything (profiles: cpu, paper), then evaluate
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

PROFILE ?= cpu
# The datasets: $REPRODUCE_DATA if set, else ../shared/data when it exists, else ./data.
ifeq ($(origin REPRODUCE_DATA), undefined)
ifneq ($(wildcard ../shared/data),)
export REPRODUCE_DATA := $(abspath ../shared/data)
endif
endif

.PHONY: install test reproduce train benchmarks bicubic clean check-outputs mutations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned first: the pinned CPU wheel; an unpinned torch would pull CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

reproduce: $(STAMP)
	$(VENV)/bin/reproduce run --profile report
	$(PY) -m reproduce.timings

train: $(STAMP)
	$(VENV)/bin/reproduce run --profile $(PROFILE)

# Every benchmark whose results benchmarks/report.py reads (bf16_vs_fp32 trains two short 300-step runs).
benchmarks: $(STAMP)
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_infer.py
	$(PY) benchmarks/bench_metasr.py
	$(PY) benchmarks/bf16_vs_fp32.py
	$(PY) benchmarks/report.py

bicubic: $(STAMP)
	$(VENV)/bin/reproduce eval bicubic --sets Set5,Set14,B100,Urban100 --scales 2,3,4

clean:
	rm -rf $(VENV) .pytest_cache

# Compare every table under results/ with the same file at a commit (default HEAD): after a
# refactor and `make reproduce`, "0 changed" shows the study's numbers did not move.
REF ?= HEAD
check-outputs: $(STAMP)
	$(PY) -m reproduce.output_check $(REF)

# Plant ten plausible bugs, one at a time in a copy of the committed tree, and check that the tests catch each.
mutations: $(STAMP)
	$(PY) tools/mutations.py
