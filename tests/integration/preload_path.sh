#!/bin/bash
# A library whose path the loader cannot take from LD_PRELOAD (it splits
# the list at blanks and colons): the wrapper refuses to run the command,
# exit 125 with one line naming the path, as for its other "the library
# would do nothing" cases.  The wrapper finds the library next to itself
# (.libs/ in a build tree), so copies of both in "$TMP/my build" and
# "$TMP/a:b" stand for a build tree or prefix with such a name; a copy in
# "$TMP/plain" is the control and must run the command under the shim.
# The systemd drop-in "make" writes names the library too: for a
# pkglibdir with a blank, make fails with one line and writes no file.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

# Prints a new listener's SO_REUSEADDR: 1 under the shim.
PROBE="$srcdir/tests/integration/reuseaddr.py"

# copy DIR: the wrapper and the library as a build tree in DIR.
copy() {
	mkdir -p "$1/.libs" && cp "$REBIND_BIN" "$1/rebind" &&
		cp "$LIBREBIND" "$1/.libs/librebind.so" ||
		hard_error "cannot copy the wrapper and the library to $1"
}

copy "$TMP/plain"
got=$(timeout 10 "$TMP/plain/rebind" -- "$PYTHON3" "$PROBE" 2>"$TMP/err")
[ "$got" = 1 ] ||
	hard_error "the copied wrapper does not preload its copied library (got '$got': $(cat "$TMP/err")): this test cannot tell"

for dir in "$TMP/my build" "$TMP/a:b"; do
	copy "$dir"
	rm -f "$TMP/ran"
	timeout 10 "$dir/rebind" -- touch "$TMP/ran" >"$TMP/out" 2>"$TMP/err"
	st=$?
	[ "$st" = 125 ] || fail "$dir: exit $st, want 125: $(cat "$TMP/err")"
	[ ! -e "$TMP/ran" ] || fail "$dir: the command ran without rebind"
	[ "$(wc -l <"$TMP/err")" = 1 ] && grep -qF "$dir/.libs/librebind.so" "$TMP/err" ||
		fail "$dir: want one line naming the library, got: $(cat "$TMP/err")"
done

# The drop-in.  make is asked to remake it (-W: as if the Makefile were
# new) for another pkglibdir; a fixed build refuses before writing.
command -v make >/dev/null || skip "no make"
builddir=$(dirname "$REBIND_BIN")
dropin="$builddir/conf/systemd-rebind.conf"
[ -f "$dropin" ] || hard_error "$dropin was not built"
cp "$dropin" "$TMP/dropin.saved"
restore() { cp "$TMP/dropin.saved" "$dropin"; }
unset MAKEFLAGS MFLAGS MAKELEVEL
timeout 60 make -s -C "$builddir" -W Makefile \
	conf/systemd-rebind.conf pkglibdir='/opt/my lib/rebind' \
	>"$TMP/make.out" 2>&1
st=$?
if grep -q 'my lib' "$dropin"; then
	restore
	fail "make wrote a drop-in whose LD_PRELOAD the loader splits (make exit $st)"
fi
restore
[ "$st" != 0 ] || fail "make accepted a pkglibdir with a blank"
grep -q "/opt/my lib/rebind" "$TMP/make.out" ||
	fail "make does not name the path: $(cat "$TMP/make.out")"
exit 0
