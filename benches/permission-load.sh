#!/usr/bin/env bash
# Permission checks under load, load generator (wrk) on the same box, against
# a release server on SQLite with 10,000 unrelated tuples in the project:
#   1. a direct check (one tuple)
#   2. a check through a 5-deep subject-set chain
#   3. a check whose only path is the last of 200 parent sets (Keto #1519)
# Each runs twice: 32 connections (saturated: throughput, and latency that is
# mostly queueing) and 4 connections (latency of a check on a busy server).
# Prints req/s, p50, p95 and p99 for each.
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
export KEYPLANE_DATABASE__URL="sqlite://$dir/keyplane.db" KEYPLANE_SERVE__PORT=$port \
  KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_SERVE__HOST=127.0.0.1 KEYPLANE_LOG__LEVEL=warn
export KEYPLANE_RATE_LIMIT__ENABLED=false  # capacity, not plan limits (off by default anyway)
token=$($bin token create --email bench@example.com 2>/dev/null)
$bin serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/alive" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
auth="Authorization: Bearer $token"
project=$(curl -sf -X POST "$base/projects" -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}')
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$project")
slug=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["slug"])' "$project")
host="$slug.projects.localhost"
curl -sf -X PATCH "$base/projects/$id" -H "$auth" -H 'Content-Type: application/json' -d \
  '[{"op":"replace","path":"/services/permission/config/namespaces","value":[{"id":1,"name":"files"},{"id":2,"name":"groups"}]},
    {"op":"replace","path":"/services/permission/config/limit/max_read_depth","value":6}]' >/dev/null
# The chain's subject is six tuples down (five subject-set hops): Keto reads
# it at depth 6, one more than the default limit of 5.
# Fixtures, then 10,000 unrelated tuples, in PATCH batches of 1,000.
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
for f in "$dir"/batch*.json; do
  curl -sf -X PATCH "$base/admin/relation-tuples" -H "Host: $host" -H "$auth" \
    -H 'Content-Type: application/json' --data-binary "@$f" >/dev/null
done
cat >"$dir/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
LUA
check() { # label, connections, query
  local label=$1 conns=$2 url="$base/relation-tuples/check/openapi?$3"
  local body
  body=$(curl -sf "$url" -H "Host: $host" -H "$auth")
  [[ $body == '{"allowed":true}' ]] || { echo "$label: expected allowed, got $body" >&2; exit 1; }
  local out
  out=$(wrk -t2 -c"$conns" -d"${duration}s" -s "$dir/report.lua" -H "Host: $host" -H "$auth" "$url")
  read -r rps p50 p95 p99 < <(awk '/^RESULT/ {print $2, $3, $4, $5}' <<<"$out")
  printf '| %s | %s conns | %s checks/s | p50 %s ms | p95 %s ms | p99 %s ms |\n' "$label" "$conns" "$rps" "$p50" "$p95" "$p99"
}
for conns in 32 4; do
check "direct" "$conns" "namespace=files&object=doc&relation=viewer&subject_id=alice"
check "5-deep subject-set chain" "$conns" "namespace=files&object=chain&relation=viewer&subject_id=dave"
check "through 200 parent sets" "$conns" "namespace=files&object=deep&relation=viewer&subject_id=erin"
done
