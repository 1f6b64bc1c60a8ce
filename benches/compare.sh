#!/usr/bin/env bash
# agent-audit against DuckDB on the same synthetic agent events: both derive the audit
# rows of every agent for one day; the script checks the rows are identical and prints
# both times and their ratio from the same run.
#
#   benches/compare.sh [AGENTS]        (default 200 agents, one day, about 0.5 GB)
#
# Needs DuckDB's Python package: pip install duckdb
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${1:-200}"
python3 -c "import duckdb" 2>/dev/null || { echo "benches/compare.sh: DuckDB is missing: pip install duckdb" >&2; exit 2; }
cargo build --profile dist --quiet --bin agent-audit --example gen-events
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
mkdir -p "$data/events"
./target/dist/examples/gen-events --agents "$agents" --days 1 --out "$data/events/day.jsonl"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
python3 benches/compare.py --events "$data/events" --date 2026-11-02 --timezone America/New_York --gzip
