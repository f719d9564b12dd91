#!/usr/bin/env bash
# Runs the whole test suite against the real local stack (Kafka + Elasticsearch).
# If the stack is not already healthy it is started here and stopped again when the run ends
# (a stack that was already running -- yours, or another session's -- is left alone).
# pytest's exit code 5 ("no tests collected") is a failure here: a green run must have run tests.
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test-artifacts
VIGIL=.venv/bin/vigil

started_stack=0
if ! "$VIGIL" stack status --json >/dev/null 2>&1; then
  echo "run-tests: starting the local stack"
  if ! "$VIGIL" stack up; then
    echo "error: the local stack did not start (see 'vigil stack logs kafka|elasticsearch')" >&2
    "$VIGIL" stack down >/dev/null 2>&1 || true
    exit 1
  fi
  started_stack=1
fi
stop_stack() {
  if [ "$started_stack" -eq 1 ]; then
    echo "run-tests: stopping the local stack started for this run"
    "$VIGIL" stack down || true
  fi
}
trap stop_stack EXIT

.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
