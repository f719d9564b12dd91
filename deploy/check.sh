#!/usr/bin/env bash
# Validates everything under deploy/ without a Docker engine or a cluster (`make deploy-check`;
# `make test` runs it through tests/unit/test_deploy.py):
#   1. tools and schemas, pinned in deploy/versions.env (deploy/tools.sh, cached in .vigil/tools)
#   2. the Dockerfile: static rules and hadolint; the image's install step (setup.sh --runtime)
#      run for real into a throw-away venv, and the entrypoint dispatching every role
#   3. Kubernetes: `kustomize build` of the base and each overlay, kubeconform -strict against
#      core, Strimzi, ECK, KEDA and Prometheus-operator schemas, then Vigil's deployment rules
#   4. compose.yaml, prometheus.yml and the Grafana dashboard's metric names
# Every step runs; the script fails if any failed, naming it.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
start=$SECONDS
failed=()

step() { echo; echo "== $*"; }
run() {  # name command...: run, remember failure, keep going
  local name=$1; shift
  if ! "$@"; then failed+=("$name"); echo "FAILED: $name"; fi
}

step "tools (deploy/versions.env)"
if ! tool_env=$(bash deploy/tools.sh); then
  echo "FAILED: deploy/tools.sh could not provide the pinned tools and schemas (see above)"
  exit 1
fi
eval "$tool_env"
# shellcheck source=deploy/versions.env
source deploy/versions.env
sed -n 's/^\([A-Z_]*_VERSION\)=\([^ ]*\).*/  \1=\2/p' deploy/versions.env

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "Dockerfile"
run dockerfile-rules "$PY" deploy/checks/dockerfile.py deploy/Dockerfile .
run hadolint "$HADOLINT" deploy/Dockerfile
run shell-syntax bash -n deploy/local/setup.sh deploy/docker-entrypoint.sh deploy/tools.sh deploy/check.sh

step "image install step: deploy/local/setup.sh --runtime into a scratch venv"
runtime_install() {
  # The venv is rebuilt when pyproject.toml or setup.sh changes; the role commands run each time.
  local key venv
  key=$(cat pyproject.toml deploy/local/setup.sh | sha256sum | cut -c1-16)
  venv=$ROOT/.vigil/tools/runtime-venv/$key
  if [ ! -f "$venv/.complete" ]; then
    rm -rf "$ROOT/.vigil/tools/runtime-venv"
    # The build backend is chatty; show its output only when the install fails.
    if ! VENV=$venv bash deploy/local/setup.sh --runtime >"$work/runtime-install.log" 2>&1; then
      tail -40 "$work/runtime-install.log"; return 1
    fi
    touch "$venv/.complete"
  fi
  # Code changes do not touch the dependencies: reinstall just the project when its sources change.
  local src
  src=$(find vigil crawlers pipelines scheduler -type f \( -name '*.py' -o -name '*.json' -o -name '*.yaml' \) \
        -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  if [ ! -f "$venv/.src-$src" ]; then
    "$venv/bin/pip" install -q --no-deps --force-reinstall . >"$work/runtime-reinstall.log" 2>&1 \
      || { tail -40 "$work/runtime-reinstall.log"; return 1; }
    rm -f "$venv"/.src-*; touch "$venv/.src-$src"
  fi
  local role
  for role in "worker crawl" "worker enrich" "worker alerts" "worker images" "scheduler" "init" "retention apply"; do
    # Through the image's entrypoint, as a container would start it.
    # shellcheck disable=SC2086
    if ! PATH=$venv/bin:$PATH deploy/docker-entrypoint.sh $role --help >/dev/null; then
      echo "entrypoint cannot run: vigil $role"; return 1
    fi
    echo "  vigil $role: ok"
  done
}
run runtime-install runtime_install

step "Kubernetes manifests (kustomize $KUSTOMIZE_VERSION, kubeconform $KUBECONFORM_VERSION)"
# Render a copy in which every secret file is its committed example, so CI never needs (or
# sees) real secrets and an operator's local secrets/*.env never end up in the output.
cp -r deploy/k8s "$work/k8s"
while IFS= read -r example; do cp "$example" "${example%.example}"; done \
  < <(find "$work/k8s" -name '*.example')
targets=(base)
for overlay in deploy/k8s/overlays/*/; do targets+=("overlays/$(basename "$overlay")"); done
rendered=()
for target in "${targets[@]}"; do
  out="$work/$(echo "$target" | tr / -).yaml"
  if "$KUSTOMIZE" build "$work/k8s/$target" >"$out"; then
    echo "  kustomize build $target: $(grep -c '^kind:' "$out") resources"
    rendered+=("$out")
  else
    failed+=("kustomize-$target"); echo "FAILED: kustomize build $target"
  fi
done
# Only our local schemas: no download from anywhere (-schema-location replaces the default).
run kubeconform "$KUBECONFORM" -strict -summary -output text \
  -schema-location "$K8S_SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" "${rendered[@]}"
overlays=()
for f in "${rendered[@]}"; do [[ $f == */base.yaml ]] || overlays+=("$f"); done
run deployment-rules "$PY" deploy/checks/manifests.py "${overlays[@]}"

step "VIGIL_* settings the deployments set (vigil/core/config.py)"
run settings-env "$PY" deploy/checks/settings_env.py deploy/k8s/base/config.env \
  deploy/k8s/base/config.env,deploy/k8s/overlays/external/config.env \
  deploy/k8s/base/config.env,deploy/k8s/overlays/operators/config.env

step "alert rules shipped with the deployments (vigil alerts rules, with the example secrets)"
alert_rules() {
  # The ${VARS} in the URLs come from the Secrets / deploy/.env: take them from the examples.
  (
    set -a
    for f in deploy/k8s/base/secrets/*.env.example deploy/compose.env.example; do source "$f"; done
    set +a
    for rules in deploy/k8s/base/alerts/alerts.yaml deploy/compose/alerts.yaml; do
      "$ROOT/.venv/bin/vigil" alerts rules --rules "$rules" >/dev/null || { echo "invalid: $rules"; exit 1; }
      echo "  $rules: valid"
    done
  )
}
run alert-rules alert_rules

step "compose, Prometheus, Grafana"
run compose "$PY" deploy/checks/compose.py deploy/compose.yaml
run prometheus "$PY" deploy/checks/prometheus.py deploy/prometheus/prometheus.yml deploy/compose.yaml
run dashboard "$PY" deploy/checks/dashboard.py deploy/grafana/vigil-dashboard.json

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "deploy-check: FAILED (${failed[*]}) in $((SECONDS - start)) s"
  exit 1
fi
echo "deploy-check: all passed in $((SECONDS - start)) s"
