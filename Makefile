# salesxl — two commands on a fresh machine:  make demo   and   make test
# Both create (once) and reuse the virtual environment in .venv/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test templates pictures addin dist bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: setup                ## the main job on built-in sample data, into demo_out/
	$(VENV)/bin/salesxl demo -o demo_out

test: setup                ## the whole test suite (LibreOffice tests skip if soffice is missing)
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

templates: setup           ## regenerate the checked-in templates
	$(VENV)/bin/salesxl template --lang en -o workbook_template/salesxl_template_en.xlsx
	$(VENV)/bin/salesxl template --lang fr -o workbook_template/salesxl_template_fr.xlsx

pictures: setup            ## regenerate the README pictures (needs LibreOffice and pdftoppm)
	$(PY) scripts/render_pictures.py

# The python Excel runs: ADDIN_FLAGS='--interpreter-win C:\salesxl\venv\Scripts\pythonw.exe' (docs/addin.md);
# by default the add-in is built without one (--no-interpreter: the first python on the PATH).
ADDIN_FLAGS ?= --no-interpreter

addin: setup               ## build dist/salesxl.xlam
	$(VENV)/bin/salesxl addin build -o dist $(ADDIN_FLAGS)

dist: setup                ## the wheel (dist/salesxl-*.whl) and the add-in (dist/salesxl.xlam) a manager installs
	rm -rf dist/salesxl-*.whl build
	$(PY) -m pip wheel -q --no-deps -w dist .
	rm -rf build
	$(VENV)/bin/salesxl addin build -o dist $(ADDIN_FLAGS)
	@ls -l dist

bench: setup               ## performance benchmarks (ratios against baselines)
	$(PY) benchmarks/consolidate.py --workbooks 200
	$(PY) benchmarks/review.py
	$(PY) benchmarks/action.py

clean:
	rm -rf $(VENV) demo_out dist .pytest_cache
