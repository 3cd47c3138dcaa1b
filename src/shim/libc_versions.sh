#!/bin/sh
# Usage: libc_versions.sh OBJDUMP 'CC CFLAGS' MAP
#        libc_versions.sh --script 'NAME DEFAULT OLD...;...' MAP
#
# Prints one line "NAME DEFAULT OLD..." for every name in the version
# script MAP that the C library CC links against exports in more than
# one version (glibc: posix_spawn and posix_spawnp everywhere, fcntl on
# 32-bit targets; the names differ per architecture).  A program linked
# against an old version must reach a hook for that version or none, so
# configure and the build need these names.  Prints nothing for a C
# library without symbol versions (musl) or one it cannot find.
#
# With --script it writes the linker's version script for such a list
# (configure's RB_LIBC_VERSIONS, the lines above joined by ";").
set -u

# A named version node cannot sit next to the map's anonymous one, and a
# "local: *" would hide every hook not listed in a node.  So the hooks
# libc has once stay out of the script (unversioned: they match a
# reference to any version, as before) and -fvisibility=hidden keeps the
# rest in; the one-version names get their version from libc.  The
# functions behind the old versions (rb_*) are exported only through
# their .symver names.
script() {
	printf '%s\n' "$1" | tr ';' '\n' | awk '
	NF >= 2 {
		if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
		def[$2] = def[$2] " " $1 ";"
		for (i = 3; i <= NF; i++)
			if (!($i in seen)) { seen[$i] = 1; first[++m] = $i }
	}
	END {
		print "/* Written by src/shim/libc_versions.sh: do not edit. */"
		for (i = 1; i <= m; i++)
			if (!(first[i] in def))
				print first[i] " { local: rb_*; };"
		for (i = 1; i <= n; i++)
			print order[i] " { global:" def[order[i]] " local: rb_*; };"
	}'
}

if [ "$1" = --script ]; then
	if [ -z "$2" ]; then
		cat "$3"
	else
		script "$2"
	fi
	exit 0
fi
objdump=$1 cc=$2 map=$3

# -lc is usually a linker script: GROUP ( /lib/.../libc.so.6 ... ).
libc=$($cc -print-file-name=libc.so 2>/dev/null) || exit 0
[ -f "$libc" ] || exit 0
if ! head -c 4 "$libc" | grep -q ELF; then
	libc=$(sed -n -e 's|.*GROUP *( *\([^ )]*libc\.so[^ )]*\).*|\1|p' \
		"$libc" | head -n 1)
	[ -n "$libc" ] && [ -f "$libc" ] || exit 0
fi

names=$(sed -e 's|/\*.*\*/||g' "$map" | tr '\n' ' ' |
	sed -n -e 's/.*global:\(.*\)local:.*/\1/p' | tr ';' ' ')

# objdump -T: "... DF .text ... GLIBC_2.15  posix_spawn", an old
# version in parentheses.
$objdump -T "$libc" 2>/dev/null | awk -v names="$names" '
BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
NF >= 3 && ($NF in want) && $(NF - 1) ~ /^\(?GLIBC_/ {
	v = $(NF - 1)
	if (v ~ /^\(/) {
		gsub(/[()]/, "", v)
		old[$NF] = old[$NF] " " v
	} else
		def[$NF] = v
	count[$NF]++
}
END {
	for (s in count)
		if (count[s] > 1 && (s in def))
			print s " " def[s] old[s]
}' | LC_ALL=C sort
