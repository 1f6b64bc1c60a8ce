#!/usr/bin/env bash
# Reading from S3 against reading from disk: the example batch (`examples/events/`, all
# agents, both days, 7 reports) run by the release binary from a local directory and from
# local S3 servers on 127.0.0.1 holding the same tree: moto (the tests' server; `pip install
# 'moto[server]'`) and s3s-fs (`cargo install s3s-fs --features binary`), each if installed.
# Prints the best and median of RUNS wall-clock times of each and their ratios to disk.
#
#   benches/s3.sh [RUNS]        # default 10
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}

cargo build --profile dist --locked --quiet
bin=$PWD/target/dist/agent-audit
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # URL
  for _ in $(seq 300); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "$1" 2>/dev/null; then return; fi
    sleep 0.1
  done
}
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_METADATA_ENDPOINT=http://127.0.0.1:9

# moto (Python): the server the tests use. The tree is uploaded with boto3.
servers=()
if command -v moto_server >/dev/null; then
  port=$(free_port)
  moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/moto-api/"
  python3 - "http://127.0.0.1:$port" <<'EOF'
import os, sys
import boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
s3.create_bucket(Bucket="bench")
for root, _, files in os.walk("examples/events"):
    for name in files:
        path = os.path.join(root, name)
        s3.upload_file(path, "bench", "events/" + os.path.relpath(path, "examples/events"))
EOF
  servers+=("moto=http://127.0.0.1:$port")
fi
# s3s-fs (Rust; `cargo install s3s-fs --features binary`): serves a folder, so the tree is
# copied into it.
if command -v s3s-fs >/dev/null; then
  port=$(free_port)
  mkdir -p "$work/s3s/bench"
  cp -r examples/events "$work/s3s/bench/events"
  s3s-fs --host 127.0.0.1 --port "$port" --access-key bench --secret-key bench "$work/s3s" >"$work/s3s.log" 2>&1 &
  pids+=($!)
  sleep 0.5
  servers+=("s3s-fs=http://127.0.0.1:$port")
fi
if [ ${#servers[@]} -eq 0 ]; then
  echo "benches/s3.sh: neither moto_server nor s3s-fs is installed" >&2
  exit 1
fi

batch() { # EVENTS OUT
  cat >"$work/$3.toml" <<EOF
events = ["$1"]
out_dir = "$2"
config = "$PWD/examples/agent-audit.toml"
timezone = "America/New_York"
[[report]]
agents = ["*"]
from = "2026-11-02"
to = "2026-11-03"
[[report]]
agents = ["jdoe"]
dates = ["2026-11-02"]
timezone = "Europe/London"
format = "json"
EOF
}
batch "$PWD/examples/events" "$work/out-disk" disk
batch "s3://bench/events" "$work/out-s3" s3

times() { # NAME: the best and the median of RUNS runs, in ms
  local all=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$bin" run --quiet "$work/$1.toml" >/dev/null
    end=$(date +%s%N)
    all+=($(( (end - start) / 1000000 )))
  done
  printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)]}'
}
"$bin" run --quiet "$work/disk.toml" >/dev/null # warm the page cache
read -r disk disk_median < <(times disk)
echo "examples/events from disk: best ${disk} ms, median ${disk_median} ms ($runs runs)"
for server in "${servers[@]}"; do
  name=${server%%=*}
  export AWS_ENDPOINT_URL=${server#*=}
  rm -rf "$work/out-s3"
  read -r s3 s3_median < <(times s3)
  diff -r -x manifest.json "$work/out-disk" "$work/out-s3"
  ratio() { python3 -c "print(f'{$1 / max($2, 1):.2f}')"; }
  echo "examples/events from S3 ($name on 127.0.0.1): best ${s3} ms ($(ratio "$s3" "$disk")x disk), median ${s3_median} ms ($(ratio "$s3_median" "$disk_median")x)"
done
