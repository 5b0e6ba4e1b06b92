#!/bin/sh
# npm run test:python: the Python binding's pytest suite (helper/bindings/python/tests). Debian: python3-pytest
# python3-venv. pytest's exit status 5 (no tests collected) fails too: the suite exists, so it means a wrong path
# or filter.
cd "$(dirname "$0")/../.." || exit 1
python3 -m pytest -q -p no:cacheprovider helper/bindings/python/tests "$@"
status=$?
if [ "$status" -eq 5 ]; then echo "test:python: pytest collected no tests" >&2; fi
exit "$status"
