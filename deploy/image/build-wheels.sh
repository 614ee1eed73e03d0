#!/bin/sh
# build-wheels.sh SRC OUT: the hub's wheel built from the source tree SRC, and a wheel of
# every dependency beside it in OUT, so the next step installs with no index at all.
# Run by the Dockerfile's build stage and, with the same arguments, by tests/test_package.py.
# PIP_* variables (PIP_NO_INDEX, PIP_FIND_LINKS, PIP_CONSTRAINT) steer where pip looks.
set -eu
src=$1
out=$2
python=${PYTHON:-python3}
"$python" -m pip wheel --disable-pip-version-check --no-cache-dir --no-deps --wheel-dir "$out" "$src"
# Given as a file, the hub's wheel needs no --find-links (which would replace PIP_FIND_LINKS).
"$python" -m pip wheel --disable-pip-version-check --no-cache-dir --wheel-dir "$out" "$out"/whistle_hub-*.whl
