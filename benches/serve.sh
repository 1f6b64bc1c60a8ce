#!/usr/bin/env bash
# The report page under load (SPEC §11): a generated day of AGENTS agents (500: about
# 1.2 GB) loaded by `serve`, single-agent day CSVs asked through the API by wrk (a
# well-known HTTP load generator, from Debian) at 64 concurrent connections with a bearer
# token from the real test provider (tests/oidc), while a policy is edited 100 times; then
# the decision benchmark (Rhai and Lua). Prints p50, p99, requests/s, failed requests,
# reloads seen, resident memory against the raw bytes loaded.
#
#   benches/serve.sh            # AGENTS=500 LOAD_SECS=60 CONNECTIONS=64 PROFILE=dist
#
# Figures, never a pass/fail: docs/performance.md has the table and what they mean. wrk and
# the server share the 2 cores, so the figures are what one machine does for both.
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${AGENTS:-500}
seconds=${LOAD_SECS:-60}
connections=${CONNECTIONS:-64}
edits=100

if ! command -v wrk >/dev/null; then
  echo "+ apt-get install -y wrk"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -q wrk >/dev/null
fi
[ -d tests/oidc/node_modules ] || (cd tests/oidc && npm ci --no-audit --no-fund)
profile=${PROFILE:-dist}
cargo build --profile "$profile" --locked --quiet --bin agent-audit --example gen-events
bin=$PWD/target/$profile/agent-audit

data=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

mkdir -p "$data/events" "$data/policies"
"./target/$profile/examples/gen-events" --agents "$agents" --days 1 --out "$data/events/day.jsonl"
raw=$(stat -c %s "$data/events/day.jsonl")
cat >"$data/policies/users.toml" <<'EOF'
[profiles.Auditor]
permissions = ["Agent activity audit - Access"]

[users.alice]
profiles = ["Auditor"]
EOF
policy="$data/policies/hold.rhai"
# Each edit is saved as editors save: written beside, then renamed over the policy (a
# policy caught half-written is refused, and the last good one kept, which the figures
# below would count as "refused").
write_policy() {
  printf 'fn authorize(req) {\n    if req.agent.login_key == "nobody%s" {\n        return #{ decision: "forbid", reason: "edit %s" };\n    }\n    ()\n}\n' "$1" "$1" >"$data/hold.tmp"
  mv "$data/hold.tmp" "$policy"
}
write_policy 0
printf 'policies = "policies"\ndecision_log = "decisions.jsonl"\n' >"$data/agent-audit.toml"

cat >"$data/oidc.json" <<'EOF'
{"port": 0, "resource": "agent-audit", "access_token_ttl": 3600,
 "clients": [{"client_id": "alice-script", "client_secret": "a",
              "grant_types": ["client_credentials"], "redirect_uris": [], "login": "alice"}]}
EOF
node tests/oidc/provider.mjs "$data/oidc.json" >"$data/provider.out" 2>"$data/provider.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready ' "$data/provider.out" && break; sleep 0.1; done
issuer=$(sed -n 's/^ready //p' "$data/provider.out")
[ -n "$issuer" ] || { cat "$data/provider.err" >&2; exit 1; }
token=$(curl -sf -u alice-script:a -d grant_type=client_credentials -d resource=agent-audit \
  "$issuer/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat >"$data/SERVE.toml" <<EOF
listen = "127.0.0.1:0"
events = ["events"]
config = "agent-audit.toml"
timezone = "America/New_York"

[oidc]
issuer = "$issuer"
client_id = "agent-audit"

[limits]
per_identity_per_minute = 4000000000
EOF
started=$(date +%s.%N)
"$bin" serve "$data/SERVE.toml" 2>"$data/serve.err" &
server=$!
pids+=("$server")
base=""
for _ in $(seq 1200); do
  base=$(sed -n 's/^serve: listening on //p' "$data/serve.err")
  [ -n "$base" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$data/serve.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "serve did not start" >&2; exit 1; }
loaded=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
url="$base/api/v1/report?agent=agent00042&date=2026-11-02&timezone=America/New_York&format=csv"
curl -sf -H "Authorization: Bearer $token" "$url" >"$data/one.csv"
rows=$(($(wc -l <"$data/one.csv") - 1))

# Warm up, then the measured run with the policy edited `edits` times during it.
wrk -t2 -c"$connections" -d5s -H "Authorization: Bearer $token" "$url" >/dev/null
(
  gap=$(python3 -c "print(max(0.35, ($seconds - 5) / $edits))")
  sleep 2
  for i in $(seq 1 "$edits"); do
    write_policy "$i"
    sleep "$gap"
  done
) &
editor=$!
pids+=("$editor")
if [ -n "${PERF:-}" ]; then
  # PERF=FILE: a call-graph profile of the server during 20 s of the measured run.
  (sleep 10 && perf record -F 499 -g -p "$server" -o "$PERF" -- sleep 20 >/dev/null 2>&1) &
  pids+=($!)
fi
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$url" >"$data/wrk.out"
wait "$editor" || true
# One connection: the time of one request with nothing queued before it (at 64
# connections a request waits for those ahead of it: latency = connections / throughput).
wrk -t1 -c1 -d10s --latency -H "Authorization: Bearer $token" "$url" >"$data/wrk1.out"
sleep 1
reloads=$(grep -c 'configuration reloaded' "$data/serve.err" || true)
refused=$(grep -c 'reload refused' "$data/serve.err" || true)
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")

p50=$(awk '$1 == "50%" {print $2}' "$data/wrk.out")
p99=$(awk '$1 == "99%" {print $2}' "$data/wrk.out")
rps=$(awk '/^Requests\/sec/ {print $2}' "$data/wrk.out")
total=$(awk '/requests in/ {print $1}' "$data/wrk.out")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$data/wrk.out")
socket=$(sed -n 's/.*Socket errors: //p' "$data/wrk.out")

one50=$(awk '$1 == "50%" {print $2}' "$data/wrk1.out")
one99=$(awk '$1 == "99%" {print $2}' "$data/wrk1.out")
one_rps=$(awk '/^Requests\/sec/ {print $2}' "$data/wrk1.out")

echo
echo "serve: $agents agents, $((raw / 1000000)) MB raw, loaded and listening in ${loaded}s; one report: $rows rows"
echo "load: wrk, 2 threads, $connections connections, ${seconds}s, single-agent day CSV (API, bearer token)"
printf '  %-28s %s\n' "latency p50" "$p50" "latency p99" "$p99" "requests/s" "$rps" \
  "requests" "$total" "failed (non-2xx)" "${non2xx:-0}" "socket errors" "${socket:-none}" \
  "policy edits" "$edits" "reloads seen / refused" "$reloads / $refused" \
  "one connection: p50 / p99" "$one50 / $one99 ($one_rps requests/s)"
python3 - "$rss_kb" "$hwm_kb" "$raw" <<'EOF'
import sys
rss, hwm, raw = int(sys.argv[1]) * 1024, int(sys.argv[2]) * 1024, int(sys.argv[3])
print(f"  {'resident now / peak':<28} {rss / 1e6:.0f} MB / {hwm / 1e6:.0f} MB")
print(f"  {'resident / raw bytes':<28} {100 * rss / raw:.1f}% (the process, store and all)")
EOF
sed -n '/Latency Distribution/,/99%/p' "$data/wrk.out"
echo
cargo bench --locked --quiet -p agent-audit-bench --bench decision
