#!/usr/bin/env bash
# Entry point of the Vigil image. Accepts
#   vigil ARGS...          any vigil command (`vigil worker crawl`, `vigil scheduler`, ...)
#   worker|scheduler|...   the same without the leading "vigil" (any first word but those below)
#   tor ARGS...            the tor daemon (compose's tor service, the crawl pods' sidecar)
#   bash|sh|python ARGS    a shell or interpreter, for debugging
#   healthcheck            the image's HEALTHCHECK: tor's SOCKS port for tor, else /metrics
# and runs it with exec, so the role is PID 1 (or tini's child) and receives SIGTERM itself.
set -euo pipefail

healthcheck() {
  # Which role is this container? PID 1's command line says, also under `init: true`
  # (then it is "docker-init -- docker-entrypoint.sh tor -f ...").
  local cmdline
  cmdline=$(tr '\0' ' ' </proc/1/cmdline 2>/dev/null || true)
  if [[ " $cmdline" =~ [\ /]tor\  ]]; then
    exec 3<>"/dev/tcp/127.0.0.1/${VIGIL_TOR_SOCKS_PORT:-9050}"
    return 0
  fi
  local port=${VIGIL_METRICS_PORT:-0}
  if [ "$port" = 0 ]; then
    vigil --help >/dev/null  # no metrics endpoint configured: at least the program starts
    return 0
  fi
  curl -fsS -o /dev/null --max-time 4 "http://127.0.0.1:${port}/metrics"
}

case "${1:-}" in
  healthcheck) healthcheck ;;
  "") exec vigil --help ;;
  vigil|tor|bash|sh|python|python3) exec "$@" ;;
  # Anything else is a vigil subcommand written alone (`worker crawl`, `scheduler`, `init`).
  *) exec vigil "$@" ;;
esac
