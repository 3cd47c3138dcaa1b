#!/bin/bash
# A program linked against an old posix_spawn / posix_spawnp (glibc
# before 2.15: they run a script without "#!" through /bin/sh) gets the
# same result under rebind as without it.  Before, the unversioned hook
# caught the old symbol and forwarded to the current version, which
# fails with "Exec format error".  The same probe shows that a hook
# libc has in one version (listen) still binds with a version in the
# program's reference.

. "$srcdir/tests/integration/lib.sh"

# The ASan runtime's own posix_spawn interceptor is unversioned and
# comes first: it takes the old version's calls to the new one, so the
# control without rebind already fails there.
[ -z "${SANITIZER_RUNTIME:-}" ] ||
	skip "the sanitizer runtime's posix_spawn binds the old version itself"

: "${PROBES:?set by make check}"
PROBE="$PROBES/oldspawn_probe"
[ -x "$PROBE" ] || hard_error "$PROBE is not built"

# A script without "#!": the shell runs it, execve() refuses it.
mkdir "$TMP/bin"
printf 'echo script ran\n' >"$TMP/bin/noshebang"
chmod +x "$TMP/bin/noshebang"

run() {
	local name=$1 st
	shift
	# In $TMP/bin: the old posix_spawnp runs "/bin/sh noshebang".
	(cd "$TMP/bin" && env PATH="$TMP/bin:$PATH" "$@" timeout 10 \
		"$PROBE" "$TMP/bin/noshebang" noshebang) >"$TMP/$name.out" \
		2>"$TMP/$name.err"
	st=$?
	[ $st -eq 77 ] && skip "$(cat "$TMP/$name.out")"
	[ $st -eq 0 ] || hard_error "$name: probe exited $st:
$(cat "$TMP/$name.out" "$TMP/$name.err")"
}

# The probe's references really carry versions (else it proves nothing).
if command -v readelf >/dev/null 2>&1; then
	refs=$(readelf --dyn-syms -W "$PROBE")
	grep -Eq ' posix_spawn@GLIBC_[0-9.]+ ' <<<"$refs" &&
		grep -Eq ' listen@GLIBC_[0-9.]+ ' <<<"$refs" ||
		hard_error "the probe does not reference versioned symbols:
$refs"
fi

run plain
want='listener reuseaddr=0
script ran
posix_spawn: exit 0
script ran
posix_spawnp: exit 0'
[ "$(cat "$TMP/plain.out")" = "$want" ] ||
	hard_error "without rebind the old posix_spawn did not run the script:
$(cat "$TMP/plain.out" "$TMP/plain.err")"

run shim LD_PRELOAD="$SHIM_PRELOAD"
[ "$(cat "$TMP/shim.out")" = "${want/reuseaddr=0/reuseaddr=1}" ] ||
	fail "under rebind: want
${want/reuseaddr=0/reuseaddr=1}
got
$(cat "$TMP/shim.out" "$TMP/shim.err")"
exit 0
