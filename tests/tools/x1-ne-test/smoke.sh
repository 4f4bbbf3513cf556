#!/usr/bin/env bash
# limf-x1-test-ne smoke test with an independent client: `openssl s_client` (mutual TLS
# with the admf certificate) posts a hand-written PingRequest and a GetNEStatusRequest;
# the answers must be X1 responses echoing the transaction IDs; a document that is no
# X1Request gets an X1TopLevelErrorResponse; an NE trusting any certificate of its CA
# does not start; SIGTERM stops the NE.
#   smoke.sh <limf-x1-test-ne binary> <source dir>
set -euo pipefail
bin=$1 src=$2
dir=$(mktemp -d /tmp/limf-x1-smoke-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
. "$src/deploy/lib.sh"
"$src/deploy/pki.sh" "$dir" >/dev/null
# Without x1.allowed_clients (and with a CA) any certificate of the CA could task it.
if "$bin" -o x1.tls.cert="$dir/siptap.pem" -o x1.tls.key="$dir/siptap.key" \
     -o x1.tls.ca="$dir/ca.pem" -o x1.ne_id=smoke-ne >"$dir/out0" 2>"$dir/err0"; then
  echo "NE started without the ADMF pinned"; exit 1
fi
grep -q 'allowed_clients' "$dir/err0" || { echo "no reason given:"; cat "$dir/err0"; exit 1; }
"$bin" -o x1.tls.cert="$dir/siptap.pem" -o x1.tls.key="$dir/siptap.key" \
       -o x1.tls.ca="$dir/ca.pem" -o x1.allowed_clients=admf -o x1.ne_id=smoke-ne \
       -o daemon.ready_file="$dir/ready" >"$dir/out" 2>"$dir/err" &
pid=$!
li_wait_file "$dir/ready" 5
port=$(li_ready_port "$dir/ready" x1)

ns=http://uri.etsi.org/03221/X1/2017/10
msg() { # type transaction-id
  printf '<x1:x1RequestMessage xsi:type="x1:%sRequest"><x1:admfIdentifier>smoke</x1:admfIdentifier><x1:neIdentifier>smoke-ne</x1:neIdentifier><x1:messageTimestamp>2026-11-27T12:00:00.123Z</x1:messageTimestamp><x1:version>v1.6.1</x1:version><x1:x1TransactionId>%s</x1:x1TransactionId></x1:x1RequestMessage>' "$1" "$2"
}
body="<?xml version=\"1.0\"?><x1:X1Request xmlns:x1=\"$ns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">$(msg Ping 11111111-2222-4333-8444-555555555555)$(msg GetNEStatus 66666666-7777-4888-9999-aaaaaaaaaaaa)</x1:X1Request>"
printf 'POST /X1/NE HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
  "${#body}" "$body" >"$dir/request"
openssl s_client -quiet -connect "127.0.0.1:$port" -cert "$dir/admf.pem" -key "$dir/admf.key" \
  -CAfile "$dir/ca.pem" -verify_return_error -verify_ip 127.0.0.1 <"$dir/request" \
  >"$dir/answer" 2>"$dir/s_client.err" || true
grep -q '^HTTP/1.1 200' "$dir/answer" || { echo "no 200:"; cat "$dir/answer" "$dir/s_client.err"; exit 1; }
grep -q 'xsi:type="x1:PingResponse"' "$dir/answer"
grep -q '11111111-2222-4333-8444-555555555555' "$dir/answer"
grep -q '<oK>AcknowledgedAndCompleted</oK>' "$dir/answer"
grep -q 'xsi:type="x1:GetNEStatusResponse"' "$dir/answer"
grep -q '<neStatus>OK</neStatus>' "$dir/answer"
grep -q '<neIdentifier>smoke-ne</neIdentifier>' "$dir/answer"

# Not an X1Request: the schema's top-level error element, in HTTP 200.
printf 'POST /X1/NE HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello' \
  >"$dir/request3"
openssl s_client -quiet -connect "127.0.0.1:$port" -cert "$dir/admf.pem" -key "$dir/admf.key" \
  -CAfile "$dir/ca.pem" <"$dir/request3" >"$dir/answer3" 2>/dev/null || true
grep -q '^HTTP/1.1 200' "$dir/answer3" || { echo "expected 200:"; cat "$dir/answer3"; exit 1; }
grep -q '<X1TopLevelErrorResponse ' "$dir/answer3"
grep -q '<neIdentifier>smoke-ne</neIdentifier>' "$dir/answer3"
if grep -q 'x1TransactionId' "$dir/answer3"; then echo "x1TransactionId in a top-level error"; exit 1; fi

# A trusted certificate that is not the ADMF's is refused with 403.
openssl s_client -quiet -connect "127.0.0.1:$port" -cert "$dir/poi-test.pem" \
  -key "$dir/poi-test.key" -CAfile "$dir/ca.pem" <"$dir/request" >"$dir/answer2" 2>/dev/null || true
grep -q '^HTTP/1.1 403' "$dir/answer2" || { echo "expected 403:"; cat "$dir/answer2"; exit 1; }

kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "NE did not stop on SIGTERM"; exit 1; fi
wait "$pid" && rc=0 || rc=$?
pid=
[ "$rc" -eq 0 ] || { echo "NE exit status $rc"; cat "$dir/err"; exit 1; }
grep -q "^listening $port" "$dir/out"
echo "x1 test NE smoke: ok"
