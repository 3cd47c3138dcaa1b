#!/bin/bash
# A broken config file (unknown key, bad value, binary junk, a 200 kB
# line) or a REBIND_CONFIG that names a missing file: the daemon runs
# exactly as without rebind.  It serves its clients; --report (getsockopt
# on the listener and each connection) is identical to a run without the
# shim although the file asks for linger = abort before its error; its
# stderr has exactly one line from rebind, "rebind[PID]: FILE:LINE: ...
# (rebind is disabled)" with the server's PID, the file, the line of the
# first error and what is wrong; a restart over TIME_WAIT entries left by
# an instance under a working shim fails, as it does without the shim
# (only a working bind retry could succeed there; the same restart with
# a good file is the control).  The wrapper refuses to run a command
# under a broken file: exit 125, every error as "rebind: FILE:LINE: ...".
# A control without the shim must fail its restart, else exit 99.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

N=3
GOOD="$TMP/good.conf"
printf '# a good file: the defaults\nreuseaddr = on\n' >"$GOOD"

# The broken files.  Each asks for linger = abort before its first error,
# so a library that applied part of it would show linger=1,0.
printf '%s\n' '# conf_broken.sh: an unknown key' 'linger = abort' '' \
	'[port 1-65535]' 'reuseaddr = on' 'colour = blue' '[program *]' \
	'linger = never' >"$TMP/unknown_key.conf"
printf '%s\n' '# conf_broken.sh: a bad value' 'linger = abort' \
	'reuseaddr = sometimes' 'log = info' >"$TMP/bad_value.conf"
printf 'linger = abort\nlog = info\000\001junk\376\377\n[port 80]\n' \
	>"$TMP/junk.conf"
cp "$LEGACY_SERVER" "$TMP/binary.conf" || hard_error "cp"
{
	printf 'linger = abort\nlog = '
	head -c 200000 /dev/zero | tr '\0' i
	printf '\nreuseaddr = on\n'
} >"$TMP/long_line.conf"

# CASES: NAME LINE WORD [WRAPPER_LINES]: the library's one line names
# LINE and WORD; the wrapper prints exactly WRAPPER_LINES (line numbers,
# comma-separated; "-": not counted).  LINE "-": no line number (the file
# is missing).
CASES="unknown_key:6:colour:6,8
bad_value:3:sometimes:3
junk:2:0x00:2
binary:1:0x7f:-
long_line:2:log:2
missing:-:No such file:-"

# srv CONF PORT: legacy-server --report on PORT (0: any) under the shim
# with REBIND_CONFIG=CONF; CONF "": no shim at all.
srv() {
	if [ -z "$1" ]; then
		start srv "$LEGACY_SERVER" -p "$2" -n $N --report -q
	else
		start srv env LD_PRELOAD="$SHIM_PRELOAD" REBIND_CONFIG="$1" \
			"$LEGACY_SERVER" -p "$2" -n $N --report -q
	fi
}

# serve WHAT: the server started last serves N clients and exits 0; its
# port keeps N TIME_WAIT entries.  Sets PORT, SPID (the server's pid)
# and REPORT (its --report lines).
serve() {
	local what=$1 out st
	wait_ready || fail "$what: did not start (exit $SRV_STATUS): $(cat "$SRV_ERR")"
	PORT=$SRV_PORT
	SPID=$(child_of "$SRV_PID") || hard_error "$what: cannot find the server's pid"
	out=$(clients "$PORT" $N --expect eof) ||
		fail "$what: clients failed: ${out//$'\n'/ }"
	[ "$(echo "$out" | grep -c '^ok ')" = $N ] ||
		fail "$what: want $N replies, got: ${out//$'\n'/ }"
	wait "$SRV_PID"
	st=$?
	[ $st -eq 0 ] || fail "$what: exited $st: $(cat "$SRV_ERR")"
	wait_tw "$PORT" $N ||
		fail "$what: $N connections left $(tw_count "$PORT") TIME_WAIT entries"
	REPORT=$(grep -v '^ready ' "$SRV_OUT")
}

