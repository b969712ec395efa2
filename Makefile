# Two commands on a fresh machine (see README.md):
#   make paper   set up .venv and regenerate every figure and table (profile: cpu, ~30 min on 2 cores)
#   make test    set up .venv and run the unit tests and the notebooks (smoke profile)
# Other targets: setup, unit (the unit tests), notebooks (the notebooks under nbval), demo (the student
# demos in Voilà), scrub (strip notebook outputs), bench, clean.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PROFILE ?= cpu
# torch first, pinned: on a machine without a GPU this resolves to the CPU build instead of
# several GB of CUDA wheels; on a GPU machine pip picks the CUDA build of the same version.
TORCH  ?= torch==2.13.0
export MPLBACKEND := agg

.PHONY: setup paper test unit notebooks demo scrub bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# real H-alpha (BBSO, 16 full-disc images + 101 filament outlines) and real AIA/DKIST
	# test images, for realism checks and transfer learning; --no-deps: only their data is used
	$(BIN)/python -m pip install --quiet --no-deps filament-augmentation-engine sunkit-image
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

paper: setup
	$(BIN)/slic paper --profile $(PROFILE) --with-transfer

test: setup unit notebooks

unit: setup
	$(BIN)/python -m pytest -n 2 tests

notebooks: setup
	SLIC_PROFILE=smoke $(BIN)/python -m pytest --nbval-lax notebooks/

# Student demos: Voilà serves notebooks/demo_*.ipynb as web apps (code hidden) until Ctrl-C.
DEMO_PORT ?= 8866
DEMO_IP   ?= 127.0.0.1
demo: setup
	@echo "Student demos, open one in a browser (Ctrl-C stops the server):"
	@for nb in notebooks/demo_*.ipynb; do echo "  http://$(DEMO_IP):$(DEMO_PORT)/voila/render/$$(basename $$nb)"; done
	@echo "The full notebooks, code included: $(BIN)/jupyter lab notebooks/"
	$(BIN)/python -m voila notebooks --no-browser --port=$(DEMO_PORT) --Voila.ip=$(DEMO_IP)

scrub:
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

# speed tables (issue 13): ratios measured in one run with the machine's matrix-product peak;
# results and how to read them: benchmarks/README.md. bench_gpu.py runs where a GPU is present.
bench: setup
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_inference.py --compile
	$(BIN)/python benchmarks/bench_classify.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_paper_bound.py
	$(BIN)/python benchmarks/bench_sweep.py
	@if $(BIN)/python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
		$(BIN)/python benchmarks/bench_gpu.py; else echo "no GPU: benchmarks/bench_gpu.py skipped"; fi

clean:
	rm -rf $(VENV) data/smoke data/cpu data/models/smoke data/models/cpu data/models/demo figures/smoke figures/cpu notebooks/executed
