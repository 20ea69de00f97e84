#!/usr/bin/env bash
# relay-http/benches/rolling-restart.sh: the operator's rolling restart, measured.
#
#   relay-http/benches/rolling-restart.sh
#
# A private nats-server, two release relay-workers behind one relay-http, and wrk with 16
# connections POSTing /relay for 20 s. Every 2 s from the start a new worker is started and,
# once relay-http's deep health counts it, the oldest one gets SIGTERM: 8 replacements. It
# prints wrk's totals (every request that did not get a 200, and every socket error or
# timeout, is a lost request) and the exit code of each stopped worker.
# Env: BIN (a folder with other builds of both binaries, to compare), CONNECTIONS (16), DURATION (20), REPLACEMENTS (8), EVERY (2 s), WORKER_LOG_LEVEL (warn).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -x /usr/sbin/nats-server ]] && PATH="$PATH:/usr/sbin"

CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-20}
REPLACEMENTS=${REPLACEMENTS:-8}
EVERY=${EVERY:-2}
WORKER_LOG_LEVEL=${WORKER_LOG_LEVEL:-warn}
SCRIPT=relay-http/benches/relay.lua

source relay-http/benches/common.sh

WORKERS=()
start_worker() {
    LOG_LEVEL=$WORKER_LOG_LEVEL "$BIN/relay-worker" >>"$TMP/workers.log" 2>&1 &
    WORKERS+=("$!")
    PIDS+=("$!")
}
start_worker
start_worker
LOG_LEVEL=warn HOST=127.0.0.1 PORT=0 "$BIN/relay-http" >"$TMP/http.log" 2>&1 &
PIDS+=("$!")
sleep 0.2
# relay-http logs its address at INFO only; ask the kernel instead.
HTTP_PID=${PIDS[-1]}
for _ in $(seq 100); do
    ADDRESS=$(ss -ltnp 2>/dev/null | awk -v pid="pid=$HTTP_PID," '$0 ~ pid {print $4}' | head -1)
    [[ -n $ADDRESS ]] && break
    sleep 0.1
done
URL="http://$ADDRESS"

workers_up() {
    curl -s "$URL/health?deep=true" | sed -n 's/.*"workers":\([0-9]*\).*/\1/p'
}
for _ in $(seq 100); do [[ "$(workers_up)" == 2 ]] && break; sleep 0.1; done

wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 15s --latency -s "$SCRIPT" "$URL/relay" >"$TMP/wrk.txt" 2>&1 &
WRK_PID=$!

EXITS=()
for n in $(seq "$REPLACEMENTS"); do
    sleep "$EVERY"
    start_worker
    for _ in $(seq 100); do [[ "$(workers_up)" -ge 3 ]] && break; sleep 0.05; done
    old=${WORKERS[0]}
    WORKERS=("${WORKERS[@]:1}")
    kill -TERM "$old"
    status=0
    wait "$old" || status=$?
    EXITS+=("$status")
    echo "replacement $n: worker $old exited $status"
done
wait "$WRK_PID"

cat "$TMP/wrk.txt"
requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$TMP/wrk.txt")
non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$TMP/wrk.txt")
socket=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$TMP/wrk.txt")
lost=$(( ${non2xx:-0} + $(echo "${socket:-0 0 0 0}" | awk '{print $1+$2+$3+$4}') ))
echo "requests: $requests, lost (non-2xx + socket errors): $lost, replacements: $REPLACEMENTS, worker exit codes: ${EXITS[*]}"