# one_line WHAT FILE LINE WORD PID: the last server's stderr has exactly
# one line from rebind, from PID ("": any), naming FILE, LINE and WORD.
one_line() {
	local what=$1 file=$2 line=$3 word=$4 pid=$5 n got want
	n=$(grep -c 'rebind' "$SRV_ERR")
	[ "$n" = 1 ] || fail "$what: $n lines from rebind, want 1: $(cat "$SRV_ERR")"
	got=$(grep 'rebind' "$SRV_ERR")
	[ -n "$pid" ] || pid=$(echo "$got" | sed -n 's/^rebind\[\([0-9][0-9]*\)\]: .*/\1/p')
	if [ "$line" = - ]; then
		want="rebind[$pid]: $file: "
	else
		want="rebind[$pid]: $file:$line: "
	fi
	[ -n "$pid" ] && [ "${got#"$want"}" != "$got" ] ||
		fail "$what: want a line beginning '$want', got: $got"
	case $got in
	*"$word"*"(rebind is disabled)") ;;
	*) fail "$what: the line does not name '$word' or say rebind is disabled: $got" ;;
	esac
	LINE=$got
}

# Control without the shim: the report, and the restart fails.
srv "" "$(free_port)"
serve "no shim"
PLAIN_REPORT=$REPORT
[ -n "$PLAIN_REPORT" ] || hard_error "legacy-server --report printed nothing"
srv "" "$PORT"
outcome "no shim, restart"
[ "$OUTCOME" = "in use" ] ||
	hard_error "restart without the shim succeeded over TIME_WAIT: this host cannot show the problem"

# The good file works, so a broken one has something to break.
srv "$GOOD" "$(free_port)"
serve "good file"
[ "$REPORT" != "$PLAIN_REPORT" ] ||
	hard_error "the shim with a good file changes nothing: this test cannot tell"

while IFS=: read -r name line word wlines; do
	conf="$TMP/$name.conf"
	what="$name.conf"

	# Start and serve: as without the shim, and one line.
	srv "$conf" "$(free_port)"
	serve "$what"
	one_line "$what" "$conf" "$line" "$word" "$SPID"
	[ "$REPORT" = "$PLAIN_REPORT" ] ||
		fail "$what: socket options differ from a run without the shim: ${REPORT//$'\n'/ } / without: ${PLAIN_REPORT//$'\n'/ }"

	# Restart over entries that carry SO_REUSEADDR: only the library's
	# bind retry could succeed, and it must be off.
	srv "$GOOD" "$(free_port)"
	serve "$what: old instance under a good file"
	srv "$conf" "$PORT"
	outcome "$what: restart"
	[ "$OUTCOME" = "in use" ] ||
		fail "$what: the restart succeeded over TIME_WAIT: the library was active"
	one_line "$what: restart" "$conf" "$line" "$word" ""
	srv "$GOOD" "$PORT"
	outcome "$what: control restart with a good file"
	[ "$OUTCOME" = starts ] ||
		hard_error "$what: the same restart with a good file failed too, so this test cannot tell: $(cat "$SRV_ERR")"

	# The wrapper refuses to run anything under the broken file.
	rm -f "$TMP/ran"
	REBIND_CONFIG=$conf timeout 10 "$REBIND_BIN" -- touch "$TMP/ran" \
		>"$TMP/w.out" 2>"$TMP/w.err"
	st=$?
	[ "$st" = 125 ] || fail "$what: rebind -- touch: exit $st, want 125: $(head -5 "$TMP/w.err")"
	[ ! -e "$TMP/ran" ] || fail "$what: rebind ran the command under a broken file"
	[ ! -s "$TMP/w.out" ] || fail "$what: rebind wrote to stdout: $(head -5 "$TMP/w.out")"
	if [ "$line" = - ]; then
		grep -qxF "rebind: $conf: cannot open: No such file or directory" "$TMP/w.err" ||
			fail "$what: the wrapper does not name the file: $(cat "$TMP/w.err")"
	else
		grep -q "^rebind: $conf:$line: " "$TMP/w.err" ||
			fail "$what: the wrapper does not report line $line: $(head -5 "$TMP/w.err")"
	fi
	if [ "$wlines" != - ]; then
		got=$(sed -n "s|^rebind: $conf:\([0-9]*\): .*|\1|p" "$TMP/w.err" | paste -sd,)
		[ "$got" = "$wlines" ] && [ "$(wc -l <"$TMP/w.err")" -eq "$(echo "$wlines" | tr , '\n' | wc -l)" ] ||
			fail "$what: the wrapper should report lines $wlines and nothing else, got: $(cat "$TMP/w.err")"
	fi
	note "$what: ${LINE//$TMP/\$TMP}"
done <<EOF
$CASES
EOF
exit 0
