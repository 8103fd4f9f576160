#!/usr/bin/env bash
# The same boto3 workload against findinghub and against moto's server, side by side
# (bench/boto3_vs_moto.py says what the workload is).
#
#   bench/run-boto3-vs-moto.sh [--runs R] [boto3_vs_moto.py options, e.g. --findings 20000]
#
# Makes a virtual environment with bench/requirements.txt under the target directory
# (${CARGO_TARGET_DIR:-target}/bench-venv), builds findinghub in release, and for each run starts
# a fresh `findinghub serve` (embedded store in a temporary directory, bootstrap key from the
# environment) and a fresh `moto_server`, each on a free loopback port, waits until both answer,
# runs the workload and stops both. With more than one run it ends with the medians of the runs.
# Needs python3 (3.11) and PyPI on the first run.
set -euo pipefail

runs=1
pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --runs=*) runs="${1#--runs=}"; shift ;;
        *) pass+=("$1"); shift ;;
    esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="$target/bench-venv"
requirements="$repo/bench/requirements.txt"
python="${FINDINGHUB_BENCH_PYTHON:-python3}"

if [ ! -f "$venv/.requirements" ] || ! cmp -s "$requirements" "$venv/.requirements"; then
    echo "making $venv ..." >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
    cp "$requirements" "$venv/.requirements"
fi
py="$venv/bin/python"

(cd "$repo" && cargo build --release --locked -p findinghub)
findinghub="$target/release/findinghub"

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until URL answers HTTP at all (any status), for at most 60 s.
wait_http() {
    "$py" - "$1" <<'EOF'
import sys, time, urllib.error, urllib.request
url = sys.argv[1]
for _ in range(600):
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(f"{url} did not answer within 60 s")
EOF
}

work="$(mktemp -d "${TMPDIR:-/tmp}/boto3-vs-moto.XXXXXX")"
hub_pid=""
moto_pid=""
stop() {
    for pid in $hub_pid $moto_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    hub_pid=""
    moto_pid=""
}
trap 'stop; rm -rf "$work"' EXIT

key_id=AKIABOTO3VSMOTO00001
secret=Ym90bzMtdnMtbW90by1iZW5jaG1hcmstc2VjcmV0
outs=()
for run in $(seq 1 "$runs"); do
    hub_port="$(free_port)"
    moto_port="$(free_port)"
    while [ "$moto_port" = "$hub_port" ]; do moto_port="$(free_port)"; done
    mkdir -p "$work/run-$run"
    FINDINGHUB_BOOTSTRAP_ACCESS_KEY_ID="$key_id" \
        FINDINGHUB_BOOTSTRAP_SECRET_ACCESS_KEY="$secret" \
        FINDINGHUB_BOOTSTRAP_ACCOUNT_ID=123456789012 \
        "$findinghub" serve --listen "127.0.0.1:$hub_port" --data-dir "$work/run-$run/data" \
        >"$work/run-$run/findinghub.log" 2>&1 &
    hub_pid=$!
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/run-$run/moto.log" 2>&1 &
    moto_pid=$!
    wait_http "http://127.0.0.1:$hub_port/healthz"
    wait_http "http://127.0.0.1:$moto_port/moto-api/"
    echo "run $run of $runs: findinghub on :$hub_port (pid $hub_pid), moto on :$moto_port (pid $moto_pid)" >&2
    FINDINGHUB_KEY_ID="$key_id" FINDINGHUB_SECRET="$secret" \
        "$py" "$repo/bench/boto3_vs_moto.py" \
        --findinghub "http://127.0.0.1:$hub_port" --moto "http://127.0.0.1:$moto_port" \
        --findinghub-pid "$hub_pid" --moto-pid "$moto_pid" \
        --json-out "$work/run-$run.json" ${pass[@]+"${pass[@]}"}
    outs+=("$work/run-$run.json")
    stop
    echo >&2
done

if [ "$runs" -gt 1 ]; then
    echo
    echo "Medians of $runs runs:"
    echo
    "$py" "$repo/bench/boto3_vs_moto.py" --summarize "${outs[@]}"
fi
