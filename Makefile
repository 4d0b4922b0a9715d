# etlc: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test fuzz mutation validate compile bench clean stack-up stack-down stack-status

$(BIN)/etlc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(BIN)/etlc

## validate and compile the example specs, then run the demo pipeline end to end on local folders
demo: install
	$(BIN)/etlc validate specs/
	$(BIN)/etlc compile specs/
	$(BIN)/etlc run specs/demo_sales.yaml
	@echo "demo outputs: data/out/ (sales_by_region/ Parquet partitions, top_products.csv); DAG files: generated_dags/"

## the whole test suite (what .ci/run calls): hypothesis derandomized, repository left unchanged
test: install
	$(BIN)/python -m pytest --check-repo-clean

## hypothesis with random seeds and more examples (ETLC_FUZZ_EXAMPLES), at most FUZZ_SECONDS;
## a failure found becomes an @example in its test (docs/testing.md)
FUZZ_SECONDS ?= 900
FUZZ_TESTS ?= tests/expr/test_hypothesis.py tests/compiler/test_fuzz.py tests/codegen/test_codegen_strings.py \
	tests/compiler/test_string_positions_exact.py tests/expr/test_zone_text.py
fuzz: install
	timeout --signal=INT $(FUZZ_SECONDS) $(BIN)/python -m pytest -p no:cacheprovider \
		--hypothesis-profile=fuzz --hypothesis-show-statistics $(FUZZ_TESTS)

## mutmut on the modules that carry the guarantees, each against its own tests, in a scratch
## copy (scripts/mutation.py), at most MUTATION_SECONDS per module; docs/testing.md has the scores
MUTATION_MODULES ?= checks commit
MUTATION_SECONDS ?= 1200
mutation: install
	$(BIN)/python scripts/mutation.py $(MUTATION_MODULES) --budget $(MUTATION_SECONDS)

validate: install
	$(BIN)/etlc validate specs/

compile: install
	$(BIN)/etlc compile specs/

## every benchmark (parse: several minutes; throughput: about half an hour, data under /tmp/etlc-bench)
bench: install
	$(BIN)/python benchmarks/validate_bench.py
	$(BIN)/python benchmarks/compile_bench.py --cpu 0
	$(BIN)/python benchmarks/expr_bench.py --rows 2000000
	$(BIN)/python benchmarks/parse_bench.py --n 1 100 500 --bytecode cold
	$(BIN)/python benchmarks/throughput_bench.py --rows 1000 2000000 12000000 --repeat 3

clean:
	rm -rf .etlc data/out .pytest_cache

## the Docker-free service stack (docs/stack.md)
stack-up: install
	scripts/stack.sh up
stack-down:
	scripts/stack.sh down
stack-status:
	scripts/stack.sh status
