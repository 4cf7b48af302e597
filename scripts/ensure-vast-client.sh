#!/usr/bin/env bash
# The browser test's VAST parser (@dailymotion/vast-client, pinned in tests/browser/vast/package-lock.json),
# installed from the npm registry into tests/browser/vast/node_modules. Nothing is fetched at test time.
set -euo pipefail
cd "$(dirname "$0")/../tests/browser/vast"
if [ -f node_modules/@dailymotion/vast-client/dist/vast-client.min.js ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: the VAST browser test will skip here (CI installs npm)." >&2
  exit 0
fi
npm ci --no-audit --no-fund --silent
