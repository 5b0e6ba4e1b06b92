#!/bin/sh
# npm run test:python: the Python binding's static type check (mypy --strict over the package) and its pytest suite
# (helper/bindings/python/tests). Debian: python3-pytest python3-venv. mypy comes from PyPI into a git-ignored
# virtualenv (.mypy-venv/, once, about 15 s; SIPC_MYPY_VENV overrides), so the check runs the same everywhere.
# pytest's exit status 5 (no tests collected) fails too: the suite exists, so it means a wrong path or filter.
cd "$(dirname "$0")/../.." || exit 1
mypy_venv="${SIPC_MYPY_VENV:-$PWD/.mypy-venv}"
if ! "$mypy_venv/bin/python" -c 'import mypy' 2>/dev/null; then
  python3 -m venv "$mypy_venv" && "$mypy_venv/bin/pip" install --quiet 'mypy==2.4.1' || exit 1
fi
"$mypy_venv/bin/python" -m mypy --strict --no-incremental helper/bindings/python/sipc || exit 1
python3 -m pytest -q -p no:cacheprovider helper/bindings/python/tests "$@"
status=$?
if [ "$status" -eq 5 ]; then echo "test:python: pytest collected no tests" >&2; fi
exit "$status"
