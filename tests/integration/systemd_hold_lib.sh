# Shared by the systemd_hold_*.sh tests (bash): sourced after
# systemd_lib.sh, never run.  A daemon runs as a unit of the private
# user manager; a load client connects about every millisecond while
# the test restarts, kills or moves it.

LOAD_CLIENT="$PROBES/load_client"
PY_DAEMON="$srcdir/tests/integration/sd_daemons.py"
PERL_DAEMON="$srcdir/tests/integration/sd_daemon.pl"

# daemon_unit UNIT HOLD EXTRA CMD...: write UNIT (a .service) running
# CMD under the shim; HOLD is "systemd" or "no" (then no fd store
# either).  EXTRA: more [Service] lines (may be empty).  A sanitizer
# build's ASAN_OPTIONS reach the service too (the manager does not pass
# the test's environment on).
daemon_unit() {
	local unit=$1 hold=$2 extra=$3 store=""
	shift 3
	[ "$hold" = systemd ] && store="FileDescriptorStoreMax=8"
	sd_write_unit "$unit" <<EOT
[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=$*
Environment=LD_PRELOAD=$SHIM_PRELOAD REBIND_HOLD=$hold
${ASAN_OPTIONS:+Environment=ASAN_OPTIONS=$ASAN_OPTIONS}
StandardOutput=append:$TMP/$unit.out
StandardError=append:$TMP/$unit.err
$store
$extra
EOT
}

# serves HOST PORT: one request gets a reply within 5 s.
serves() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && echo hi >&3 &&
		IFS= read -r line <&3 && [ -n "$line" ]' _ "$1" "$2" 2>/dev/null
}

# wait_serves HOST PORT WHAT: poll until the daemon serves (10 s).
wait_serves() {
	local i=0
	while [ $i -lt 100 ]; do
		serves "$1" "$2" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "$3: nothing serves $1 port $2 within 10 s: $(cat "$TMP"/*.err 2>/dev/null | tail -5)"
}

# load_start HOST PORT: the load client, in the background (at most
# 90 s); waits until it runs.
load_start() {
	LOAD_OUT="$TMP/load.$RANDOM.out"
	timeout 90 "$LOAD_CLIENT" "$1" "$2" 1000 80 >"$LOAD_OUT" &
	LOAD_PID=$!
	PIDS="$PIDS $LOAD_PID"
	local i=0
	while ! grep -q started "$LOAD_OUT" && [ $i -lt 100 ]; do
		sleep 0.02
		i=$((i + 1))
	done
}

# load_stop: stop the client; LOAD holds its summary line, and
# load_get NAME reads one count from it.
load_stop() {
	kill -TERM "$LOAD_PID" 2>/dev/null
	wait "$LOAD_PID"
	LOAD=$(grep '^ok ' "$LOAD_OUT")
	[ -n "$LOAD" ] || hard_error "the load client said nothing"
}
load_get() {
	echo "$LOAD" | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'
}

# load_clean WHAT KILLS: no connection refused, reset or timed out.
# "lost" ones (the request sent, no reply) are the daemon's own loss
# when it is killed after accept() and before it answers: with one
# connection at a time there is at most one per kill.  That no queue
# was thrown away, the tests show by the listener's inode.
load_clean() {
	note "$1: $LOAD"
	[ "$(load_get ok)" -gt 0 ] || fail "$1: no connection served: $LOAD"
	for k in refused reset timeout other; do
		[ "$(load_get $k)" = 0 ] || fail "$1: $k connections: $LOAD"
	done
	[ "$(load_get lost)" -le "$2" ] ||
		fail "$1: more connections lost than kills ($2): $LOAD"
}

# restarts UNIT N HOST PORT: systemctl restart N times; after each the
# daemon serves again before the next.
restarts() {
	local i=0
	while [ $i -lt "$2" ]; do
		sctl restart "$1" || fail "restart $1 failed"
		wait_serves "$3" "$4" "$1 after restart $((i + 1))"
		i=$((i + 1))
	done
}

# listener_inode PID PORT: the socket inode of PID's listener on PORT.
listener_inode() {
	local ino
	ino=$(awk -v p="$(printf '%04X' "$2")" '$4 == "0A" && $2 ~ (":" p "$") { print $10 }' \
		/proc/net/tcp /proc/net/tcp6 | head -1)
	[ -n "$ino" ] && ls -l /proc/"$1"/fd 2>/dev/null | grep -q "socket:\[$ino\]" &&
		echo "$ino"
}

# store_count UNIT: descriptors in UNIT's fd store.
store_count() {
	sd_prop "$1" NFileDescriptorStore
}
