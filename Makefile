# Everything runs inside a local virtual environment (.venv).
# make test        - install and run the test suite (what CI runs)
# make reproduce   - install and regenerate the report (arrives with the notebook pipeline)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test reproduce bicubic clean

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
	@echo "The notebook pipeline (make reproduce) is not built yet; see README.md for what works now."
	@exit 1

bicubic: $(STAMP)
	$(VENV)/bin/reproduce eval bicubic --sets Set5,Set14,B100,Urban100 --scales 2,3,4

clean:
	rm -rf $(VENV) .pytest_cache
