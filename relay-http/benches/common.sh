# relay-http/benches/common.sh: what the bench scripts share (sourced, not run): the tools
# they need, release binaries, a scratch folder and the processes to stop on exit, and a
# private nats-server on a free port (NATS_URL is exported).

for tool in nats-server wrk curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y $tool)" >&2; exit 1; }
done
# BIN: a folder with other builds of relay-worker and relay-http, to compare; else build ours.
if [[ -z ${BIN:-} ]]; then
    cargo build --release -q -p relay-worker -p relay-http --bins
    BIN=${CARGO_TARGET_DIR:-target}/release
fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# Waits until FILE has a line matching PATTERN, for at most 20 s.
wait_for_line() {
    local file=$1 pattern=$2
    for _ in $(seq 200); do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$pattern' in $file:" >&2
    cat "$file" >&2
    exit 1
}

nats-server -a 127.0.0.1 -p -1 2>"$TMP/nats.log" &
NATS_PID=$!
PIDS+=("$NATS_PID")
wait_for_line "$TMP/nats.log" "Server is ready"
NATS_PORT=$(sed -n 's/.*Listening for client connections on .*:\([0-9]*\)$/\1/p' "$TMP/nats.log" | head -1)
export NATS_URL="nats://127.0.0.1:$NATS_PORT"
