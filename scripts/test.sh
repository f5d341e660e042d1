#!/usr/bin/env bash
# Install everything the tests need and run them: lint, types, and the whole test suite.
# Usage: bash scripts/test.sh [pytest args]   (e.g. -m "not slow" to skip the real-data checks)
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: a PostgreSQL server for the store tests (the tests start their own cluster).
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is not installed: its tests will be skipped (sudo apt-get install postgresql)" >&2
  fi
fi

# System packages: Debian's Chromium for the web UI's browser tests (Playwright drives it; its own
# browser download is not used).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null
  else
    echo "Chromium is not installed: the browser tests will be skipped" \
      "(sudo apt-get install --no-install-recommends chromium chromium-driver)" >&2
  fi
fi

# The pip that python3 -m venv ships, as in the Quick start: constraints.txt pins every version,
# so there is nothing for its resolver to search (an upgraded pip would hide a stall there).
python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e '.[test]'
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy src
.venv/bin/pytest "$@"
