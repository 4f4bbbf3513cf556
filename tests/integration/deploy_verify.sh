#!/usr/bin/env bash
# Validates the deployment files as far as this machine allows: every systemd unit with
# systemd-analyze verify (its ExecStart pointed at the program just built), the
# Kubernetes manifests and the compose file as YAML with the expected objects, and that
# every daemon named there is built.
set -euo pipefail
src=${LIMF_SOURCE_DIR:?} build=${LIMF_BUILD_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
for unit in "$src"/deploy/systemd/*.service; do
  name=$(basename "$unit" .service)
  bin=$build/bin/$name
  if [ ! -x "$bin" ]; then
    echo "FAIL - $name: no such program built"
    failures=$((failures + 1))
    continue
  fi
  sed "s|/usr/local/bin/$name|$bin|" "$unit" >"$tmp/$name.service"
  if command -v systemd-analyze >/dev/null 2>&1; then
    if out=$(systemd-analyze verify "$tmp/$name.service" 2>&1) && [ -z "$out" ]; then
      echo "ok   - $name.service verifies"
    else
      echo "FAIL - $name: $out"
      failures=$((failures + 1))
    fi
  fi
done
if command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$src" <<'PY' || failures=$((failures + 1))
import sys, yaml
src = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(f"{src}/deploy/kubernetes/limf.yaml")) if d]
kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
for want in [("Deployment", "limf-ingest"), ("StatefulSet", "limf-mediator"),
             ("Deployment", "limf-handover"), ("Service", "limf-ingest")]:
    assert want in kinds, f"kubernetes: {want} missing"
compose = yaml.safe_load(open(f"{src}/deploy/container/compose.yaml"))
for svc in ["admf", "ingest", "mediator", "handover", "kafka1"]:
    assert svc in compose["services"], f"compose: {svc} missing"
print("ok   - kubernetes manifests and compose file parse with the expected objects")
PY
else
  echo "skip - PyYAML not available for the manifest check"
fi
echo "$failures failure(s)"
[ $failures = 0 ]
