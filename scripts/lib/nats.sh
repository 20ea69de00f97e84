# scripts/lib/nats.sh: what scripts/run needs to know about a NATS server before it uses one
# (sourced, not run): whether one answers at a host and port, its version and JetStream from
# the INFO line it greets every client with, whether it can hold the bot's state, and a free
# local port for a server of our own.

# The INFO line the server at host:port greets a client with (nothing when none answers).
nats_info() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -n 1 <&3' "$1" "$2" 2>/dev/null || true
}

# True when a NATS server answers at host:port.
nats_answers() {
    [[ $(nats_info "$1" "$2") == INFO* ]]
}

# Why the server at host:port cannot hold the bot's ticket state, as the end of a sentence
# ("is nats-server 2.9.10", "has no JetStream"); nothing when it can: JetStream on, and
# nats-server 2.10 or newer (the key-value and object stores of async-nats 0.51 need it).
nats_unfit() {
    local info version major minor
    info=$(nats_info "$1" "$2")
    [[ $info == INFO* ]] || { echo "does not answer"; return; }
    version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' <<<"$info")
    IFS=. read -r major minor _ <<<"$version"
    if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]]; then
        echo "gives no version"
    elif ((major < 2 || (major == 2 && minor < 10))); then
        echo "is nats-server $version"
    elif ! grep -q '"jetstream": *true' <<<"$info"; then
        echo "has no JetStream"
    fi
}

# The first port from $1 up (at most 100 tried) that nothing on 127.0.0.1 listens on.
free_port() {
    local port
    for ((port = $1; port < $1 + 100; port++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}
