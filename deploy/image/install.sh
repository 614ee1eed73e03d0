#!/bin/sh
# install.sh WHEELS VENV: a virtualenv at VENV holding the hub and its dependencies from the
# wheels in WHEELS and nothing else (no index, no source tree).
# Run by the Dockerfile's final stage and, with the same arguments, by tests/test_package.py.
set -eu
wheels=$1
venv=$2
python=${PYTHON:-python3}
"$python" -m venv "$venv"
"$venv/bin/pip" install --disable-pip-version-check --no-cache-dir --no-index \
  --find-links "$wheels" whistle-hub
