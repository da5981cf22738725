#!/usr/bin/env bash
# Two release binaries side by side, for a change that must not cost
# anything on the hot paths (e.g. the store refactor of issue 28):
#   1. whoami with a session token (-c32)
#   2. a cold permission check: every request names a new subject, so the
#      check cache misses and the tuples are read from the database (-c32)
#   3. project creation: 100 POST /projects one after another (mean, p95)
# Each binary gets a fresh SQLite database and the same fixtures; the rounds
# alternate (A, B, A, B, ...) so drift on this shared box hits both alike.
# Prints one Markdown row per measure with both medians and B / A.
#
#   benches/ab.sh BEFORE_BINARY AFTER_BINARY     (ROUNDS=3, DURATION=10 s)
#
# Build the binaries with `cargo build --release -p keyplane-server` at each
# commit (e.g. in a `git worktree`).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY" >&2; exit 2; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bins=("$1" "$2")
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
port=4783
base="http://127.0.0.1:$port"
dir=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
export KEYPLANE_SERVE__PORT=$port KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_SERVE__HOST=127.0.0.1 \
  KEYPLANE_LOG__LEVEL=warn KEYPLANE_RATE_LIMIT__ENABLED=false \
  KEYPLANE_IDENTITY__HAVEIBEENPWNED_URL=http://127.0.0.1:9 \
  KEYPLANE_IDENTITY__HAVEIBEENPWNED_TIMEOUT_SECS=1
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
cat >"$dir/cold.lua" <<'LUA'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
function request()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "&subject_id=cold" .. tid .. "x" .. counter)
end
LUA

wrk_rps() { # wrk args... → requests/s (fails on any non-2xx answer)
  local out
  out=$(wrk -t2 -d"${duration}s" "$@")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

measure() { # binary index → "whoami_rps check_rps create_mean_ms create_p95_ms"
  local bin=${bins[$1]} data="$dir/run"
  rm -rf "$data"; mkdir -p "$data"
  export KEYPLANE_DATABASE__URL="sqlite://$data/keyplane.db"
  local token
  token=$("$bin" token create --email bench@example.com 2>/dev/null)
  "$bin" serve >"$data/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/health/alive" >/dev/null && break; sleep 0.1; done
  local auth="Authorization: Bearer $token" project id host flow session
  project=$(curl -sf -X POST "$base/projects" -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}')
  id=$(json '["id"]' <<<"$project")
  host="$(json '["slug"]' <<<"$project").projects.localhost"
  curl -sf -X PATCH "$base/projects/$id" -H "$auth" -H 'Content-Type: application/json' -d \
    '[{"op":"replace","path":"/services/permission/config/namespaces","value":[{"id":1,"name":"files"}]}]' >/dev/null
  curl -sf -X PUT "$base/admin/relation-tuples" -H "Host: $host" -H "$auth" -H 'Content-Type: application/json' \
    -d '{"namespace":"files","object":"doc","relation":"viewer","subject_id":"alice"}' >/dev/null
  flow=$(curl -sf "$base/self-service/registration/api" -H "Host: $host" | json '["id"]')
  session=$(curl -sf -X POST "$base/self-service/registration?flow=$flow" -H "Host: $host" \
    -H 'Content-Type: application/json' \
    -d '{"method":"password","password":"bench passphrase 123","traits":{"email":"bench@example.com"}}' |
    json '["session_token"]')
  local whoami check create
  whoami=$(wrk_rps -c32 -H "Host: $host" -H "X-Session-Token: $session" "$base/sessions/whoami")
  check=$(wrk_rps -c32 -s "$dir/cold.lua" -H "Host: $host" -H "$auth" \
    "$base/relation-tuples/check/openapi?namespace=files&object=doc&relation=viewer")
  create=$(for i in $(seq 1 100); do
    curl -sf -o /dev/null -w '%{time_total}\n' -X POST "$base/projects" -H "$auth" \
      -H 'Content-Type: application/json' -d "{\"name\":\"bench $i\"}"
  done | python3 -c 'import sys, statistics as s
t = sorted(float(x) * 1000 for x in sys.stdin)
print(f"{s.mean(t):.2f} {t[int(len(t) * 0.95) - 1]:.2f}")')
  kill $pid; wait $pid 2>/dev/null || true; pid=
  echo "$whoami $check $create"
}

for round in $(seq 1 "$rounds"); do
  for i in 0 1; do
    echo "$i $(measure $i)" | tee -a "$dir/results" >&2
  done
done

python3 - "$dir/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
names = ["whoami, -c32 (req/s)", "cold check, -c32 (checks/s)",
         "project creation, mean (ms)", "project creation, p95 (ms)"]
print("| measure | before (median) | after (median) | after / before |")
print("| --- | --- | --- | --- |")
for k, name in enumerate(names):
    a = statistics.median(float(r[k + 1]) for r in rows if r[0] == "0")
    b = statistics.median(float(r[k + 1]) for r in rows if r[0] == "1")
    print(f"| {name} | {a:,.2f} | {b:,.2f} | {b / a:.3f} |")
PY
