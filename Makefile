# One by One: every command a reader, a student or an instructor needs.
# The environment (.venv) is created on first use from the pins in pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help env book translations serve exercises lab test bench grade lint clean

help:  ## list the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,grade,dev]' --group course
	touch $(STAMP)

# The checks' Chinese messages and the grader's (its feedback pages), compiled next to their
# catalogues (gitignored, like every .mo): a Chinese notebook run in this checkout (lab, tests,
# grading) and the feedback page of a Chinese submission read them.
CHECKS_PO := onebyone/checks/locale/zh_CN/LC_MESSAGES/onebyone-checks.po \
	onebyone/tools/grading/locale/zh_CN/LC_MESSAGES/onebyone-grader.po
CHECKS_MO := $(CHECKS_PO:.po=.mo)
$(CHECKS_MO): %.mo: %.po $(STAMP)
	$(BIN)/python -c "from onebyone.tools import check_messages; check_messages.compile_catalogues()"

env: $(STAMP) $(CHECKS_MO)  ## create .venv with the pinned dependencies

book: $(STAMP) $(CHECKS_MO)  ## build the website into _build/html, and its Chinese edition into _build/html/zh (strict)
	$(BIN)/onebyone book

translations: $(STAMP)  ## update the Chinese catalogues (locale/zh_CN) after an English edit; lists what is left
	$(BIN)/onebyone translations

serve: $(STAMP)  ## serve the built site on http://$(HOST):$(PORT)
	@test -f _build/html/index.html || { echo "No site yet: run 'make book' first."; exit 1; }
	@echo "Serving the course on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind $(HOST) --directory _build/html

exercises: $(STAMP) $(CHECKS_MO)  ## regenerate exercises/ from solutions/ with nbgrader
	$(BIN)/onebyone exercises

lab: $(STAMP) $(CHECKS_MO)  ## open JupyterLab on exercises/ in the course's environment
	$(BIN)/jupyter lab --notebook-dir=exercises $(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP) $(CHECKS_MO)  ## run every test (includes the strict book build)
	$(BIN)/python -m pytest

bench: $(STAMP)  ## measure speed (medians of several runs, printed as tables)
	$(BIN)/onebyone bench

grade: $(STAMP) $(CHECKS_MO)  ## grade a class: make grade SUBMISSIONS=<folder or .zip> OUT=<folder> [ASSIGNMENT=id] [ROSTER=roster.csv] [JOBS=N | SCHEDULER=tcp://host:8786] (bin/grade SUBMISSIONS --out OUT ...: the same, exiting with the grader's own code)
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "usage: make grade SUBMISSIONS=<folder or .zip> OUT=<folder> [ASSIGNMENT=id] [ROSTER=roster.csv] [JOBS=N | SCHEDULER=tcp://host:8786]"; exit 2; }
	@# make exits 2 whatever its recipe returned: the grader's own code is said in a line, with
	@# its meaning (cli.GRADE_EXIT_CODES); bin/grade passes the code itself through
	@bin/grade "$(SUBMISSIONS)" --out "$(OUT)" $(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)") $(if $(ROSTER),--roster "$(ROSTER)") $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)); \
	code=$$?; \
	if [ $$code != 0 ]; then echo "make grade: onebyone grade exited $$code: $$($(BIN)/python -c "from onebyone.tools.cli import GRADE_EXIT_CODES; print(GRADE_EXIT_CODES.get($$code, 'not one of its codes'))"). make fails with its own code 2; bin/grade passes the grader's code through." >&2; fi; \
	exit $$code

lint: $(STAMP)  ## check the code style
	$(BIN)/ruff check onebyone tests

clean:  ## remove the built site and caches (keeps .venv, and the gradebook: it holds the term's grades)
	rm -rf _build .pytest_cache .nbgrader.log
