#!/bin/bash
# rebind status on a listener a real systemd manager holds: a .socket
# unit of a user manager (systemd --user) on 127.0.0.1, alone and then
# with the service it activated.  status must name systemd, say the
# restart loses no connection, and exit 0.
#
# The manager runs in a private mount namespace with a tmpfs on
# /run/systemd (it insists on /run/systemd/system, which must never be
# created on the host).  Needs root, unshare(1) and systemd; skips
# otherwise.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99
unset RB_WRAP

SYSTEMD=/lib/systemd/systemd
if [ -z "${RB_IN_NAMESPACE:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace)"
	command -v unshare >/dev/null || skip "needs unshare(1)"
	command -v systemctl >/dev/null && [ -x "$SYSTEMD" ] ||
		skip "needs systemd ($SYSTEMD) and systemctl"
	unshare -m --propagation private true 2>/dev/null ||
		skip "unshare -m is not permitted here"
	# Not exec: this shell's trap removes its own $TMP.
	RB_IN_NAMESPACE=1 timeout 240 unshare -m --propagation private \
		bash "$0" "$@"
	exit $?
fi

# --- inside the private mount namespace ---
if [ -d /run/systemd ]; then
	mount -t tmpfs rebind-test /run/systemd || hard_error "no tmpfs on /run/systemd"
else
	mount -t tmpfs rebind-test /run || hard_error "no tmpfs on /run"
fi
mkdir -p /run/systemd/system
mkdir -m 700 "$TMP/runtime"
mkdir -p "$TMP/config/systemd/user"
export XDG_RUNTIME_DIR="$TMP/runtime" XDG_CONFIG_HOME="$TMP/config"
UNITS="$TMP/config/systemd/user"

P=$(free_port)
[ "$P" != 0 ] || skip "no free port below the ephemeral range"
cat >"$UNITS/rbstatus.socket" <<EOF
[Unit]
StartLimitIntervalSec=0
[Socket]
ListenStream=127.0.0.1:$P
EOF
# The service holds the passed listener (fd 3), as a daemon would.
cat >"$UNITS/rbstatus.service" <<EOF
[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=$PYTHON3 -c 'import os, signal; os.fstat(3); signal.pause()'
EOF

timeout 120 "$SYSTEMD" --user >"$TMP/systemd.log" 2>&1 &
BOUND=$!
PIDS="$PIDS $BOUND"
MANAGER=$(child_of "$BOUND") || skip "systemd --user did not start: $(cat "$TMP/systemd.log")"
i=0
while [ $i -lt 250 ]; do
	state=$(systemctl --user is-system-running 2>/dev/null)
	case $state in running | degraded) break ;; esac
	kill -0 "$BOUND" 2>/dev/null || skip "systemd --user does not run here: $(tail -3 "$TMP/systemd.log")"
	sleep 0.04
	i=$((i + 1))
done
case $state in running | degraded) ;; *) skip "systemd --user did not come up: $state" ;; esac

systemctl --user start rbstatus.socket || hard_error "the socket unit did not start"
[ "$(tcp_count "$P" LISTEN 127.0.0.1)" = 1 ] || hard_error "no listener on 127.0.0.1:$P"

# check WHAT WANT: status 127.0.0.1:P exits 0, names systemd, and its
# verdict contains WANT; the JSON names the manager's pid.
check() {
	local out rc json
	out=$("$REBIND_BIN" status "127.0.0.1:$P" 2>&1)
	rc=$?
	[ "$rc" = 0 ] || fail "$1: exit $rc: $out"
	grep -q "^  listening: 127.0.0.1:$P, uid 0, pid $MANAGER (systemd, systemd manager)" <<<"$out" ||
		fail "$1: the manager is not named: $out"
	grep -q "^  restart: yes: systemd (pid $MANAGER) holds the listener on 127.0.0.1 $2" <<<"$out" ||
		fail "$1: expected 'holds the listener on 127.0.0.1 $2': $out"
	grep -q "loses no connection" <<<"$out" || fail "$1: no word on connections: $out"
	json=$("$REBIND_BIN" status --json "127.0.0.1:$P")
	[ "$("$PYTHON3" -c 'import json, sys
print(json.loads(sys.argv[1])["ports"][0]["listening"][0]["held_by_systemd"])' "$json")" = "$MANAGER" ] ||
		fail "$1: JSON: $json"
	note "$1: $(grep '^  restart:' <<<"$out" | cut -c3-100)..."
}

check "socket unit alone" "and no daemon does"

systemctl --user start rbstatus.service || hard_error "the service did not start"
i=0
until grep -q "pid [0-9]* (python3" <<<"$("$REBIND_BIN" status "127.0.0.1:$P")"; do
	[ $i -lt 250 ] || hard_error "the service never held the listener"
	sleep 0.04
	i=$((i + 1))
done
check "socket unit and its service" "too"

systemctl --user stop rbstatus.service rbstatus.socket
kill -TERM "$MANAGER" 2>/dev/null
wait "$BOUND" 2>/dev/null
exit 0
