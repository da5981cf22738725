#!/usr/bin/env bash
# Identity hot paths under load, load generator (wrk) on the same box:
#   1. whoami vs the same tenant's /health/alive (req/s, p99)
#   2. password logins per second (the configured hasher, bcrypt-12 by default)
#   3. whoami while a login storm runs, vs idle whoami
#
#   benches/identity-load.sh            (DURATION=10 by default, seconds per run)
#
# The time of one hash comes from `cargo bench -p keyplane-identity --bench hash`
# (criterion); pass it as HASH_MS to have the login target printed.
# Failed-login throttling is off: it counts logins when they start, and
# eight of one account in flight at once would exceed its five free ones.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
duration=${DURATION:-10}
cargo build --release -q -p keyplane-server
bin=target/release/keyplane
port=4781
dir=$(mktemp -d)
export KEYPLANE_DATABASE__URL="sqlite://$dir/keyplane.db" KEYPLANE_SERVE__PORT=$port \
  KEYPLANE_SERVE__HOST=127.0.0.1 KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_LOG__LEVEL=warn \
  KEYPLANE_RATE_LIMIT__ENABLED=false \
  KEYPLANE_IDENTITY__LOGIN_THROTTLE__ENABLED=false \
  KEYPLANE_IDENTITY__HAVEIBEENPWNED_URL=http://127.0.0.1:9 \
  KEYPLANE_IDENTITY__HAVEIBEENPWNED_TIMEOUT_SECS=1
token=$($bin token create --email bench@example.com 2>/dev/null)
$bin serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/alive" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
slug=$(curl -sf -X POST "$base/projects" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["slug"])')
host="$slug.projects.localhost"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
flow=$(curl -sf "$base/self-service/registration/api" -H "Host: $host" | json '["id"]')
session=$(curl -sf -X POST "$base/self-service/registration?flow=$flow" -H "Host: $host" \
  -H 'Content-Type: application/json' \
  -d '{"method":"password","password":"bench passphrase 123","traits":{"email":"bench@example.com"}}' |
  json '["session_token"]')
login_flow=$(curl -sf "$base/self-service/login/api" -H "Host: $host" | json '["id"]')
cat >"$dir/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"method":"password","identifier":"bench@example.com","password":"bench passphrase 123"}'
wrk.headers["Content-Type"] = "application/json"
LUA

run() { # label, wrk args...
  local label=$1; shift
  local out
  out=$(wrk -t1 -d"${duration}s" --latency "$@")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "$label $rps $p99" | tee -a "$dir/results.txt" >&2
}

run alive -c32 -H "Host: $host" "$base/health/alive"
run whoami -c32 -H "Host: $host" -H "X-Session-Token: $session" "$base/sessions/whoami"
run login -c8 -s "$dir/login.lua" -H "Host: $host" "$base/self-service/login?flow=$login_flow"
# The storm: logins saturate the hasher while whoami is measured.
wrk -t1 -c8 -d"$((duration + 2))s" -s "$dir/login.lua" -H "Host: $host" \
  "$base/self-service/login?flow=$login_flow" >"$dir/storm.txt" &
storm=$!
sleep 1
run whoami-during-storm -c32 -H "Host: $host" -H "X-Session-Token: $session" "$base/sessions/whoami"
wait $storm
echo "storm logins/s: $(awk '/Requests\/sec/ {print $2}' "$dir/storm.txt")" >&2

python3 - "$dir/results.txt" "$(nproc)" "${HASH_MS:-}" <<'PY'
import sys
rows = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
cores = int(sys.argv[2]); hash_ms = sys.argv[3]
rps = {k: float(v[0]) for k, v in rows.items()}
print(f"| whoami | {rps['whoami']:.0f} req/s | p99 {rows['whoami'][1]} | {rps['whoami']/rps['alive']:.2f} × /health/alive ({rps['alive']:.0f} req/s, p99 {rows['alive'][1]}) |")
print(f"| password logins | {rps['login']:.1f} /s | p99 {rows['login'][1]} |")
if hash_ms:
    target = 0.8 * cores / (float(hash_ms) / 1000)
    print(f"|   target 0.8 × {cores} cores ÷ {hash_ms} ms = {target:.1f} /s → {rps['login']/target*0.8:.2f} × (cores ÷ hash time) |")
print(f"| whoami during login storm | {rps['whoami-during-storm']:.0f} req/s | p99 {rows['whoami-during-storm'][1]} | {rps['whoami-during-storm']/rps['whoami']:.2f} × idle |")
PY
