#!/bin/bash
# librebind.so must export exactly the libc names in its version script:
# anything else of ours in the dynamic symbol table could bind in the
# host program in place of its own symbol.
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

# "0000000000003390 T socket": the name is the last field; drop any
# @VERSION so a versioned export still compares by name.
if ! nm -D --defined-only "$LIBREBIND" >"$tmp/nm"; then
	echo "exports.sh: nm -D failed on $LIBREBIND" >&2
	exit 99
fi
awk 'NF { print $NF }' "$tmp/nm" |
	sed -e 's/@.*//' |
	LC_ALL=C sort -u >"$tmp/got"

if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	echo "exports.sh: dynamic symbols differ from $map" >&2
	echo "(- only in the map, + exported but not in the map)" >&2
	cat "$tmp/diff" >&2
	exit 1
fi
echo "exports.sh: $(wc -l <"$tmp/got") symbols, as in the map"
exit 0
