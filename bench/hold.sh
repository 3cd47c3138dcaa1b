#!/bin/bash
# What a restart costs the clients, without and with hold = systemd
# (issue 12): a client connects about every millisecond, one connection
# at a time, while a private systemd user manager restarts the legacy
# server BENCH_HOLD_RESTARTS times (default 10).  Per restart: refused
# and reset connections ("lost": accepted by the old instance, which
# was killed before it answered); the slowest connection of the run.
# bench/run.sh runs it last.  Needs root and systemd; says why not
# otherwise (exit 77).
#
# Environment: BENCH_BUILDDIR (the build), BENCH_SRCDIR (the sources).

B=${BENCH_BUILDDIR:?set by make bench}
export LIBREBIND="$B/.libs/librebind.so" REBIND_BIN="$B/rebind" \
	LEGACY_SERVER="$B/legacy-server" PROBES="$B/tests/integration" \
	srcdir="${BENCH_SRCDIR:?set by make bench}" PYTHON3=python3
. "$srcdir/tests/integration/systemd_lib.sh"
. "$srcdir/tests/integration/systemd_hold_lib.sh"

N=${BENCH_HOLD_RESTARTS:-10}
sd_manager_start
printf '%-34s %10s %10s %10s %12s\n' "restart under load ($N restarts)" \
	refused/r reset/r lost/r worst_ms
for hold in no systemd; do
	port=$(free_port)
	daemon_unit "bench-$hold.service" "$hold" "" "$LEGACY_SERVER" -q -p "$port"
	sctl start "bench-$hold.service" || hard_error "bench-$hold did not start"
	wait_serves 127.0.0.1 "$port" "bench-$hold"
	load_start 127.0.0.1 "$port"
	restarts "bench-$hold.service" "$N" 127.0.0.1 "$port"
	load_stop
	sctl stop "bench-$hold.service"
	awk -v n="$N" -v h="legacy-server, hold = $hold" \
		-v r="$(load_get refused)" -v s="$(load_get reset)" \
		-v l="$(load_get lost)" -v m="$(load_get max_ms)" \
		'BEGIN { printf "%-34s %10.1f %10.1f %10.1f %12d\n", h, r / n, s / n, l / n, m }'
done
exit 0
