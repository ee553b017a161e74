#!/bin/sh
# Three Tributary nodes on loopback, for `make cluster` / `make cluster-stop`.
#
#   node  kafka  raft  http  data
#   1     9092   9093  8080  ./data/node-1
#   2     9094   9095  8081  ./data/node-2
#   3     9096   9097  8082  ./data/node-3
#
# Each node writes its output to ./data/node-N/tributary.log and its pid to
# ./data/node-N/tributary.pid. `start` returns once every node answers
# /readyz (the raft quorum elected a controller and every broker registered).
# `stop` sends SIGTERM (a controlled shutdown: leaderships move away first)
# and waits for each process to exit.
set -eu

BIN=${BIN:-bin/tributary}
DATA=${DATA:-./data}
HOST=${HOST:-localhost}
PEERS="1@$HOST:9093,2@$HOST:9095,3@$HOST:9097"

kafka_port() { echo $((9090 + 2 * $1)); }
raft_port() { echo $((9091 + 2 * $1)); }
http_port() { echo $((8079 + $1)); }

running() {
	pidfile=$DATA/node-$1/tributary.pid
	[ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

ready() {
	url=http://$HOST:$(http_port "$1")/readyz
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null
	else
		wget -q -O /dev/null -T 1 "$url" 2>/dev/null
	fi
}

start() {
	[ -x "$BIN" ] || { echo "cluster: $BIN not found; run make build" >&2; exit 1; }
	for n in 1 2 3; do
		dir=$DATA/node-$n
		mkdir -p "$dir"
		if running "$n"; then
			echo "node $n already running (pid $(cat "$dir/tributary.pid"))"
			continue
		fi
		"$BIN" serve --node-id "$n" --data-dir "$dir" \
			--listeners "$HOST:$(kafka_port "$n")" --http-addr "$HOST:$(http_port "$n")" \
			--cluster-raft-addr "$HOST:$(raft_port "$n")" --cluster-peers "$PEERS" \
			>>"$dir/tributary.log" 2>&1 &
		echo $! >"$dir/tributary.pid"
		echo "node $n: kafka $HOST:$(kafka_port "$n"), raft $HOST:$(raft_port "$n"), http $HOST:$(http_port "$n"), pid $!"
	done
	# Bounded wait: 120 tries of half a second per node at most.
	for n in 1 2 3; do
		tries=0
		until ready "$n"; do
			if ! running "$n"; then
				echo "node $n exited; see $DATA/node-$n/tributary.log:" >&2
				tail -20 "$DATA/node-$n/tributary.log" >&2
				exit 1
			fi
			tries=$((tries + 1))
			if [ "$tries" -ge 120 ]; then
				echo "node $n not ready after 60s; see $DATA/node-$n/tributary.log" >&2
				exit 1
			fi
			sleep 0.5
		done
	done
	echo "cluster ready: --bootstrap $HOST:9092,$HOST:9094,$HOST:9096 (status: $BIN cluster status --bootstrap $HOST:9092 --raft-addr $HOST:9093)"
}

stop() {
	for n in 1 2 3; do
		pidfile=$DATA/node-$n/tributary.pid
		if running "$n"; then
			kill -TERM "$(cat "$pidfile")"
		fi
	done
	for n in 1 2 3; do
		pidfile=$DATA/node-$n/tributary.pid
		[ -f "$pidfile" ] || continue
		tries=0
		while running "$n"; do
			tries=$((tries + 1))
			if [ "$tries" -ge 120 ]; then
				echo "node $n still running 60s after SIGTERM; sending SIGKILL" >&2
				kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
				break
			fi
			sleep 0.5
		done
		rm -f "$pidfile"
		echo "node $n stopped"
	done
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
