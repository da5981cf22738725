#!/usr/bin/env bash
# Export and import at scale (issue 24.4): a release `keyplane serve`, the
# `keyplane project export|import` CLI against it, and the server's memory
# sampled every 100 ms from /proc while each runs.
#
#   benches/transfer.sh                 IDENTITIES=100000 TUPLES=1000000
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/transfer_bench benches/transfer.sh
#   BENCH_DATABASE_URL='postgres://postgres@localhost/transfer_bench?host=/var/run/postgresql' …
#     (the Unix socket: sqlx 0.9.0 sends without TCP_NODELAY, see docs/benchmarks.md)
#
# 1. import IDENTITIES generated identities (bcrypt hashes, as an export
#    carries them: imported, never recomputed) into an empty project;
# 2. import TUPLES generated relation tuples into it (mode=merge);
# 3. export the whole project (the CLI streams it to a file);
# 4. import that export into a new project (ids=new: same server).
# For each: wall time, records/s, and the server's peak RSS growth over
# its RSS before the step. Markdown rows for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
identities=${IDENTITIES:-100000}
tuples=${TUPLES:-1000000}
cargo build --release -q -p keyplane-server
bin=$PWD/target/release/keyplane
port=4791
dir=$(mktemp -d)
db_url=${BENCH_DATABASE_URL:-sqlite://$dir/keyplane.db}
if [[ $db_url == postgres* ]]; then
  # A fresh database for the run (the URL may carry ?host=/var/run/postgresql).
  base_url=${db_url%%\?*}
  admin_url=${base_url%/*}/postgres${db_url#"$base_url"}
  name=${base_url##*/}
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  export KEYPLANE_ENCRYPTION__KEYS='["a bench key of at least thirty-two characters"]'
fi
export KEYPLANE_DATABASE__URL=$db_url KEYPLANE_SERVE__PORT=$port \
  KEYPLANE_SERVE__HOST=127.0.0.1 KEYPLANE_SERVE__GRPC_PORT=0 KEYPLANE_LOG__LEVEL=warn
token=$($bin token create --email bench@example.com 2>/dev/null)
$bin serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/health/alive" >/dev/null && break; sleep 0.1; done
export KEYPLANE_SERVER=$base KEYPLANE_TOKEN=$token

new_project() {
  curl -sf -X POST "$base/projects" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "{\"name\":\"$1\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
source_id=$(new_project source)
curl -sf -o /dev/null -X PATCH "$base/projects/$source_id" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '[
    {"op":"add","path":"/services/permission/config/namespaces/-","value":{"id":1,"name":"docs"}},
    {"op":"add","path":"/services/permission/config/namespaces/-","value":{"id":2,"name":"groups"}}]'

# The archives: identities as an export writes them; distinct tuples over
# documents and 500 groups, a quarter of them through a group.
python3 - "$dir" "$identities" "$tuples" <<'EOF'
import json, sys, uuid
out, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
header = {"kind": "header", "format": "keyplane-export", "version": 1,
          "project": {"id": str(uuid.uuid4()), "slug": "bench", "name": "bench"},
          "revision_id": str(uuid.uuid4()), "exported_at": "2026-12-03T00:00:00Z"}
at = "2026-12-03T00:00:00Z"
bcrypt = "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
ids = []
with open(f"{out}/identities.ndjson", "w") as f:
    f.write(json.dumps(header) + "\n")
    for i in range(n):
        iid = str(uuid.uuid4()); ids.append(iid)
        email = f"user{i}@example.com"
        f.write(json.dumps({"kind": "identity", "id": iid, "schema_id": "default", "state": "active",
            "traits": {"email": email},
            "credentials": [{"id": str(uuid.uuid4()), "type": "password", "identifiers": [email],
                "config": {"hashed_password": bcrypt}, "version": 0, "created_at": at, "updated_at": at}],
            "verifiable_addresses": [{"id": str(uuid.uuid4()), "value": email, "verified": False,
                "via": "email", "status": "pending", "created_at": at, "updated_at": at}],
            "recovery_addresses": [{"id": str(uuid.uuid4()), "value": email, "via": "email",
                "created_at": at, "updated_at": at}],
            "created_at": at, "updated_at": at}) + "\n")
    f.write(json.dumps({"kind": "end", "identities": n, "relation_tuples": 0}) + "\n")
with open(f"{out}/tuples.ndjson", "w") as f:
    f.write(json.dumps(header) + "\n")
    for j in range(m):
        doc = f"doc{j % 20000}"
        if j % 4 == 0:
            t = {"namespace": "docs", "object": f"doc{j // 4}", "relation": "view",
                 "subject_set": {"namespace": "groups", "object": f"g{j % 500}", "relation": "member"}}
        elif j % 4 == 1:
            member = ids[j % n] if j < n else f"{ids[j % n]}.{j}"
            t = {"namespace": "groups", "object": f"g{j % 500}", "relation": "member", "subject_id": member}
        else:
            t = {"namespace": "docs", "object": doc, "relation": "view", "subject_id": f"{ids[j % n]}.{j}"}
        t["kind"] = "relation_tuple"
        f.write(json.dumps(t) + "\n")
    f.write(json.dumps({"kind": "end", "identities": 0, "relation_tuples": m}) + "\n")
EOF

rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
# Runs "$@" while sampling the server's RSS; prints "seconds peak_growth_MiB".
measured() {
  local before peak=0 start end sampler
  before=$(rss)
  (while kill -0 $pid 2>/dev/null; do rss; sleep 0.1; done) >"$dir/rss" &
  sampler=$!
  start=$(date +%s.%N)
  "$@" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; kill $sampler; exit 1; }
  end=$(date +%s.%N)
  kill $sampler; wait $sampler 2>/dev/null || true
  peak=$(sort -n "$dir/rss" | tail -1)
  python3 -c "print(f'{$end - $start:.2f} {max(0, $peak - $before) / 1024:.1f} {$before / 1024:.1f}')"
}
row() { # label records seconds growth before
  python3 -c "import sys; l, n, s, g, b = sys.argv[1:]; n = int(n); s = float(s); print(f'| {l} | {n:,} | {s:.1f} s | {n / s:,.0f}/s | {g} MiB (from {b}) |')" "$@"
}

read -r s g b < <(measured $bin project import --project "$source_id" --file "$dir/identities.ndjson" --config keep)
row "import identities (empty project)" "$identities" "$s" "$g" "$b"
read -r s g b < <(measured $bin project import --project "$source_id" --file "$dir/tuples.ndjson" --mode merge)
row "import relation tuples (merge)" "$tuples" "$s" "$g" "$b"
read -r s g b < <(measured $bin project export --project "$source_id" --output "$dir/export.ndjson")
row "export (identities + tuples)" "$((identities + tuples))" "$s" "$g" "$b"
echo "archive: $(du -m "$dir/export.ndjson" | cut -f1) MiB, $(wc -l <"$dir/export.ndjson") lines" >&2
target_id=$(new_project target)
read -r s g b < <(measured $bin project import --project "$target_id" --file "$dir/export.ndjson" --ids new)
row "import the export (new project, ids=new)" "$((identities + tuples))" "$s" "$g" "$b"
grep -h '"imported"' "$dir/out" >&2 || true
