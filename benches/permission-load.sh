#!/usr/bin/env bash
# Permission checks under load, load generator (wrk) on the same box, against
# a release server with 10,000 unrelated tuples in the project:
#   1. a direct check (one tuple)
#   2. a check through a 5-deep subject-set chain
#   3. a check whose only path is the last of 200 parent sets (Keto #1519)
#   4. the same 200 parent sets, cold: every request names a new subject, so
#      every check misses the check cache and walks (denied, after reading
#      both levels)
# 1-3 repeat one check, so after the first they are answered by the check
# cache. Each runs twice: 32 connections (saturated: throughput, and latency
# that is mostly queueing) and 4 connections (latency of a check on a busy
# server). Prints req/s, p50, p95 and p99 for each, on SQLite (the embedded
# default) and, with BENCH_POSTGRES_URL set (an empty database this script may
# migrate and fill), on PostgreSQL in the same run.
#
#   benches/permission-load.sh          (DURATION=10 by default, seconds per run)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
duration=${DURATION:-10}
cargo build --release -q -p keyplane-server
bin=target/release/keyplane
port=4782
dir=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
export KEYPLANE_SERVE__PORT=$port KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_SERVE__HOST=127.0.0.1 \
  KEYPLANE_LOG__LEVEL=warn
export KEYPLANE_RATE_LIMIT__ENABLED=false  # capacity, not plan limits (off by default anyway)
# Required with PostgreSQL (replicas must share it); harmless on SQLite.
export KEYPLANE_ENCRYPTION__KEYS='["a bench key of at least thirty-two characters"]'
base="http://127.0.0.1:$port"
# The fixtures, then 10,000 unrelated tuples, in PATCH batches of 1,000.
# The chain's subject is six tuples down (five subject-set hops): Keto reads
# it at depth 6, one more than the default limit of 5.
python3 - "$dir" <<'PY'
import json, sys
def t(ns, obj, rel, sub):
    d = {"namespace": ns, "object": obj, "relation": rel}
    if isinstance(sub, tuple):
        d["subject_set"] = {"namespace": sub[0], "object": sub[1], "relation": sub[2]}
    else:
        d["subject_id"] = sub
    return {"action": "insert", "relation_tuple": d}
fixture = [t("files", "doc", "viewer", "alice")]
fixture.append(t("files", "chain", "viewer", ("groups", "c1", "member")))
for i in range(2, 6):
    fixture.append(t("groups", f"c{i-1}", "member", ("groups", f"c{i}", "member")))
fixture.append(t("groups", "c5", "member", "dave"))
for i in range(200):
    fixture.append(t("files", "deep", "viewer", ("groups", f"parent{i}", "member")))
fixture.append(t("groups", "parent199", "member", "erin"))
noise = [t("files", f"other{i % 1000}", "viewer", f"user{i}") for i in range(10000)]
batches = [fixture] + [noise[i:i + 1000] for i in range(0, len(noise), 1000)]
for n, batch in enumerate(batches):
    json.dump(batch, open(f"{sys.argv[1]}/batch{n}.json", "w"))
PY
cat >"$dir/report.lua" <<'LUA'
-- CHECK_COLD set: each request names a subject never asked before
-- (thread number and a counter), so no check is answered from the cache.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
if os.getenv("CHECK_COLD") ~= "" then
  local counter = 0
  function request()
    counter = counter + 1
    return wrk.format(nil, wrk.path .. "&subject_id=cold" .. tid .. "x" .. counter)
  end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status))
end
LUA

check() { # database, label, connections, expected answer, query, cold?
  local database=$1 label=$2 conns=$3 expected=$4 url="$base/relation-tuples/check/openapi?$5" cold=${6:-}
  local body probe=$url
  [[ -n $cold ]] && probe="$url&subject_id=probe"
  body=$(curl -sf "$probe" -H "Host: $host" -H "$auth")
  [[ $body == "{\"allowed\":$expected}" ]] || { echo "$label: expected $expected, got $body" >&2; exit 1; }
  local out
  out=$(CHECK_COLD=$cold wrk -t2 -c"$conns" -d"${duration}s" -s "$dir/report.lua" -H "Host: $host" -H "$auth" "$url")
  read -r rps p50 p95 p99 errors < <(awk '/^RESULT/ {print $2, $3, $4, $5, $6}' <<<"$out")
  [[ $errors == 0 ]] || { echo "$label: $errors answers were not 200" >&2; exit 1; }
  printf '| %s | %s | %s conns | %s checks/s | p50 %s ms | p95 %s ms | p99 %s ms |\n' \
    "$database" "$label" "$conns" "$rps" "$p50" "$p95" "$p99"
}

run_against() { # label, database URL
  local database=$1
  export KEYPLANE_DATABASE__URL=$2
  token=$($bin token create --email bench@example.com 2>/dev/null)
  $bin serve >"$dir/server-$database.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/health/alive" >/dev/null && break; sleep 0.1; done
  auth="Authorization: Bearer $token"
  local project id slug
  project=$(curl -sf -X POST "$base/projects" -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}')
  id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$project")
  slug=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["slug"])' "$project")
  host="$slug.projects.localhost"
  curl -sf -X PATCH "$base/projects/$id" -H "$auth" -H 'Content-Type: application/json' -d \
    '[{"op":"replace","path":"/services/permission/config/namespaces","value":[{"id":1,"name":"files"},{"id":2,"name":"groups"}]},
      {"op":"replace","path":"/services/permission/config/limit/max_read_depth","value":6}]' >/dev/null
  for f in "$dir"/batch*.json; do
    curl -sf -X PATCH "$base/admin/relation-tuples" -H "Host: $host" -H "$auth" \
      -H 'Content-Type: application/json' --data-binary "@$f" >/dev/null
  done
  for conns in 32 4; do
    check "$database" "direct" "$conns" true "namespace=files&object=doc&relation=viewer&subject_id=alice"
    check "$database" "5-deep subject-set chain" "$conns" true "namespace=files&object=chain&relation=viewer&subject_id=dave"
    check "$database" "through 200 parent sets" "$conns" true "namespace=files&object=deep&relation=viewer&subject_id=erin"
    check "$database" "200 parent sets, cold (denied)" "$conns" false "namespace=files&object=deep&relation=viewer" cold
  done
  kill $pid
  wait $pid 2>/dev/null || true
  pid=
}

run_against sqlite "sqlite://$dir/keyplane.db"
if [[ -n ${BENCH_POSTGRES_URL:-} ]]; then
  run_against postgres "$BENCH_POSTGRES_URL"
fi
