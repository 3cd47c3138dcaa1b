#!/bin/bash
# Programs that are not daemons must not notice the library: each command
# below runs without the shim, under LD_PRELOAD with the default policy,
# and under LD_PRELOAD with REBIND_LOG=debug; stdout, stderr and the exit
# status must be identical.  The one command that opens a listening
# socket (marked net:) may, at REBIND_LOG=debug only, carry the library's
# own "rebind[PID]: " lines on stderr (info lines are documented there);
# everything else must still be identical.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

# A small fixed tree, with fixed times so ls -l and tar -tv agree.
T=$TMP/tree
mkdir -p "$T/sub/deeper" || hard_error "mkdir $T"
printf 'alpha\nbeta\n' >"$T/a.txt"
seq 1 500 >"$T/sub/numbers"
printf 'x%.0s' $(seq 1 3000) >"$T/sub/deeper/x"
ln -s a.txt "$T/link"
find "$T" -exec touch -h -d '2020-01-02 03:04:05 UTC' {} + ||
	hard_error "touch $T"
export T PYTHON3

CMDS=(
	'ls -l "$T" "$T/sub"'
	'ls -la /usr'
	'awk "BEGIN { srand(7); for (i = 0; i < 3000; i++) print int(rand() * 100000) }" | sort -n | uniq -c | sort -k1,1nr -k2,2n | head -20'
	'seq 200 | sort -r | head -5; printf "b\na\nc\n" | sort'
	'{ echo out; echo err >&2; } 2>&1 >/dev/null | tr a-z A-Z; seq 5 >"$TMP_W/f"; wc -l <"$TMP_W/f"; exec 3>"$TMP_W/g"; echo three >&3; exec 3>&-; cat "$TMP_W/g"; echo to-stderr >&2'
	'exec 5</dev/null; exec 6<&5; exec 5<&-; exec 6<&-; echo fds ok; (exec 2>&-; ls /nonexistent-rebind; echo "status $?")'
	'tar -C "$T" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . | tar -tvf -'
	'find "$T" -type f | sort | xargs cat | md5sum; dd if=/dev/zero bs=1024 count=64 2>/dev/null | gzip -c | gunzip -c | wc -c'
	'net:"$PYTHON3" -c "
import socket
srv = socket.socket()
srv.bind((\"127.0.0.1\", 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
cli.sendall(b\"ping\")
print(\"server got\", conn.recv(10).decode())
conn.sendall(b\"pong\")
conn.close()
print(\"client got\", cli.recv(10).decode(), \"then\", repr(cli.recv(10)))
cli.close()
srv.close()
"'
	'perl -e "print join(q(,), map { \$_ * \$_ } 1 .. 10), qq(\n); printf STDERR qq(warn %d\n), 42; exit 4"'
	'date -u +%Y'
	'ls /nonexistent-rebind-dir'
	'echo partial; echo oops >&2; exit 7'
	'false'
)

# run N CONFIG CMD: run CMD with sh in CONFIG (plain, preload, debug);
# files $TMP/N.CONFIG.{out,err,st}.
run() {
	local n=$1 cfg=$2 cmd=$3 pre=()
	export TMP_W="$TMP/work.$n.$cfg"
	mkdir -p "$TMP_W"
	case $cfg in
	# A sanitizer build's control runs with the runtime alone, so the
	# comparison shows the shim's effect (some hosts, dd for one, do
	# not run cleanly under ASan at all).
	plain) pre=(env ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"}) ;;
	preload) pre=(env LD_PRELOAD="$SHIM_PRELOAD") ;;
	debug) pre=(env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LOG=debug) ;;
	esac
	# The work dir's name differs per run: show it as $TMP_W.
	(cd "$TMP" && timeout 10 "${pre[@]}" sh -c "$cmd") </dev/null \
		>"$TMP/$n.$cfg.out" 2>"$TMP/$n.$cfg.err"
	echo $? >"$TMP/$n.$cfg.st"
	sed -i "s|$TMP_W|\$TMP_W|g" "$TMP/$n.$cfg.out" "$TMP/$n.$cfg.err"
}

# same N CFG PART: compare a file of CFG's run with the plain run's.
same() {
	cmp -s "$TMP/$1.plain.$3" "$TMP/$1.$2.$3" && return 0
	echo "--- $3 without the shim / with ($2):" >&2
	diff "$TMP/$1.plain.$3" "$TMP/$1.$2.$3" >&2
	return 1
}

bad=0
n=0
for c in "${CMDS[@]}"; do
	n=$((n + 1))
	net=0
	case $c in net:*) net=1 c=${c#net:} ;; esac
	for cfg in plain preload debug; do
		run "$n" "$cfg" "$c"
	done
	[ "$(cat "$TMP/$n.plain.st")" != 124 ] || hard_error "command $n timed out without the shim: $c"
	ok=1
	for cfg in preload debug; do
		same "$n" "$cfg" out || ok=0
		same "$n" "$cfg" st || ok=0
		if [ "$cfg" = debug ] && [ "$net" = 1 ]; then
			grep -v '^rebind\[[0-9][0-9]*\]: ' "$TMP/$n.debug.err" >"$TMP/$n.debugf.err"
			cmp -s "$TMP/$n.plain.err" "$TMP/$n.debugf.err" || {
				echo "--- stderr without the shim / with (debug, rebind lines removed):" >&2
				diff "$TMP/$n.plain.err" "$TMP/$n.debugf.err" >&2
				ok=0
			}
		else
			same "$n" "$cfg" err || ok=0
		fi
	done
	if [ $ok = 1 ]; then
		note "same with and without the shim (exit $(cat "$TMP/$n.plain.st")): ${c%%$'\n'*}"
	else
		echo "FAIL: command $n differs under the shim: $c" >&2
		bad=1
	fi
done
[ $bad = 0 ] || fail "some ordinary commands behave differently under the shim"
exit 0
