#!/usr/bin/env bash
# relay-http/benches/http-bench.sh: measures the HTTP sidecar with wrk.
#
#   relay-http/benches/http-bench.sh
#
# Builds the release binaries, starts a private nats-server on a free port (never the shared
# one), one release relay-worker and one release relay-http on a free port, then runs wrk
# against GET /health and POST /relay back to back (same server, same settings) and prints
# requests/s, p50 and p99 of each, their ratio, and relay-http's resident memory (VmRSS, the
# highest sample taken every 0.5 s under load), each process's CPU per request and the share
# of the run the whole machine was idle (a route that leaves the cores idle is bound by its
# hand-offs between processes, not by CPU), and each process's time per request spent waiting
# for a core (runnable while the others ran). Fails if any request got a non-2xx answer.
#
# One pair of runs swings by a tenth either way on a shared 2-core machine, and whichever of
# the two runs first tends to lose, so the pair is repeated ROUNDS times, the order swapped
# each round, and the median of the rounds' ratios is the figure.
#
# Settings (environment): CONNECTIONS (64), DURATION (10s, each run), ROUNDS (4: each order
# twice), THREADS (2), WORKER_LOG_LEVEL (info, as in production: one line per request),
# RELAY_FIRST=1 to measure /relay first in the first round, BIN to measure other builds of both
# binaries (a folder holding them), RELAY_HTTP_BIN to measure another build of relay-http
# alone. relay-http logs at info (no line per successful request at that level).
# Needs nats-server, wrk and curl (Debian: apt-get install -y nats-server wrk curl).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
WORKER_LOG_LEVEL=${WORKER_LOG_LEVEL:-info}
ROUNDS=${ROUNDS:-4}
RELAY_FIRST=${RELAY_FIRST:-0}
SCRIPT=relay-http/benches/relay.lua

[[ -x /usr/sbin/nats-server ]] && PATH="$PATH:/usr/sbin"
source relay-http/benches/common.sh

LOG_LEVEL=$WORKER_LOG_LEVEL "$BIN/relay-worker" >"$TMP/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
LOG_LEVEL=info HOST=127.0.0.1 PORT=0 "${RELAY_HTTP_BIN:-$BIN/relay-http}" >"$TMP/http.log" 2>&1 &
HTTP_PID=$!
PIDS+=("$HTTP_PID")
wait_for_line "$TMP/http.log" "HTTP sidecar listening"
ADDRESS=$(sed -n 's/.*HTTP sidecar listening address=\([0-9.:]*\).*/\1/p' "$TMP/http.log" | head -1)
URL="http://$ADDRESS"

BODY=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$SCRIPT")
for _ in $(seq 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d "$BODY" "$URL/relay" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
done
[ "$code" = 200 ] || { echo "relay never answered 200 (last: $code)" >&2; cat "$TMP/http.log" >&2; exit 1; }

# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Nanoseconds a process's threads have spent runnable but waiting for a core so far (the second
# field of each thread's schedstat; 0 where the kernel keeps no schedstat).
waited_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $2 } END { print t + 0 }'; }
# The whole machine's idle and total clock ticks so far ("idle total", from /proc/stat).
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $5 + $6, t }' /proc/stat; }

# Runs wrk on PATH (extra wrk args after it), sampling relay-http's VmRSS meanwhile.
measure() {
    local name=$1 path=$2; shift 2
    local rss_file="$TMP/$name.rss"
    : >"$rss_file"
    ( while kill -0 "$HTTP_PID" 2>/dev/null; do
          awk '/^VmRSS/ {print $2}' "/proc/$HTTP_PID/status" >>"$rss_file"; sleep 0.5
      done ) &
    local sampler=$!
    local http0 worker0 nats0
    http0=$(cpu_ticks "$HTTP_PID"); worker0=$(cpu_ticks "$WORKER_PID"); nats0=$(cpu_ticks "$NATS_PID")
    local waits0
    waits0="$(waited_ns "$HTTP_PID") $(waited_ns "$WORKER_PID") $(waited_ns "$NATS_PID")"
    local machine0 machine1
    machine0=$(machine_ticks)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$URL$path" >"$TMP/$name.wrk"
    local http1 worker1 nats1
    http1=$(cpu_ticks "$HTTP_PID"); worker1=$(cpu_ticks "$WORKER_PID"); nats1=$(cpu_ticks "$NATS_PID")
    local waits1
    waits1="$(waited_ns "$HTTP_PID") $(waited_ns "$WORKER_PID") $(waited_ns "$NATS_PID")"
    machine1=$(machine_ticks)
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    if grep -q "Non-2xx" "$TMP/$name.wrk" || grep -q "Socket errors" "$TMP/$name.wrk"; then
        echo "$name: errors during the run:" >&2
        cat "$TMP/$name.wrk" >&2
        exit 1
    fi
    local rps p50 p99 rss
    rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/$name.wrk")
    p50=$(awk '$1 == "50%" {print $2}' "$TMP/$name.wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$TMP/$name.wrk")
    rss=$(sort -n "$rss_file" | tail -1)
    printf '%-8s %12s req/s   p50 %-9s p99 %-9s relay-http VmRSS max %s kB\n' \
        "$name" "$rps" "$p50" "$p99" "$rss"
    # CPU per request is steadier than requests/s on a machine shared with other work.
    local requests hz
    requests=$(awk '/requests in/ {print $1}' "$TMP/$name.wrk")
    hz=$(getconf CLK_TCK)
    awk -v n="$requests" -v hz="$hz" -v h=$((http1 - http0)) -v w=$((worker1 - worker0)) -v s=$((nats1 - nats0)) \
        -v idle="$machine0 $machine1" \
        'BEGIN { f = 1e6 / hz / n; split(idle, m, " ")
                 printf "         CPU per request: relay-http %.1f us, relay-worker %.1f us, nats-server %.1f us; machine idle %.0f%%\n", h * f, w * f, s * f, 100 * (m[3] - m[1]) / (m[4] - m[2]) }'
    # Time runnable but not running: on a shared machine, a process that waits for a core while
    # the others run is slowed by them, not by its own code.
    awk -v n="$requests" -v w="$waits0 $waits1" \
        'BEGIN { split(w, t, " ")
                 printf "         waited for a core per request: relay-http %.1f us, relay-worker %.1f us, nats-server %.1f us\n", (t[4] - t[1]) / 1e3 / n, (t[5] - t[2]) / 1e3 / n, (t[6] - t[3]) / 1e3 / n }'
    eval "${name#/}_rps=$rps"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, relay-http at $URL, one relay-worker, nats-server :$NATS_PORT, worker LOG_LEVEL=$WORKER_LOG_LEVEL, $ROUNDS rounds"
ratios=()
for round in $(seq "$ROUNDS"); do
    echo "round $round"
    if (( (round + RELAY_FIRST) % 2 == 0 )); then
        measure relay /relay -s "$SCRIPT"
        measure health /health
    else
        measure health /health
        measure relay /relay -s "$SCRIPT"
    fi
    ratio=$(awk -v r="$relay_rps" -v h="$health_rps" 'BEGIN { printf "%.2f", r / h }')
    ratios+=("$ratio")
    echo "ratio    /relay is $ratio of /health"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "ratio    median of ${ROUNDS} rounds: /relay is $median of /health (rounds: ${ratios[*]}; target >= 0.50)"
echo "relay-http VmRSS idle after the runs: $(awk '/^VmRSS/ {print $2}' "/proc/$HTTP_PID/status") kB"
