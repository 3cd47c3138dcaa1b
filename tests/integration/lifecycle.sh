#!/bin/bash
# The descriptor lifecycle matrix.  lifecycle_probe walks sockets through
# every way a descriptor is created, copied and closed (socket, accept,
# accept4, dup, dup2 and dup3 onto free and open numbers, fcntl and
# fcntl64 F_DUPFD[_CLOEXEC], close, close_range with and without
# CLOSE_RANGE_CLOEXEC, closefrom (also from -1, which glibc takes as 0),
# exec of close-on-exec descriptors,
# fork, closes inside libc that no hook sees, descriptors above 65536)
# and after each step checks the options on every live socket, how each
# closed connection ended as seen from its peer, and that pipes, files
# and UDP sockets reusing a number get nothing.  See the probe's header.
#
# It runs under no shim (the control: the probe's expectations of the
# kernel must hold there, else 99), the default policy, abort and
# safe-abort.  Then a daemon-like loop closing every descriptor must not
# grow the process's memory under the shim.

. "$srcdir/tests/integration/lib.sh"

: "${PROBES:?set by make check}"
PROBE="$PROBES/lifecycle_probe"
[ -x "$PROBE" ] || hard_error "$PROBE is not built"

# Every step the probe reports; high_fd_* run below 65536 when
# RLIMIT_NOFILE cannot be raised (the probe says so on a "skip" line).
STEPS="socket accept accept4 close close_tw50
dup/copy dup/close dup_copy_first/copy dup_copy_first/close
dup2/copy dup2/close dup3/copy dup3/close
fcntl_dupfd/copy fcntl_dupfd/close
fcntl_dupfd_cloexec/copy fcntl_dupfd_cloexec/close
fcntl64_dupfd/copy fcntl64_dupfd/close
fcntl64_dupfd_cloexec/copy fcntl64_dupfd_cloexec/close
dup2_onto_open dup2_onto_conn/implicit_close dup2_onto_conn/close
dup3_onto_conn/implicit_close dup3_onto_conn/close dup2_same_fd
fcntl_other close_range closefrom closefrom_negative
libc_close_pipe libc_close_file libc_close_udp
libc_close_tcp/accept libc_close_tcp/close unseen_copy
libc_close_listener/before_accept libc_close_listener/accept
libc_close_listener/close
fork_parent_closes fork_child_closes/child fork_child_closes/parent
fork_after
high_fd_listener/accept high_fd_listener/close
high_fd_dup/copy high_fd_dup/close
high_fd_accept/accept high_fd_accept/close
high_fd_adopt/before_accept high_fd_adopt/accept high_fd_adopt/close
close_range_cloexec exec/prepare exec/cloexec_closed
exec_adopt/accept exec_adopt/close exec_inherited"

# problems MODE: what is wrong with the run's output, if anything.
problems() {
	local out="$TMP/$1.out" err="$TMP/$1.err" s
	grep '^FAIL' "$out"
	for s in $STEPS; do
		if [ "${s#high_fd}" != "$s" ] &&
			grep -q '^skip high_fd:' "$out"; then
			continue
		fi
		grep -qxF "ok $s" "$out" || grep -qF "FAIL $s:" "$out" ||
			echo "step $s did not run"
	done
	[ "$(tail -n 1 "$out")" = "done" ] || echo "the probe did not finish"
	if grep -q '^rebind\[' "$err"; then
		echo "rebind printed at the default log level: $(cat "$err")"
	fi
}

# run MODE [VAR=VALUE...]: the probe in MODE with the environment given.
run() {
	local mode=$1 st bad
	shift
	timeout 120 env TMPDIR="$TMP" "$@" "$PROBE" "$mode" \
		>"$TMP/$mode.out" 2>"$TMP/$mode.err"
	st=$?
	grep '^skip' "$TMP/$mode.out" | sort -u | while read -r line; do
		note "$mode: $line"
	done
	bad=$(problems "$mode")
	if [ -z "$bad" ] && [ $st -ne 0 ]; then
		bad="exit status $st: $(tail -n 5 "$TMP/$mode.err")"
	fi
	[ -z "$bad" ] && return 0
	echo "$mode: $bad" >&2
	return 1
}

# tw_load: how full the kernel's TIME_WAIT table is.  When it is full, a
# close leaves no TIME_WAIT at all, and "ordinary close" cannot be told
# from a reset.
tw_load() {
	echo "$(awk '$4 == "06"' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		wc -l) TIME_WAIT entries, net.ipv4.tcp_max_tw_buckets" \
		"$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets 2>/dev/null)"
}

run none || hard_error "the control run without the shim failed: the" \
	"probe's expectations do not hold on this host ($(tw_load))"

status=0
run off LD_PRELOAD="$SHIM_PRELOAD" || status=1
run abort LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort || status=1
run safe-abort LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort ||
	status=1

# Memory.  A daemon closing every descriptor up to its limit (the probe
# makes 2^20 close() calls, then closefrom) must not grow: rebind's table
# lives in BSS and close() of an unmarked descriptor only reads it (the
# shared zero page).  A table that wrote one byte per descriptor would
# add 1024 KiB of anonymous memory.  Bounds, over the same run without the
# shim, the smallest of three runs each: RssAnon 64 KiB (a few pages of
# noise), VmRSS 256 KiB (also counts code pages touched for the first
# time, which vary by a few pages between runs).
ANON_MAX=64
RSS_MAX=256

# mem_min [VAR=VALUE...]: prints "RSS ANON", the smallest growth seen.
mem_min() {
	local line rss anon min_rss="" min_anon=""
	for _ in 1 2 3; do
		line=$(timeout 60 env "$@" "$PROBE" mem) ||
			hard_error "memory probe failed: $line"
		rss=$(echo "$line" | sed -n 's/.* rss_kb=\(-*[0-9]*\).*/\1/p')
		anon=$(echo "$line" | sed -n 's/.* anon_kb=\(-*[0-9]*\).*/\1/p')
		if [ -z "$rss" ] || [ -z "$anon" ]; then
			hard_error "memory probe printed: $line"
		fi
		if [ -z "$min_rss" ] || [ "$rss" -lt "$min_rss" ]; then
			min_rss=$rss
		fi
		if [ -z "$min_anon" ] || [ "$anon" -lt "$min_anon" ]; then
			min_anon=$anon
		fi
	done
	echo "$min_rss $min_anon"
}

read -r base_rss base_anon <<<"$(mem_min)"
read -r shim_rss shim_anon <<<"$(mem_min LD_PRELOAD="$SHIM_PRELOAD" \
	REBIND_LINGER=safe-abort)"
note "memory growth over 2^20 closes: VmRSS ${shim_rss} KiB, RssAnon" \
	"${shim_anon} KiB (without the shim: ${base_rss}, ${base_anon})"
if [ $((shim_anon - base_anon)) -gt $ANON_MAX ] ||
	[ $((shim_rss - base_rss)) -gt $RSS_MAX ]; then
	echo "memory: closing every descriptor grew RssAnon by" \
		"$((shim_anon - base_anon)) KiB (max $ANON_MAX), VmRSS by" \
		"$((shim_rss - base_rss)) KiB (max $RSS_MAX) over the" \
		"run without the shim" >&2
	status=1
fi
exit $status
