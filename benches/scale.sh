#!/usr/bin/env bash
# The figures of SPEC §10 that need a day of a large contact centre (5,000 agents, about
# 12 GB of JSON lines): a single-agent report over the whole day, and the peak memory of
# `run` and of `watch` (after its first generation) over it.
#
#   benches/scale.sh [AGENTS]        (default 5000; needs about 2.5 MB of disk per agent)
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${1:-5000}"
cargo build --profile dist --quiet --bin agent-audit --example gen-events
bin="$PWD/target/dist/agent-audit"
data="$(mktemp -d)"
trap 'kill "${watch_pid:-0}" 2>/dev/null || true; rm -rf "$data"' EXIT
mkdir -p "$data/events"
./target/dist/examples/gen-events --agents "$agents" --days 1 --out "$data/events/day.jsonl"
bytes=$(stat -c %s "$data/events/day.jsonl")
echo "machine: $(nproc) cores; input: $((bytes / 1000000)) MB, $agents agents"
cat > "$data/batch.toml" <<TOML
events = ["events"]
timezone = "America/New_York"
format = "csv"
out_dir = "reports"
[[report]]
agents = ["*"]
dates = ["2026-11-02"]
TOML
cd "$data"
# Warm the page cache, so every figure reads from memory alike.
cat events/day.jsonl > /dev/null
start=$(date +%s.%N)
"$bin" report --events events --agent agent02500 --date 2026-11-02 --timezone America/New_York > /dev/null 2>&1
end=$(date +%s.%N)
awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN { printf "single-agent report: %.2f s, %.2f GB/s\n", e - s, b / (e - s) / 1e9 }'
/usr/bin/time -f "run, all agents: %e s, peak RSS %M KB" "$bin" run batch.toml --quiet > /dev/null
"$bin" watch batch.toml --quiet > watch.out 2>&1 &
watch_pid=$!
for _ in $(seq 1 600); do
  grep -q "^generation 1 " watch.out && break
  sleep 0.5
done
grep -q "^generation 1 " watch.out || { echo "watch did not finish its first run" >&2; exit 1; }
echo "watch, after its first generation: peak RSS $(awk '/VmHWM/ {print $2, $3}' /proc/$watch_pid/status)"
