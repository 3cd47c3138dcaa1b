# Zero refused connections across systemctl restart (issue 12): with
# REBIND_HOLD=systemd the listener waits in systemd's fd store while
# the daemon restarts, and the new instance claims it at bind().
# A load client connects about every millisecond during 10 restarts of
# the legacy server, a Python socketserver daemon and a Perl
# IO::Socket::INET daemon: nothing refused, reset or timed out.  The
# control, the legacy server without hold, must refuse connections.

. "$srcdir/tests/integration/systemd_lib.sh"
. "$srcdir/tests/integration/systemd_hold_lib.sh"

# Daemons under the ASan runtime start too slowly for the load client's
# 3 s timeout; systemd_hold_cases.sh runs the hold code under it.
[ -z "${SANITIZER_RUNTIME:-}" ] ||
	skip "daemons under the sanitizer runtime start too slowly for the 3 s client timeout"

sd_manager_start

# run_case LABEL HOLD HOST PORT CMD...: 10 restarts under load.  With
# hold, the daemon listens on the very socket it started with (so its
# queue was never thrown away) and systemd holds one descriptor.
run_case() {
	local label=$1 hold=$2 host=$3 port=$4 ino0 ino1
	shift 4
	daemon_unit "$label.service" "$hold" "" "$@"
	sctl start "$label.service" || fail "$label: start failed"
	wait_serves "$host" "$port" "$label"
	ino0=$(listener_inode "$(sd_main_pid "$label.service")" "$port")
	load_start "$host" "$port"
	restarts "$label.service" 10 "$host" "$port"
	load_stop
	ino1=$(listener_inode "$(sd_main_pid "$label.service")" "$port")
	if [ "$hold" = systemd ]; then
		load_clean "$label, 10 restarts" 10
		[ -n "$ino0" ] && [ "$ino0" = "$ino1" ] ||
			fail "$label: listener socket '$ino0' at start, '$ino1' after 10 restarts"
		[ "$(store_count "$label.service")" = 1 ] ||
			fail "$label: systemd holds $(store_count "$label.service") descriptors, not 1"
	fi
	sctl stop "$label.service"
}

# (a) control: without hold a restart refuses connections.
port=$(free_port)
run_case control no 127.0.0.1 "$port" "$LEGACY_SERVER" -q -p "$port"
note "control (no hold): $LOAD"
[ "$(load_get refused)" -gt 0 ] ||
	hard_error "10 restarts without hold refused nothing: this host cannot show the problem ($LOAD)"

# (b) the same daemon with hold.
port=$(free_port)
run_case legacy systemd 127.0.0.1 "$port" "$LEGACY_SERVER" -q -p "$port"

port=$(free_port)
run_case python systemd 127.0.0.1 "$port" "$PYTHON3" "$PY_DAEMON" 127.0.0.1 "$port"

port=$(free_port)
run_case perl systemd 127.0.0.1 "$port" /usr/bin/perl "$PERL_DAEMON" 127.0.0.1 "$port"
exit 0
