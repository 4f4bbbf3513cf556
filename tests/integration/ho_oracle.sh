#!/usr/bin/env bash
# Independent oracle for the HI2/HI3 encoder: a Python venv under the build directory with
# asn1tools from PyPI decodes PDUs written by limf's encoder against ETSI's LI-PS-PDU
# module and the modules it needs, committed in tests/asn1 (README.md there).
#   ho_oracle.sh DUMP_PROGRAM
# Exit 77 (skipped, the reason on the "SKIP:" line, which tests/run.sh repeats in its
# summary) when python3 -m venv or PyPI is not available.
set -uo pipefail
dump=$1
src=${LIMF_SOURCE_DIR:?}
build=${LIMF_BUILD_DIR:?}
asn=$src/tests/asn1
venv=$build/ho-oracle-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import asn1tools' 2>/dev/null; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    echo "SKIP: python3 -m venv is not available"
    exit 77
  fi
  if ! timeout 120 "$venv/bin/pip" install -q --disable-pip-version-check asn1tools; then
    echo "SKIP: cannot install asn1tools from PyPI (no network?)"
    exit 77
  fi
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$dump" "$out" || exit 1
"$venv/bin/python" "$src/tests/integration/ho_oracle.py" "$out" "$asn"
