#!/usr/bin/env bash
# Reading from S3 against reading from disk: the example batch (`examples/events/`, all
# agents, both days, 7 reports) run by the release binary from a local directory and from
# a local S3 server (moto on 127.0.0.1) holding the same tree. Prints the best of RUNS
# wall-clock times of each and their ratio. Needs `pip install 'moto[server]'`.
#
#   benches/s3.sh [RUNS]        # default 10
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}

cargo build --release --locked --quiet
bin=$PWD/target/release/agent-audit
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_METADATA_ENDPOINT=http://127.0.0.1:9
python3 - "$AWS_ENDPOINT_URL" <<'EOF'
import os, sys, time, urllib.request
import boto3
endpoint = sys.argv[1]
for _ in range(300):
    try:
        urllib.request.urlopen(endpoint + "/moto-api/")
        break
    except OSError:
        time.sleep(0.1)
s3 = boto3.client("s3", endpoint_url=endpoint)
s3.create_bucket(Bucket="bench")
for root, _, files in os.walk("examples/events"):
    for name in files:
        path = os.path.join(root, name)
        key = "events/" + os.path.relpath(path, "examples/events")
        s3.upload_file(path, "bench", key)
EOF

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

best() { # NAME
  local best=""
  for _ in $(seq "$runs"); do
    local start end ms
    start=$(date +%s%N)
    "$bin" run --quiet "$work/$1.toml" >/dev/null
    end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}
"$bin" run --quiet "$work/disk.toml" >/dev/null # warm the page cache
disk=$(best disk)
s3=$(best s3)
diff -r -x manifest.json "$work/out-disk" "$work/out-s3"
echo "examples/events from disk: ${disk} ms; from S3 (moto on 127.0.0.1): ${s3} ms; ratio $(python3 -c "print(f'{$s3 / max($disk, 1):.2f}')")x (best of $runs)"
