# Sourced by the end-to-end tests (after deploy/stack.sh): the reference LEMFs' Prometheus
# /metrics (limf-lemf, lemf.metrics.listen; docs/OBSERVABILITY.md). The stack starts
# each LEMF with its listener, the port named "metrics" in its ready file
# RUN/state/<LEMF>.ready.

# e2e_lemf_metric RUN LEMF SERIES: one sample's value ("" when absent).
e2e_lemf_metric() {
  curl -s "http://127.0.0.1:$(li_ready_port "$1/state/$2.ready" metrics)/metrics" |
    awk -v s="$3" '$1 == s { print $2 }'
}

# e2e_lemf_metrics_agree RUN LEMF: the LEMF's /metrics count what it wrote: IRI, CC, HI1,
# gaps and duplicates against its JSON lines, octets against its raw stream, keep-alives,
# missing numbers, conflicts and decode errors against an offline decoding of that
# stream (limf-lemf decode). Keep-alives keep arriving, so the scrape and the files are
# compared until one moment sees them agree (20 tries).
e2e_lemf_metrics_agree() {
  local run=$1 l=$2 got want
  for _ in $(seq 1 20); do
    got=$(curl -s "http://127.0.0.1:$(li_ready_port "$run/state/$l.ready" metrics)/metrics" | awk '
      $1 == "limf_lemf_pdus_total{type=\"iri\"}" { iri = $2 }
      $1 == "limf_lemf_pdus_total{type=\"cc\"}" { cc = $2 }
      $1 == "limf_lemf_pdus_total{type=\"hi1\"}" { hi1 = $2 }
      $1 == "limf_lemf_gaps_total" { gaps = $2 }
      $1 == "limf_lemf_duplicates_total" { dups = $2 }
      $1 == "limf_lemf_received_bytes_total" { bytes = $2 }
      $1 == "limf_lemf_pdus_total{type=\"keepalive\"}" { ka = $2 }
      $1 == "limf_lemf_missing" { missing = $2 }
      $1 == "limf_lemf_conflicts_total" { conflicts = $2 }
      $1 == "limf_lemf_decode_errors_total" { errors = $2 }
      END { print iri, cc, hi1, gaps, dups, bytes, ka, missing, conflicts, errors }')
    want="$(jq -R -s -r '[split("\n")[] | fromjson? ] |
                [map(select(.hi == 2 and .hi1 == null)), map(select(.hi == 3)),
                 map(select(.hi1 != null)),
                 map(select(.check == "gap")), map(select(.check == "duplicate"))] |
                map(length) | join(" ")' "$run/state/$l.jsonl") \
$(stat -c %s "$run/state/$l.raw") \
$("$(stack_bin limf-lemf)" decode "$run/state/$l.raw" 2>&1 >/dev/null | tail -n 1 |
    jq -r '"\(.keepalives) \(.missing) \(.conflicts) \(.errors)"')"
    [ "$got" = "$want" ] && return 0
    sleep 0.5
  done
  echo "  $l /metrics (iri cc hi1 gaps duplicates bytes keepalives missing conflicts errors):"
  echo "    scraped: $got"
  echo "    files:   $want"
  return 1
}
