# Shared by the restart_*.sh tests: sourced after lib.sh, never run.
# The test sets SERVER (the daemon's command line, without -p) and HOST,
# then calls case_run: a control without the shim that must fail, then
# LD_PRELOAD and the wrapper, which must restart twice.

N=3 # connections per instance: each leaves one TIME_WAIT entry

# srv_start MODE NAME PORT: start the server under test on PORT in MODE
# (plain, preload, wrapper).  LD_PRELOAD reaches the server only, never
# timeout(1) or the clients.
srv_start() {
	case $1 in
	plain) start "$2" "${SERVER[@]}" -p "$3" ;;
	preload) start "$2" env LD_PRELOAD="$SHIM_PRELOAD" "${SERVER[@]}" -p "$3" ;;
	wrapper) start "$2" "$REBIND_BIN" -- "${SERVER[@]}" -p "$3" ;;
	*) hard_error "bad mode $1" ;;
	esac
}

# instance MODE PORT WHAT: start on PORT (0: any), require it to listen
# there, serve N clients, see their TIME_WAIT entries on the port, stop.
# Sets P to the port.
instance() {
	local mode=$1 want=$2 what=$3 tw0 out
	srv_start "$mode" "$mode" "$want"
	wait_ready || fail "$what: did not start (exit $SRV_STATUS): $(cat "$SRV_ERR")"
	[ "$want" = 0 ] || [ "$SRV_PORT" = "$want" ] ||
		fail "$what: listens on port $SRV_PORT, not $want"
	P=$SRV_PORT
	tw0=$(tw_count "$P")
	out=$(clients "$P" "$N" --host "$HOST" --expect eof) ||
		fail "$what: clients failed: ${out//$'\n'/ }"
	[ "$(echo "$out" | grep -c '^ok ')" = "$N" ] ||
		fail "$what: expected $N replies, got: ${out//$'\n'/ }"
	wait_tw "$P" $((tw0 + N)) ||
		fail "$what: $N connections left $(tw_count "$P") TIME_WAIT entries on port $P (had $tw0)"
	stop
	if [ "$mode" != plain ] && grep -q '^rebind\[' "$SRV_ERR"; then
		fail "$what: rebind printed at the default log level: $(grep '^rebind\[' "$SRV_ERR")"
	fi
}

# case_run LABEL: the three runs for the server in SERVER on HOST.
case_run() {
	local label=$1 mode first

	# (a) control: without the shim the restart must fail.
	instance plain "$(free_port)" "$label, no shim"
	srv_start plain plain-again "$P"
	outcome "$label: restart without the shim" hard_error
	[ "$OUTCOME" = "in use" ] ||
		hard_error "$label: restart without the shim succeeded on port $P although $(tw_count "$P") TIME_WAIT entries were there: this host cannot show the problem"
	note "$label: without the shim the restart failed as expected: $(grep 'in use' "$SRV_ERR")"

	# (b) LD_PRELOAD, (c) the wrapper: first start, then two restarts.
	for mode in preload wrapper; do
		instance "$mode" "$(free_port)" "$label, $mode, first start"
		first=$P
		instance "$mode" "$first" "$label, $mode, first restart"
		instance "$mode" "$first" "$label, $mode, second restart"
		note "$label: $mode: restarted twice on port $first over TIME_WAIT"
	done
}
