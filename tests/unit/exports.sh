#!/bin/bash
# librebind.so must export exactly the libc names in its version script:
# anything else of ours in the dynamic symbol table could bind in the
# host program in place of its own symbol.  And each with the versions
# libc gives it: a program linked against an old version of a function
# must reach a hook for that version (or none), never the current one.
#
# Environment (from AM_TESTS_ENVIRONMENT): LIBREBIND, the built
# .libs/librebind.so; srcdir, the absolute source directory.
set -u

map="${srcdir:-.}/src/shim/librebind.map"

if [ -z "${LIBREBIND:-}" ] || [ ! -f "$LIBREBIND" ]; then
	echo "exports.sh: LIBREBIND is unset or missing: '${LIBREBIND:-}'" >&2
	exit 99
fi
if [ ! -f "$map" ]; then
	echo "exports.sh: no version script at $map" >&2
	exit 99
fi
if ! command -v nm >/dev/null 2>&1; then
	echo "exports.sh: SKIP: nm not found (install binutils)" >&2
	exit 77
fi

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# The names between "global:" and "local:", comments dropped, one a line.
sed -e 's|/\*.*\*/||g' "$map" |
	tr '\n' ' ' |
	sed -n -e 's/.*global:\(.*\)local:.*/\1/p' |
	tr '; \t' '\n\n\n' |
	sed -e '/^$/d' |
	LC_ALL=C sort -u >"$tmp/want"

if [ ! -s "$tmp/want" ]; then
	echo "exports.sh: found no global names in $map" >&2
	exit 99
fi

# What libc exports of those names, as "name version" with an old
# version in parentheses (objdump -T), from the libc the library loads.
# RB_LIBC_SO names it where ldd cannot run the library's loader (a
# 32-bit build on a kernel without 32-bit support).
libc=${RB_LIBC_SO:-$(ldd "$LIBREBIND" 2>/dev/null |
	sed -n -e 's|.*libc\.so[^ ]* => \([^ ]*\) .*|\1|p' | head -n 1)}
if [ -z "$libc" ] && objdump -T "$LIBREBIND" 2>/dev/null |
	grep -q 'GLIBC_'; then
	echo "exports.sh: cannot find the libc of $LIBREBIND (set RB_LIBC_SO)" >&2
	exit 99
fi
if [ -n "$libc" ] && command -v objdump >/dev/null 2>&1; then
	objdump -T "$libc" | awk 'NF >= 3 { print $NF, $(NF - 1) }' \
		>"$tmp/libc" || exit 99
else
	: >"$tmp/libc"
fi

# The expected exports, with versions: a name libc has in one version
# (or not at all) unversioned, as before; one it has in several as
# name@@CURRENT, plus name@OLD when there is exactly one older version
# (configure gives the library a hook for it; a program linked against
# one of several older versions reaches libc directly).  The 32-bit
# time64 names (__*64) only where libc has them.
awk 'FNR == NR { if ($2 ~ /GLIBC_/) v[$1] = v[$1] " " $2; next }
{
	n = split(v[$1], a, " ")
	if (n <= 1) {
		if ($1 !~ /^__/ || n == 1)
			print $1
		next
	}
	old = ""; cnt = 0
	for (i = 1; i <= n; i++) {
		if (a[i] ~ /^\(/) {
			cnt++
			old = a[i]
			gsub(/[()]/, "", old)
		} else
			print $1 "@@" a[i]
	}
	if (cnt == 1)
		print $1 "@" old
}' "$tmp/libc" "$tmp/want" | LC_ALL=C sort -u >"$tmp/want.v"

# vfork is hooked only where libc exports __vfork for the hook to jump
# to, on x86 (src/shim/hook_vfork.S).
if ! { grep -q '^__vfork ' "$tmp/libc" &&
	objdump -f "$LIBREBIND" 2>/dev/null | grep -q 'architecture: i386'; }; then
	sed -i -e '/^vfork$/d' "$tmp/want.v"
fi

# "0000000000003390 T socket", "... T posix_spawn@@GLIBC_2.15"; the
# version nodes themselves are absolute symbols (A) and not counted.
if ! nm -D --defined-only --with-symbol-versions "$LIBREBIND" \
	>"$tmp/nm"; then
	echo "exports.sh: nm -D failed on $LIBREBIND" >&2
	exit 99
fi
awk 'NF && $(NF - 1) != "A" { print $NF }' "$tmp/nm" |
	LC_ALL=C sort -u >"$tmp/got"

if ! diff -u "$tmp/want.v" "$tmp/got" >"$tmp/diff"; then
	echo "exports.sh: dynamic symbols differ from $map and libc's versions" >&2
	echo "(- expected, + exported but not expected)" >&2
	cat "$tmp/diff" >&2
	exit 1
fi
echo "exports.sh: $(wc -l <"$tmp/got") symbols, as in the map, versioned as in $libc"
exit 0
