#!/usr/bin/env bash
# Instructions per request, control plane vs tenant /health/alive, counted by
# valgrind's callgrind: unlike req/s or CPU time on this shared VM (±20%
# run to run), the count is the same on every run, so it settles what tenant
# routing costs in-process.
#
#   benches/routing-instructions.sh [PROJECTS...]     default: 10 10000
#
# For each count: a release server creates the projects (natively), then the
# same database is served under callgrind (1 worker, instrumentation off
# until the measured requests), and REQUESTS keep-alive requests (default
# 2000) go to each target, instrumented one target at a time. NO_BUILD=1
# uses target/release/keyplane as it is; KEEP=1 keeps the
# callgrind files for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ $# -eq 0 ] && counts=(10 10000)
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
requests=${REQUESTS:-2000}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p keyplane-server
bin=target/release/keyplane
port=4785
for n in "${counts[@]}"; do
  dir=$(mktemp -d)
  export KEYPLANE_DATABASE__URL="sqlite://$dir/keyplane.db" KEYPLANE_SERVE__PORT=$port \
    KEYPLANE_SERVE__HOST=127.0.0.1 KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_LOG__LEVEL=warn \
    KEYPLANE_SERVE__WORKERS=1 KEYPLANE_RATE_LIMIT__ENABLED=false
  token=$($bin token create --email bench@example.com 2>/dev/null)
  $bin serve >"$dir/native.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/alive" >/dev/null && break; sleep 0.1; done
  seq 1 "$n" | xargs -P 8 -I{} curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/projects" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"bench {}"}'
  slug=$(curl -sf "http://127.0.0.1:$port/projects" -H "Authorization: Bearer $token" |
    python3 -c 'import json,sys; p=json.load(sys.stdin); print(p[len(p)//2]["slug"])')
  kill -TERM $pid; wait $pid || true

  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/cg.%p" \
    $bin serve >"$dir/valgrind.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health/alive" >/dev/null && break; sleep 0.2; done
  measure() { # label, Host header
    # Warm up (tenant context cached, connections open), then count.
    python3 - "$port" "$2" 200 <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    c.request("GET", "/health/alive", headers={"Host": sys.argv[2]}); r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
    callgrind_control -z "$pid" >/dev/null
    callgrind_control -i on "$pid" >/dev/null
    python3 - "$port" "$2" "$requests" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    c.request("GET", "/health/alive", headers={"Host": sys.argv[2]}); r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
    callgrind_control -i off "$pid" >/dev/null
    callgrind_control -d "$label" "$pid" >/dev/null
    local ir
    ir=$(grep -l "^desc: Trigger: dump $label\$" "$dir"/cg.* | xargs grep -h '^totals:' | awk '{print $2}')
    python3 -c "print(f'| $n | $1 | {$ir / $requests:,.0f} instructions per request |')"
  }
  label=cp; measure "control plane" "127.0.0.1:$port"
  label=tenant; measure "tenant" "$slug.projects.localhost:$port"
  kill -TERM $pid; wait $pid || true
  # KEEP=1 keeps the callgrind files (callgrind_annotate shows where).
  if [ -n "${KEEP:-}" ]; then echo "callgrind files in $dir"; else rm -rf "$dir"; fi
done
