# Two commands matter: `make book` and `make test` (see README). Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.hwlib-installed
NBDIR  := $(or $(TMPDIR),/tmp)/hwlib-nbmake

.PHONY: install book pdf test lab chapters reproduce bench clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP)

## Build the HTML book into _build/html (executes each changed chapter; fails on any cell error or warning).
# Chapters read results/, call hwlib and depend on HWLIB_DATA/HWLIB_PROFILE, which Sphinx does not
# see: drop its saved pages whenever any of them (or book/_ext) changed, so a rebuild never shows stale outputs.
book: $(STAMP)
	@h=$$( (echo "data=$$HWLIB_DATA profile=$$HWLIB_PROFILE"; \
	  find hwlib results book/_ext -type f \( -name '*.py' -o -name '*.json' \) | sort | xargs cat) | sha256sum); \
	if [ "$$h" != "$$(cat _build/.inputs-hash 2>/dev/null)" ]; then \
	  rm -rf _build/.doctrees; mkdir -p _build; echo "$$h" > _build/.inputs-hash; fi
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "open _build/html/index.html"

## The whole book as one PDF: a single-page build (the chapters executed again), printed by
# headless Chromium with math typeset and figures drawn → _build/pdf/book.pdf.
pdf: book
	$(BIN)/python book/_ext/book_pdf.py --path-output . --pdf _build/pdf/book.pdf

## Every test: unit + property tests, nbmake on every chapter (quick profile), book build, browser checks.
test: $(STAMP)
	rm -rf $(NBDIR) && mkdir -p $(NBDIR)
	for f in book/*.md; do if grep -q '^jupytext:' $$f; then \
	  $(BIN)/jupytext --quiet --to ipynb -o $(NBDIR)/$$(basename $${f%.md}).ipynb $$f || exit 1; fi; done
	OMP_NUM_THREADS=1 HWLIB_PROFILE=quick $(BIN)/python -m pytest tests $(NBDIR) --nbmake --nbmake-timeout=600 -p no:cacheprovider

## Open the chapters as notebooks in JupyterLab (jupytext's viewer; book/jupytext.toml keeps Lab's
# state out of the .md files, which Lab saves back byte-identical once in canonical form).
lab: $(STAMP)
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' \
	  > $(VENV)/share/jupyter/lab/settings/overrides.json
	@$(BIN)/python tools/normalize_chapters.py --check >/dev/null 2>&1 || \
	  echo "warning: some chapters are not in canonical form, so saving them in Lab rewrites their layout (run: make chapters)"
	$(BIN)/jupyter lab --notebook-dir=book

## Put the chapters (book/*.md with a jupytext header) in the exact form jupytext and JupyterLab write
# back (idempotent; the layout changes, never a cell). `tools/normalize_chapters.py --check` only lists.
chapters: $(STAMP)
	$(BIN)/python tools/normalize_chapters.py

## Re-run every experiment in the full profile and record results under results/.
reproduce: $(STAMP)
	$(BIN)/python -m hwlib run all --profile full

## Speed benchmarks (print ratios against a baseline measured in the same run).
bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf _build $(NBDIR)
