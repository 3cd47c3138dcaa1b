#!/bin/bash
# A bad value in a REBIND_* variable: the host program serves as usual,
# its stderr has exactly one line from rebind ("rebind[PID]: ", PID the
# server's) naming the variable and the value, and the library changes
# nothing: no option set at listen() (checked with getsockopt() through
# legacy-server --report), and a restart over TIME_WAIT fails as it does
# without the shim, even where the old instance ran under a working shim
# (so a working bind retry would have succeeded).  With REBIND_LOG=off:
# no line at all.  The wrapper: an invalid --linger exits 125 with one
# line naming --linger, and does not run the command.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

N=3
HOST=127.0.0.1
BAD="REBIND_LINGER=sometimes REBIND_PORTS=80- REBIND_PORTS=70000 REBIND_REUSEADDR=maybe"

# srv ENV...: start legacy-server --report with the ENV assignments on PORT
# (global, 0: any).  "" as the only ENV: no shim at all.
srv() {
	if [ "$1" = "" ]; then
		start srv "$LEGACY_SERVER" -a "$HOST" --report -p "$PORT"
	else
		start srv env "$@" "$LEGACY_SERVER" -a "$HOST" --report -p "$PORT"
	fi
}

# serve_stop WHAT: the server started last is up on PORT: N clients, their
# TIME_WAIT entries, stop.  Sets SPID (the server's pid) and REPORT (its
# stdout without the ready line, the port replaced by P).
serve_stop() {
	local what=$1 tw0 out
	wait_ready || fail "$what: did not start (exit $SRV_STATUS): $(cat "$SRV_ERR")"
	[ "$PORT" = 0 ] || [ "$SRV_PORT" = "$PORT" ] || fail "$what: listens on $SRV_PORT, not $PORT"
	SPID=$(child_of "$SRV_PID") || hard_error "$what: cannot find the server's pid"
	tw0=$(tw_count "$SRV_PORT")
	out=$(clients "$SRV_PORT" "$N" --host "$HOST" --expect eof) ||
		fail "$what: clients failed: ${out//$'\n'/ }"
	[ "$(echo "$out" | grep -c '^ok ')" = "$N" ] ||
		fail "$what: expected $N replies, got: ${out//$'\n'/ }"
	wait_tw "$SRV_PORT" $((tw0 + N)) ||
		fail "$what: $N connections left $(tw_count "$SRV_PORT") TIME_WAIT entries (had $tw0)"
	stop
	REPORT=$(grep -v '^ready ' "$SRV_OUT")
}

# must_not_start WHAT: the server started last must exit 2 with "Address
# already in use".
must_not_start() {
	outcome "$1"
	[ "$OUTCOME" = "in use" ] || fail "$1: the restart on port $PORT succeeded"
}

# one_line WHAT VAR VALUE PID: the last server's stderr has exactly one
# line from rebind, from PID (any pid when empty), naming VAR and VALUE.
one_line() {
	local what=$1 var=$2 val=$3 pid=${4:-[0-9][0-9]*} lines
	lines=$(grep -c 'rebind' "$SRV_ERR")
	[ "$lines" = 1 ] || fail "$what: $lines lines from rebind, want 1: $(cat "$SRV_ERR")"
	line=$(grep 'rebind' "$SRV_ERR")
	echo "$line" | grep -q "^rebind\[$pid\]: " ||
		fail "$what: line does not begin 'rebind[PID]: ' (server pid ${4:-?}): $line"
	echo "$line" | grep -qF -- "$var" && echo "$line" | grep -qF -- "$val" ||
		fail "$what: line does not name $var and '$val': $line"
}

# Control, without the shim: the report, and a restart over TIME_WAIT
# fails (else this host cannot show what the library must not change).
PORT=$(free_port)
srv ""
serve_stop "no shim"
PLAIN_REPORT=$REPORT
[ -n "$PLAIN_REPORT" ] || hard_error "legacy-server --report printed nothing"
PORT=$SRV_PORT
srv ""
outcome "restart without the shim" hard_error
[ "$OUTCOME" = "in use" ] ||
	hard_error "restart without the shim succeeded over TIME_WAIT: this host cannot show the problem"

for kv in $BAD; do
	var=${kv%%=*} val=${kv#*=}

	# Start, serve, restart: everything as without the shim.
	PORT=$(free_port)
	srv LD_PRELOAD="$SHIM_PRELOAD" "$kv"
	serve_stop "$kv"
	one_line "$kv, first start" "$var" "$val" "$SPID"
	[ "$REPORT" = "$PLAIN_REPORT" ] ||
		fail "$kv: socket options differ from a run without the shim: ${REPORT//$'\n'/ } / without: ${PLAIN_REPORT//$'\n'/ }"
	PORT=$SRV_PORT
	srv LD_PRELOAD="$SHIM_PRELOAD" "$kv"
	must_not_start "$kv, restart"
	one_line "$kv, restart" "$var" "$val"

	# The old instance under a working shim: only a working bind retry in
	# the new one could succeed, and the library must be off there.
	PORT=$(free_port)
	srv LD_PRELOAD="$SHIM_PRELOAD"
	serve_stop "$kv, old instance under a working shim"
	PORT=$SRV_PORT
	srv LD_PRELOAD="$SHIM_PRELOAD" "$kv"
	must_not_start "$kv, restart over a working shim's TIME_WAIT"
	one_line "$kv, restart over a working shim's TIME_WAIT" "$var" "$val"
	srv LD_PRELOAD="$SHIM_PRELOAD"
	serve_stop "$kv, the same restart with a working shim (control)"

	# REBIND_LOG=off: not a word, still nothing changed.
	PORT=$(free_port)
	srv LD_PRELOAD="$SHIM_PRELOAD" REBIND_LOG=off "$kv"
	serve_stop "$kv, REBIND_LOG=off"
	! grep -q 'rebind' "$SRV_ERR" ||
		fail "$kv, REBIND_LOG=off: rebind printed: $(grep rebind "$SRV_ERR")"
	[ "$REPORT" = "$PLAIN_REPORT" ] ||
		fail "$kv, REBIND_LOG=off: socket options differ from a run without the shim: ${REPORT//$'\n'/ }"
	note "$kv: disabled as it should be: $line"
done

# The wrapper checks its options with the same parser: exit 125.
timeout 10 "$REBIND_BIN" --linger=sometimes -- touch "$TMP/ran" \
	>"$TMP/w.out" 2>"$TMP/w.err"
st=$?
[ "$st" = 125 ] || fail "rebind --linger=sometimes: exit $st, want 125: $(cat "$TMP/w.err")"
[ ! -e "$TMP/ran" ] || fail "rebind --linger=sometimes ran the command"
[ ! -s "$TMP/w.out" ] || fail "rebind --linger=sometimes wrote to stdout: $(cat "$TMP/w.out")"
[ "$(wc -l <"$TMP/w.err")" = 1 ] ||
	fail "rebind --linger=sometimes: want one line on stderr, got: $(cat "$TMP/w.err")"
grep -qF -- '--linger' "$TMP/w.err" ||
	fail "rebind --linger=sometimes: the line does not name --linger: $(cat "$TMP/w.err")"
note "wrapper: exit 125: $(cat "$TMP/w.err")"
exit 0
