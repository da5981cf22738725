#!/usr/bin/env bash
# Load test for host routing and project creation (issue: control-plane core).
#
#   benches/load.sh [PROJECTS...]      default: 10 10000
#
# For each project count: starts a release `keyplane serve` on a fresh SQLite
# file, creates that many projects through the API, then measures with wrk
# (2 threads, 64 connections, 15 s each) the control plane's /health/alive and
# one tenant's /health/alive (routing + tenant-context lookup), and the
# latency of 200 more project creations. Results go to stdout as Markdown
# rows for docs/benchmarks.md. Loopback only; every loop is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-10 10000}")
[ $# -eq 0 ] && counts=(10 10000)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p keyplane-server
bin=target/release/keyplane
port=4777
duration=${DURATION:-15s}

for n in "${counts[@]}"; do
  dir=$(mktemp -d)
  export KEYPLANE_DATABASE__URL="sqlite://$dir/keyplane.db"
  export KEYPLANE_SERVE__PORT=$port KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_SERVE__HOST=127.0.0.1 KEYPLANE_LOG__LEVEL=warn
  # Engine capacity, not plan limits: the free plan would answer 429.
  export KEYPLANE_RATE_LIMIT__ENABLED=false
  token=$($bin token create --email bench@example.com 2>/dev/null)
  $bin serve >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/alive" >/dev/null && break; sleep 0.1; done
  # Create n projects, 8 at a time.
  seq 1 "$n" | xargs -P 8 -I{} curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/projects" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"bench {}"}'
  slug=$(curl -sf "http://127.0.0.1:$port/projects" -H "Authorization: Bearer $token" |
    python3 -c 'import json,sys; p=json.load(sys.stdin); print(p[len(p)//2]["slug"], len(p))')
  read -r slug have <<<"$slug"
  cp_out=$(wrk -t2 -c64 -d"$duration" --latency "http://127.0.0.1:$port/health/alive")
  tenant_out=$(wrk -t2 -c64 -d"$duration" --latency -H "Host: $slug.projects.localhost" "http://127.0.0.1:$port/health/alive")
  rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
  p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
  p50() { awk '$1=="50%" {print $2}' <<<"$1"; }
  # 200 sequential creations, timed one by one.
  create_ms=$(for _ in $(seq 1 200); do
      curl -sf -o /dev/null -w '%{time_total}\n' -X POST "http://127.0.0.1:$port/projects" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"timed"}'
    done | sort -n | awk '{a[NR]=$1*1000} END {printf "p50 %.1f ms, p95 %.1f ms, p99 %.1f ms", a[int(NR*0.5)], a[int(NR*0.95)], a[int(NR*0.99)]}')
  echo "| $have | control plane | $(rps "$cp_out") | $(p50 "$cp_out") | $(p99 "$cp_out") |"
  echo "| $have | tenant ($slug) | $(rps "$tenant_out") | $(p50 "$tenant_out") | $(p99 "$tenant_out") |"
  echo "| $have | project creation (200, sequential) | $create_ms | | |"
  kill -TERM $pid; wait $pid || true
  rm -rf "$dir"
done
