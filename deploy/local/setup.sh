#!/usr/bin/env bash
# Installs everything Vigil needs on a fresh Debian/Ubuntu machine; safe to run again.
#   - Debian packages: tor, chromium, maven, a JDK (Kafka needs >= 17; Elasticsearch 9 needs >= 21),
#     tesseract-ocr with the traineddata of the ad languages (image worker, docs/images.md),
#     DejaVu fonts (the generated test images), strace (the test that no image touches the disk),
#     postgresql (the schedulers' shared database in tests)
#   - a virtualenv with the project and its dev tools
#   - Kafka and Elasticsearch from Maven Central (cached in ~/.m2 and the state directory), and
#     SeaweedFS (the local S3 server) built from its Go module (needs go; cached in the state directory)
#
# The container image (deploy/Dockerfile) runs this same script with --runtime: the Debian
# packages the roles need at run time (tor, chromium, privoxy, tesseract; no maven, no JDK), a plain
# (non-editable) install without dev tools, and no Kafka/Elasticsearch download.
#   --runtime       the image's install, as above
#   --system-only   only the Debian packages (the image installs them in their own layer)
# Without flags (`make setup`) it does exactly what it always did.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
RUNTIME=0
SYSTEM_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --runtime) RUNTIME=1 ;;
    --system-only) SYSTEM_ONLY=1 ;;
    *) echo "usage: $0 [--runtime] [--system-only]" >&2; exit 2 ;;
  esac
done
# OCR for the image worker: one traineddata per language pipelines/images.py maps (TESSERACT_LANGUAGES).
OCR_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-nld tesseract-ocr-fra
  tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-pol tesseract-ocr-ron tesseract-ocr-por
  tesseract-ocr-rus tesseract-ocr-ukr)
if [ "$RUNTIME" -eq 1 ]; then
  APT_PACKAGES=(tor chromium privoxy curl ca-certificates "${OCR_PACKAGES[@]}")
else
  APT_PACKAGES=(tor chromium maven privoxy postgresql curl ca-certificates "${OCR_PACKAGES[@]}" fonts-dejavu-core fonts-dejavu-extra strace)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "$RUNTIME" -eq 0 ] && ! command -v java >/dev/null 2>&1; then missing+=(openjdk-17-jre-headless); fi
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

if [ "$SYSTEM_ONLY" -eq 1 ]; then
  echo "setup: Debian packages done"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ "$RUNTIME" -eq 1 ]; then
  # The image's venv: the project as an ordinary package, run-time dependencies only.
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q .
  echo "setup: runtime install done"
  exit 0
fi
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

# --with s3: SeaweedFS, the local evidence store's S3 server, built once from its Go module
# (minutes on a cold Go cache; cached in the state directory's tools/ afterwards).
"$VENV/bin/vigil" stack fetch --with s3
echo "setup: done"
