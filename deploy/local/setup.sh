#!/usr/bin/env bash
# Installs everything Vigil needs on a fresh Debian/Ubuntu machine; safe to run again.
#   - Debian packages: tor, chromium, maven, a JDK (Kafka needs >= 17; Elasticsearch 9 needs >= 21)
#   - a virtualenv with the project and its dev tools
#   - Kafka and Elasticsearch from Maven Central (cached in ~/.m2 and the state directory)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
APT_PACKAGES=(tor chromium maven privoxy curl ca-certificates)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! command -v java >/dev/null 2>&1; then missing+=(openjdk-17-jre-headless); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's packages start daemons on install on some systems; Vigil runs its own.
for svc in tor privoxy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

"$VENV/bin/vigil" stack fetch
echo "setup: done"
