#!/usr/bin/env bash
# Make sure uv is installed: on a fresh machine install it from PyPI with pip, then let
# pyenv (when it manages Python here) see the new executable. A no-op when uv answers.
# Called by `make install` (so by `make run` and `make test`) and by .ci/run.
set -euo pipefail

if uv --version > /dev/null 2>&1; then
    uv --version
    exit 0
fi
echo "uv not found; installing it from PyPI with pip"
python3 -m pip install --quiet --disable-pip-version-check 'uv>=0.9'
if command -v pyenv > /dev/null 2>&1; then
    pyenv rehash
fi
uv --version
