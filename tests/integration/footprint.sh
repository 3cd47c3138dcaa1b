#!/bin/bash
# The library writes nothing and opens no file but its config: a daemon
# under the shim (with a config file and safe-abort) makes exactly the
# same open(), write() and send() calls as without it, plus the opens of
# the config file (by name with O_PATH, then through /proc/self/fd).  The loader's own opens of preloaded libraries are not the
# library's doing and are left out.

. "$srcdir/tests/integration/lib.sh"

command -v strace >/dev/null 2>&1 || skip "strace is not installed"

N=3
printf 'linger = safe-abort\nlog = warn\n' >"$TMP/rebind.conf"

# traced NAME [VAR=VALUE...]: the legacy server under strace, serving N
# clients; its open, write and send calls in $TMP/NAME.trace.
traced() {
	local name=$1
	shift
	start "$name" strace -f -qq -e trace=open,openat,creat,write,sendto \
		-o "$TMP/$name.trace" env "$@" "$LEGACY_SERVER" -p 0 -n $N -q
	wait_ready || hard_error "$name: server failed: $(cat "$SRV_ERR")"
	clients "$SRV_PORT" $N --expect eof >/dev/null ||
		fail "$name: clients failed"
	server_done "$name"
}

# The files a trace opened, one per line, without the preloaded ones the
# loader maps (and the ASan runtime's own, in a sanitizer build).
opened() {
	sed -n 's/.*open[at]*(.*"\([^"]*\)".*/\1/p' "$1" |
		grep -vxF -e "$LIBREBIND" -e "${SANITIZER_RUNTIME:-/}" | sort
}

# write() and send() (sendto() for the kernel) calls in a trace.
writes() {
	grep -c -e 'write(' -e 'sendto(' "$1"
}

# A sanitizer build's control also preloads the runtime: only rebind
# differs between the two runs.
traced plain ${SANITIZER_RUNTIME:+LD_PRELOAD="$SANITIZER_RUNTIME"}
traced shim LD_PRELOAD="$SHIM_PRELOAD" REBIND_CONFIG="$TMP/rebind.conf"

# The config is the one file: opened by name with O_PATH (its type is
# checked before anything is opened), then read through
# /proc/self/fd/N, so no other file can take its place in between.
extra=$(comm -13 <(opened "$TMP/plain.trace") <(opened "$TMP/shim.trace") |
	sed 's|^/proc/self/fd/[0-9][0-9]*$|/proc/self/fd/N|')
[ "$extra" = "/proc/self/fd/N
$TMP/rebind.conf" ] ||
	fail "under the shim the program opened, besides its own files:" \
		"'$extra' (want only $TMP/rebind.conf, and it again as /proc/self/fd/N)"
grep -q "\"$TMP/rebind.conf\", [A-Z_|]*O_PATH" "$TMP/shim.trace" ||
	fail "the config was not opened by name with O_PATH: $(grep -F "$TMP/rebind.conf" "$TMP/shim.trace")"
missing=$(comm -23 <(opened "$TMP/plain.trace") <(opened "$TMP/shim.trace"))
[ -z "$missing" ] || fail "under the shim these opens went missing: $missing"
[ "$(writes "$TMP/plain.trace")" -eq "$(writes "$TMP/shim.trace")" ] ||
	fail "write/send calls: $(writes "$TMP/plain.trace") without the shim," \
		"$(writes "$TMP/shim.trace") with it"
[ "$(writes "$TMP/plain.trace")" -ge $N ] ||
	hard_error "the trace saw no replies: strace cannot tell here"
exit 0
