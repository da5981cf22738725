#!/usr/bin/env bash
# Server CPU per request: control plane vs tenant /health/alive.
#
#   benches/routing-cost.sh [PROJECTS]     default 10
#
# Pins the server (1 worker) to core 0 and wrk to core 1, runs each target
# three times alternately, and reads the server's task-clock and instruction
# count with `perf stat` over each run. CPU per request is what bounds a
# saturated server's throughput, so the tenant/control-plane ratio of it is
# the cost of tenant routing, free of the client's noise. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }
cargo build --release -q -p keyplane-server
bin=target/release/keyplane
port=4780
dir=$(mktemp -d)
export KEYPLANE_DATABASE__URL="sqlite://$dir/keyplane.db" KEYPLANE_SERVE__PORT=$port \
  KEYPLANE_SERVE__HOST=127.0.0.1 KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_LOG__LEVEL=warn KEYPLANE_SERVE__WORKERS=1
export KEYPLANE_RATE_LIMIT__ENABLED=false  # routing cost, not plan limits
token=$($bin token create --email bench@example.com 2>/dev/null)
taskset -c 0 $bin serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/alive" >/dev/null && break; sleep 0.1; done
seq 1 "$n" | xargs -P 8 -I{} curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/projects" \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"bench {}"}'
slug=$(curl -sf "http://127.0.0.1:$port/projects" -H "Authorization: Bearer $token" |
  python3 -c 'import json,sys; p=json.load(sys.stdin); print(p[len(p)//2]["slug"])')

measure() { # $1 = label, rest = extra wrk args
  local label=$1; shift
  local stat="$dir/perf.txt"
  perf stat -x, -e task-clock,instructions -p "$pid" -o "$stat" -- sleep 6 &
  local perf_pid=$!
  local out
  out=$(taskset -c 1 wrk -t1 -c32 -d5s --latency "$@" "http://127.0.0.1:$port/health/alive")
  wait $perf_pid
  local reqs ms instr
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  ms=$(awk -F, '/task-clock/ {print $1}' "$stat")
  instr=$(awk -F, '/instructions/ {print $1}' "$stat")
  local p99
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "$label $reqs $ms $p99" >>"$dir/results.txt"
  python3 -c "r=$reqs; print(f'$label {r/5:.0f} req/s  {float(\"$ms\")*1000/r:.2f} us cpu/req  p99 $p99')"
}
for _ in 1 2 3 4 5; do
  measure control-plane
  measure tenant -H "Host: $slug.projects.localhost"
done
# Medians over the rounds, and the tenant/control-plane ratios.
python3 - "$dir/results.txt" "$n" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
def p99_ms(v): return float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-2]) if v.endswith("ms") else float(v[:-1]) * 1000
out = {}
for label in ("control-plane", "tenant"):
    r = [x for x in rows if x[0] == label]
    out[label] = dict(
        rps=statistics.median(int(x[1]) / 5 for x in r),
        cpu=statistics.median(float(x[2]) * 1000 / int(x[1]) for x in r),
        p99=statistics.median(p99_ms(x[3]) for x in r),
    )
    print(f"| {sys.argv[2]} | {label} | {out[label]['rps']:.0f} | {out[label]['cpu']:.2f} µs | {out[label]['p99']:.2f} ms |")
c, t = out["control-plane"], out["tenant"]
print(f"tenant/control-plane: throughput {t['rps']/c['rps']:.3f}, capacity (1/cpu) {c['cpu']/t['cpu']:.3f}")
PY
