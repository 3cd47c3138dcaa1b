#!/bin/bash
# A library loaded with dlopen(RTLD_DEEPBIND) binds its imports in its own
# scope first, past LD_PRELOAD: its listener must still get rebind's
# SO_REUSEADDR, while what the library defines itself (dbp_own(), and a
# dup() of its own) stays its own, and dlopen()'s errno, dlerror() and
# file search stay libc's.  deepbind_probe and its library are described
# in deepbind_probe.c.

. "$srcdir/tests/integration/lib.sh"

: "${PROBES:?set by make check}"
PROBE="$PROBES/deepbind_probe"
LIB="$PROBES/.libs/libdeepbind_probe.so"
[ -x "$PROBE" ] || hard_error "$PROBE is not built"
[ -f "$LIB" ] || hard_error "$LIB is not built"
# ASan's own dlopen() aborts the program on RTLD_DEEPBIND.
[ -z "${SANITIZER_RUNTIME:-}" ] ||
	skip "AddressSanitizer refuses dlopen(RTLD_DEEPBIND)"

# want WHAT FILE LINE...: FILE holds exactly these lines before "ok".
want() {
	local what=$1 file=$2 got
	shift 2
	got=$(grep -v '^ok ' "$file")
	[ "$got" = "$(printf '%s\n' "$@")" ] ||
		fail "$what: want '$*', got: $(cat "$file")"
}

# Controls: without rebind, the library's listener has no SO_REUSEADDR,
# and RTLD_DEEPBIND is what makes its own dbp_own() win over the
# program's (without it, own=2): else this test shows nothing.
timeout 10 "$PROBE" "$LIB" path >"$TMP/plain.out" 2>&1 ||
	hard_error "without rebind: $(cat "$TMP/plain.out")"
grep -qx 'listener reuseaddr=0' "$TMP/plain.out" &&
	grep -qx 'own=1' "$TMP/plain.out" ||
	hard_error "without rebind: $(cat "$TMP/plain.out")"
timeout 10 "$PROBE" "$LIB" global >"$TMP/global.out" 2>&1 ||
	hard_error "global control: $(cat "$TMP/global.out")"
grep -qx 'own=2' "$TMP/global.out" ||
	hard_error "without RTLD_DEEPBIND the program's dbp_own() should win: $(cat "$TMP/global.out")"

export LD_PRELOAD="$SHIM_PRELOAD"

# The library's socket(), bind() and listen() reach rebind; its own
# functions stay its own.
run_probe path path "$PROBE" "$LIB" path || fail "path"
want "RTLD_DEEPBIND" "$TMP/path.out" 'listener reuseaddr=1' own=1 dup=-42
# The same with lazy binding (the library is not linked with -z now).
run_probe lazy lazy "$PROBE" "$LIB" lazy || fail "lazy"
want "RTLD_LAZY | RTLD_DEEPBIND" "$TMP/lazy.out" 'listener reuseaddr=1' own=1 dup=-42

# Loaded from 8 threads at once: one handle, patched once.
REBIND_LOG=info timeout 30 "$PROBE" "$LIB" threads >"$TMP/threads.out" \
	2>"$TMP/threads.err" || fail "threads: $(cat "$TMP/threads.out" "$TMP/threads.err")"
want "8 threads" "$TMP/threads.out" 'listener reuseaddr=1' own=1 dup=-42
n=$(grep -c 'imports now bound to rebind in .*libdeepbind_probe.so$' "$TMP/threads.err")
[ "$n" = 1 ] || fail "8 threads: patched $n times, want once: $(cat "$TMP/threads.err")"

# Without RTLD_DEEPBIND nothing changes, and a file name alone is still
# looked up through the calling program's RUNPATH (dlopen() sees the
# program's return address, not rebind's).
run_probe name name "$PROBE" "$LIB" name || fail "name"
grep -qx 'listener reuseaddr=1' "$TMP/name.out" && grep -qx own=2 "$TMP/name.out" ||
	fail "by name: $(cat "$TMP/name.out")"
run_probe deep-name deep-name "$PROBE" "$LIB" deep-name || fail "deep-name"
want "by name, RTLD_DEEPBIND" "$TMP/deep-name.out" found=yes

# errno and dlerror() as without rebind; dlsym(RTLD_NEXT, "dlopen") works.
run_probe errors errors "$PROBE" "$LIB" errors || fail "errors"
LD_PRELOAD='' timeout 10 "$PROBE" "$LIB" errors >"$TMP/errors.plain" 2>&1 ||
	hard_error "errors without rebind: $(cat "$TMP/errors.plain")"
diff -u "$TMP/errors.plain" "$TMP/errors.out" >"$TMP/errors.diff" ||
	fail "errors: differ from the run without rebind: $(cat "$TMP/errors.diff")"
note "$(grep -v '^ok' "$TMP/errors.out" | tr '\n' ';')"
exit 0
