#!/usr/bin/env bash
# Scale-out: throughput of one replica versus two, both on one PostgreSQL and
# one Redis, as the Helm chart runs them.
#
#   benches/replicas-load.sh          (DURATION=10 by default, seconds per run)
#
# Each replica is a release `keyplane serve` with one worker in a CPU cgroup
# of its own limited to REPLICA_CPU cores (default 0.4), as a Kubernetes CPU
# limit does (CFS quota), so "two replicas" has exactly twice the server CPU
# of "one" and the rest of this 2-core box is left to wrk, PostgreSQL and
# Redis. The load is a direct permission check on a tenant (routing, tenant
# context, owner-token auth, one indexed PostgreSQL probe), from wrk with 32
# connections per replica. Besides req/s it reports requests per CPU second
# the replicas used (from /proc): whether a second replica adds coordination
# cost, independent of how busy the box is. Needs root (cgroups).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bash .ci/services >/dev/null
duration=${DURATION:-10}
quota=$(python3 -c "print(int(float('${REPLICA_CPU:-0.4}') * 100000))")
cargo build --release -q -p keyplane-server
bin=target/release/keyplane
db=keyplane_bench_replicas
psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
dir=$(mktemp -d)
export KEYPLANE_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$db" \
  KEYPLANE_REDIS__URL=redis://127.0.0.1:6379 KEYPLANE_REDIS__PREFIX="bench-$$" \
  KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_SERVE__HOST=127.0.0.1 KEYPLANE_SERVE__WORKERS=1 \
  KEYPLANE_LOG__LEVEL=warn KEYPLANE_RATE_LIMIT__ENABLED=false \
  KEYPLANE_ENCRYPTION__KEYS="[$(head -c 48 /dev/urandom | base64 | tr -d '=+/')]"
$bin migrate up >/dev/null
token=$($bin token create --email bench@example.com 2>/dev/null)
limit_cpu() { # pid, cgroup name: a CPU quota of $quota per 100 ms period
  local pid=$1 group
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then # cgroup v2
    group=/sys/fs/cgroup/$2
    mkdir -p "$group"
    echo "$quota 100000" >"$group/cpu.max"
  else # cgroup v1
    group=/sys/fs/cgroup/cpu/$2
    mkdir -p "$group"
    echo 100000 >"$group/cpu.cfs_period_us"
    echo "$quota" >"$group/cpu.cfs_quota_us"
  fi
  echo "$pid" >"$group/cgroup.procs"
}
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  sleep 0.5
  rmdir /sys/fs/cgroup/kp-bench-replica* /sys/fs/cgroup/cpu/kp-bench-replica* 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ports=(4791 4792)
for i in 0 1; do
  KEYPLANE_SERVE__PORT=${ports[$i]} $bin serve --no-migrate >"$dir/replica$i.log" 2>&1 &
  pids+=($!)
  limit_cpu $! "kp-bench-replica$i"
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/alive" >/dev/null && break; sleep 0.1; done
done
base="http://127.0.0.1:${ports[0]}"
auth="Authorization: Bearer $token"
project=$(curl -sf -X POST "$base/projects" -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}')
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$project")
slug=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["slug"])' "$project")
host="$slug.projects.localhost"
curl -sf -X PATCH "$base/projects/$id" -H "$auth" -H 'Content-Type: application/json' -d \
  '[{"op":"replace","path":"/services/permission/config/namespaces","value":[{"id":1,"name":"files"}]}]' >/dev/null
curl -sf -X PUT "$base/admin/relation-tuples" -H "Host: $host" -H "$auth" -H 'Content-Type: application/json' \
  -d '{"namespace":"files","object":"doc","relation":"viewer","subject_id":"alice"}' >/dev/null
query="relation-tuples/check/openapi?namespace=files&object=doc&relation=viewer&subject_id=alice"
for port in "${ports[@]}"; do
  body=$(curl -sf "http://127.0.0.1:$port/$query" -H "Host: $host" -H "$auth")
  [[ $body == '{"allowed":true}' ]] || { echo "replica on $port: expected allowed, got $body" >&2; exit 1; }
done
cat >"$dir/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %.2f\n", summary.requests, latency:percentile(99) / 1000))
end
LUA
cpu_ticks() { # utime + stime of the given pids, in clock ticks
  local total=0
  for p in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo $total
}
hz=$(getconf CLK_TCK)
run() { # label, replica count
  local label=$1 n=$2 before after
  local used=("${pids[@]:0:$n}")
  local loads=()
  before=$(cpu_ticks "${used[@]}")
  for i in $(seq 0 $((n - 1))); do
    wrk -t1 -c32 -d"${duration}s" -s "$dir/report.lua" -H "Host: $host" -H "$auth" \
      "http://127.0.0.1:${ports[$i]}/$query" >"$dir/wrk$i.out" &
    loads+=($!)
  done
  wait "${loads[@]}"
  after=$(cpu_ticks "${used[@]}")
  awk -v label="$label" -v d="$duration" -v ticks=$((after - before)) -v hz="$hz" '
    /^RESULT/ { requests += $2; if ($3 > p99) p99 = $3 }
    END { cpu = ticks / hz
          printf "| %s | %.0f req/s | worst p99 %.2f ms | replica CPU %.1f s | %.0f req per replica CPU-second |\n",
                 label, requests / d, p99, cpu, requests / cpu }' "$dir"/wrk[0-$((n - 1))].out | tee -a "$dir/rows"
  rm -f "$dir"/wrk*.out
}
# Alternating rounds (this VM's run-to-run noise is large), then medians.
cpu=${REPLICA_CPU:-0.4}
for _ in $(seq 1 "${ROUNDS:-3}"); do
  run "1 replica ($cpu core)" 1
  run "2 replicas ($cpu core each)" 2
done
python3 - "$dir/rows" <<'PY'
import statistics, sys
rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in open(sys.argv[1])]
med = {}
for label in dict.fromkeys(r[0] for r in rows):
    mine = [r for r in rows if r[0] == label]
    med[label] = (statistics.median(float(r[1].split()[0]) for r in mine),
                  statistics.median(float(r[4].split()[0]) for r in mine))
    print(f"median | {label} | {med[label][0]:.0f} req/s | {med[label][1]:.0f} req per replica CPU-second |")
(one, two) = med.values()
print(f"two/one: throughput {two[0] / one[0]:.2f}x, per replica CPU-second {two[1] / one[1]:.2f}")
PY
