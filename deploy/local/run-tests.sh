#!/usr/bin/env bash
# Runs the whole test suite; the session fixtures start (or reuse) the real local stack.
# pytest's exit code 5 ("no tests collected") is a failure here: a green run must have run tests.
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test-artifacts
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
