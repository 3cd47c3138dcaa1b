#!/bin/bash
# The man pages must render without a single warning.  mandoc -T lint
# reports through its output and exit status; groff's exit status ignores
# warnings, so any text on its standard error counts as a failure.
#
# The pages are generated in the build directory (doc/*.in with the
# configured paths), where the harness runs this test.  An install path is
# one word that no typesetter can break, and a long --prefix (distcheck's
# is under the build tree) makes groff warn that it cannot fit the line.
# So groff checks the generated pages with its "break" warnings off, and
# checks line breaking on the sources with the default /usr/local paths.
#
# Environment (from AM_TESTS_ENVIRONMENT): srcdir, the source directory.
# Exit 0 pass, 1 fail, 77 skip (neither tool), 99 hard error.
set -u

pages=(doc/rebind.1 doc/rebind.conf.5)

have_mandoc=false
have_groff=false
command -v mandoc >/dev/null 2>&1 && have_mandoc=true
command -v groff >/dev/null 2>&1 && have_groff=true
if ! $have_mandoc && ! $have_groff; then
	echo "man_lint.sh: SKIP: neither mandoc nor groff is installed" >&2
	exit 77
fi

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# mdoc pages start with .Dd, man(7) pages with .TH.
macros_of() {
	if grep -q '^\.Dd' "$1"; then
		echo -mandoc
	else
		echo -man
	fi
}

failed=0
checked=0

# lint_groff WHAT FILE [GROFF-OPTION...]: fail on any groff output.
lint_groff() {
	local what=$1 file=$2 macros
	shift 2
	macros=$(macros_of "$file")
	groff -ww "$@" -z "$macros" "$file" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ] || [ -s "$tmp/out" ]; then
		echo "man_lint.sh: FAIL: groff -ww ${*:+$* }-z $macros $what" \
			"(exit $rc):" >&2
		cat "$tmp/out" "$tmp/err" >&2
		failed=1
	fi
	checked=$((checked + 1))
}

for page in "${pages[@]}"; do
	if [ ! -f "$page" ]; then
		echo "man_lint.sh: $page is missing" >&2
		exit 99
	fi
	source_page="${srcdir:-.}/$page.in"
	if [ ! -f "$source_page" ]; then
		echo "man_lint.sh: $source_page is missing" >&2
		exit 99
	fi
	if $have_mandoc; then
		mandoc -T lint -W warning "$page" >"$tmp/out" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ]; then
			echo "man_lint.sh: FAIL: mandoc -T lint -W warning $page" \
				"(exit $rc):" >&2
			cat "$tmp/out" >&2
			failed=1
		fi
		checked=$((checked + 1))
	fi
	if $have_groff; then
		lint_groff "$page" "$page" -Wbreak
		default="$tmp/$(basename "$page")"
		sed -e 's|@pkglibdir[@]|/usr/local/lib/rebind|g' \
			-e 's|@sysconfdir[@]|/usr/local/etc|g' \
			-e 's|@bindir[@]|/usr/local/bin|g' \
			"$source_page" >"$default" || exit 99
		lint_groff "$source_page (default paths)" "$default"
	fi
done

if [ "$failed" -ne 0 ]; then
	exit 1
fi
echo "man_lint.sh: ${#pages[@]} pages, $checked checks, no warnings" \
	"($($have_mandoc && echo "mandoc ")$($have_groff && echo groff))"
exit 0
