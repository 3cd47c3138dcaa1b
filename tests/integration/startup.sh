#!/bin/bash
# A program that never uses a socket makes no system call because of
# rebind, only the loader's to map the library: with a config file that
# has a [program] section and asks for safe-abort, /bin/true, a shell and
# a program that makes a TCP socket, sets TCP_NODELAY and closes it make, under strace -f -c, exactly the calls they make without the shim
# plus at most one openat, read, fstat and close (the library's file) and
# a few mmap and mprotect (its segments).  No config file read, no
# readlink of /proc/self/exe, no getpid, no fstat of descriptor 2.  A bad
# setting (REBIND_LINGER=sometimes) says nothing there: it is reported
# when a socket first needs the policy (bad_value.sh checks that line).
# The variables are read at load all the same: a program that clears its
# environment before its first listen() keeps REBIND_ENABLE=no.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

# An instrumented library makes the sanitizer runtime's own calls at load.
[ -z "${SANITIZER_RUNTIME:-}" ] ||
	skip "a sanitizer build's library makes the runtime's calls at load"

command -v strace >/dev/null 2>&1 || skip "strace is not installed"
command -v perl >/dev/null 2>&1 || skip "perl is not installed"
strace -f -c -o /dev/null /bin/true 2>/dev/null ||
	skip "strace cannot trace here (ptrace not allowed)"

CONF=$TMP/rebind.conf
printf 'linger = safe-abort\n[program true]\nlog = info\n' >"$CONF"

# The most each system call may grow by: the loader mapping one library,
# and one brk (the heap starts at a random place; perl's malloc needed
# one more brk in one run of many, with or without the shim's code run).
LOADER="openat=1 read=1 pread64=2 newfstatat=1 fstat=1 close=1 mmap=6 mprotect=2 brk=1"

# counts NAME CMD...: "SYSCALL CALLS" lines of CMD run under strace, in
# $TMP/NAME.count; CMD's stderr in $TMP/NAME.err.  The fewest of three
# runs for each call: how often malloc grows the heap (brk) varies from
# run to run with where the heap starts, shim or not.
counts() {
	local name=$1 i
	shift
	for i in 1 2 3; do
		timeout 20 strace -f -c -o "$TMP/$name.raw$i" "$@" >/dev/null \
			2>"$TMP/$name.err" ||
			hard_error "$name: exit $?: $(cat "$TMP/$name.err")"
	done
	awk 'FNR == 1 { runs++ }
		$NF != "total" && $4 ~ /^[0-9]+$/ { n[$NF, runs] = $4; seen[$NF] = 1 }
		END {
			for (c in seen) {
				m = n[c, 1] + 0
				for (r = 2; r <= runs; r++)
					if (n[c, r] + 0 < m)
						m = n[c, r] + 0
				if (m > 0)
					print c, m
			}
		}' "$TMP/$name.raw1" "$TMP/$name.raw2" "$TMP/$name.raw3" |
		sort >"$TMP/$name.count"
	[ -s "$TMP/$name.count" ] || hard_error "$name: strace counted nothing"
}

# extra BASE SHIM: the calls SHIM makes beyond BASE, "SYSCALL +N" each.
extra() {
	join -a 2 -e 0 -o 0,1.2,2.2 "$TMP/$1.count" "$TMP/$2.count" |
		awk '$3 > $2 { print $1, "+" ($3 - $2) }'
}

# over_loader BASE SHIM: the extra calls the loader does not explain.
over_loader() {
	extra "$1" "$2" | awk -v limits="$LOADER" '
		BEGIN {
			n = split(limits, l, " ")
			for (i = 1; i <= n; i++) {
				split(l[i], kv, "=")
				max[kv[1]] = kv[2]
			}
		}
		{ d = substr($2, 2) + 0; if (d > max[$1] + 0) print $1, $2 }'
}

# A sanitizer build's control preloads the runtime too: only rebind
# differs between the runs.
BASE_ENV=(${SANITIZER_RUNTIME:+-E LD_PRELOAD="$SANITIZER_RUNTIME"})
SHIM_ENV=(-E LD_PRELOAD="$SHIM_PRELOAD" -E REBIND_CONFIG="$CONF")

for prog in true sh client; do
	case $prog in
	true) cmd=(/bin/true) ;;
	sh) cmd=(/bin/sh -c 'echo hello >/dev/null; exit 0') ;;
	# A socket that never listens, with an option rebind does not track.
	client) cmd=(perl -MSocket=:all -e 'socket(my $s, PF_INET, SOCK_STREAM, 0) or die;
setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1) or die; close($s)') ;;
	esac
	counts "$prog-plain" "${BASE_ENV[@]}" "${cmd[@]}"
	counts "$prog-shim" "${SHIM_ENV[@]}" "${cmd[@]}"
	bad=$(over_loader "$prog-plain" "$prog-shim")
	[ -z "$bad" ] ||
		fail "$prog: system calls beyond the loader's under the shim:" \
			"${bad//$'\n'/, } (all extra: $(extra "$prog-plain" "$prog-shim" | paste -sd,))"
	note "$prog: extra calls under the shim: $(extra "$prog-plain" "$prog-shim" | paste -sd, -)"

	counts "$prog-bad" "${SHIM_ENV[@]}" -E REBIND_LINGER=sometimes \
		"${cmd[@]}"
	[ ! -s "$TMP/$prog-bad.err" ] ||
		fail "$prog: a bad setting was reported although no socket needed it:" \
			"$(cat "$TMP/$prog-bad.err")"
	bad=$(over_loader "$prog-plain" "$prog-bad")
	[ -z "$bad" ] ||
		fail "$prog, bad setting: system calls beyond the loader's: ${bad//$'\n'/, }"
done

# The variables are copied at load: a program that clears its
# environment before its first listen() keeps them.  REBIND_ENABLE=no
# must still leave its listener without SO_REUSEADDR (control: with the
# variable unset, rebind sets it).
listener_reuse() {
	timeout 20 env "$@" perl -MSocket=:all -e '%ENV = ();
socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
bind($s, pack_sockaddr_in(0, inet_aton("127.0.0.1"))) or die "bind: $!";
listen($s, 1) or die "listen: $!";
print unpack("i", getsockopt($s, SOL_SOCKET, SO_REUSEADDR)), "\n";'
}
got=$(listener_reuse LD_PRELOAD="$SHIM_PRELOAD") || hard_error "perl listener failed"
[ "$got" = 1 ] || hard_error "the control listener under rebind has SO_REUSEADDR=$got, want 1"
got=$(listener_reuse LD_PRELOAD="$SHIM_PRELOAD" REBIND_ENABLE=no) ||
	hard_error "perl listener failed"
[ "$got" = 0 ] ||
	fail "REBIND_ENABLE=no was lost when the program cleared its environment: SO_REUSEADDR=$got"
exit 0
