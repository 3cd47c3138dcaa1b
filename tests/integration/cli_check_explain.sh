#!/bin/bash
# The wrapper's diagnostics.
#  - rebind check FILE: a good file exits 0 with no error line; a file
#    with exactly 3 errors (the last on a line without a newline) exits 1
#    and prints exactly those 3 as FILE:LINE: with the right lines; a
#    missing file and a directory exit 2 naming the file; with no FILE
#    it checks $REBIND_CONFIG, which --help names as the default.
#  - rebind explain --program NAME --port N: for a file with global,
#    [port], [program] and [program port] sections and REBIND_LINGER in
#    the environment, every key's value and origin ("default",
#    "env REBIND_LINGER" or FILE:LINE), exactly, for several NAME/N;
#    explain -- python3 SCRIPT lists SCRIPT among the program names and
#    applies its [program] section; exit 1 on a bad setting, 2 on a bad
#    --port or an unreadable file; a bad option is named; a command
#    that does not exist is said so, exit 127 (as the wrapper).
#  - check and explain take "--" as the end of options; check "" is a
#    usage error.
#  - rebind -- check runs a program called check, not the subcommand.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

R() { timeout 10 "$REBIND_BIN" "$@"; }

# run WHAT CMD...: CMD's stdout in OUT, stderr in ERR, status in ST.
run() {
	local what=$1
	shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	ST=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
	WHAT=$what
}

want_status() {
	[ "$ST" = "$1" ] || fail "$WHAT: exit $ST, want $1: stdout: $OUT / stderr: $ERR"
}

GOOD="$TMP/good.conf"
cat >"$GOOD" <<'EOF'
# a good file
reuseaddr = on   # a comment after a value
linger = off

[port 8080,9000-9100]
linger = safe-abort

[program my*d port 8080]
linger = abort
EOF
export REBIND_CONFIG="$GOOD"

### check

run "check GOOD" R check "$GOOD"
want_status 0
! grep -q ":[0-9][0-9]*: " "$TMP/out" || fail "$WHAT: error lines for a good file: $OUT"
[ -z "$ERR" ] || fail "$WHAT: stderr: $ERR"

run "check (REBIND_CONFIG)" R check
want_status 0
grep -qF "$GOOD" "$TMP/out" || fail "$WHAT: does not name \$REBIND_CONFIG ($GOOD): $OUT"

run "check --help" R check --help
want_status 0
grep -qF "(default: $GOOD)" "$TMP/out" ||
	fail "$WHAT: does not name the default file \$REBIND_CONFIG ($GOOD): $OUT"

BAD="$TMP/three.conf"
printf '%s\n' '# three errors' 'reuseaddr = on' 'lnger = abort' '' \
	'[port 8080]' 'linger = abort' '[prgram foo]' 'linger = abort' \
	'[port 80]' >"$BAD"
printf 'log = debug' >>"$BAD" # line 10, no newline at the end
run "check three.conf" R check "$BAD"
want_status 1
got=$(grep -c "^$BAD:[0-9][0-9]*: " "$TMP/out")
[ "$got" = 3 ] || fail "$WHAT: want 3 FILE:LINE lines, got $got: $OUT"
lines=$(sed -n "s|^$BAD:\([0-9][0-9]*\): .*|\1|p" "$TMP/out" | paste -sd' ')
[ "$lines" = "3 7 10" ] || fail "$WHAT: want errors on lines 3 7 10, got '$lines': $OUT"
grep -q "^$BAD:3: .*lnger" "$TMP/out" || fail "$WHAT: line 3 does not name 'lnger': $OUT"
grep -q "^$BAD:7: .*prgram" "$TMP/out" || fail "$WHAT: line 7 does not name 'prgram': $OUT"
grep -q "^$BAD:10: .*log" "$TMP/out" || fail "$WHAT: line 10 does not name 'log': $OUT"
# Anything else on stdout is a summary, not another error.
! grep -v "^$BAD:[0-9][0-9]*: " "$TMP/out" | grep -q ':[0-9][0-9]*:' ||
	fail "$WHAT: other error lines: $OUT"

run "check missing" R check "$TMP/missing.conf"
want_status 2
echo "$OUT$ERR" | grep -qF "$TMP/missing.conf" || fail "$WHAT: does not name the file: $OUT $ERR"

mkdir "$TMP/dir.conf"
run "check directory" R check "$TMP/dir.conf"
want_status 2
echo "$OUT$ERR" | grep -qF "$TMP/dir.conf" || fail "$WHAT: does not name the file: $OUT $ERR"

run "check missing via REBIND_CONFIG" env REBIND_CONFIG="$TMP/missing.conf" "$REBIND_BIN" check
want_status 2

# "--" ends the options, as for every subcommand.
run "check -- GOOD" R check -- "$GOOD"
want_status 0
grep -qF "$GOOD: OK" "$TMP/out" || fail "$WHAT: no OK for $GOOD: $OUT $ERR"
cp "$GOOD" "$TMP/-odd.conf"
run "check -- -odd.conf" sh -c 'cd "$1" && exec timeout 10 "$2" check -- -odd.conf' sh "$TMP" "$REBIND_BIN"
want_status 0
grep -qF -- "-odd.conf: OK" "$TMP/out" || fail "$WHAT: no OK for -odd.conf: $OUT $ERR"
run "check ''" R check ""
want_status 2

### explain

CONF="$TMP/layers.conf"
cat >"$CONF" <<'EOF'
# cli_check_explain.sh: each key from another layer
log = info
override = no
reuseaddr = off

[port 8080]
enable = yes
override = no
reuseaddr = off

[program myd]
override = yes
log = debug

[program myd port 8080]
reuseaddr = on
linger = off

[program somescript.py]
linger = safe-abort
EOF
R check "$CONF" >/dev/null || hard_error "layers.conf has errors: $(R check "$CONF")"

# keys: explain's rows as "KEY VALUE ORIGIN", blanks squeezed.
keys() {
	awk '$1 ~ /^(enable|reuseaddr|linger|ports|log|override)$/ {
		o = $3; for (i = 4; i <= NF; i++) o = o " " $i
		print $1, $2, o }' "$TMP/out"
}

# explain WHAT "WANT ROWS" ENV... -- ARGS: rebind explain ARGS with the
# ENV assignments; the key rows must be WANT ROWS (F: the file).
explain() {
	local what=$1 want=$2 got
	shift 2
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	run "explain $what" env REBIND_CONFIG="$CONF" "${envs[@]}" \
		timeout 10 "$REBIND_BIN" explain "$@"
	want_status 0
	want=${want//F:/$CONF:}
	got=$(keys)
	[ "$got" = "$want" ] || fail "$WHAT: want
$want
got
$got
(output:
$OUT)"
	grep -qx "config file: *$CONF" "$TMP/out" || fail "$WHAT: no 'config file: $CONF' line: $OUT"
}

explain "--program myd --port 8080, REBIND_LINGER=abort" "\
enable yes F:7
reuseaddr on F:16
linger abort env REBIND_LINGER
ports all default
log debug F:13
override yes F:12" REBIND_LINGER=abort -- --program myd --port 8080
grep -qx "port: *8080" "$TMP/out" || fail "$WHAT: no 'port: 8080' line: $OUT"
grep -qx "program names: *myd" "$TMP/out" || fail "$WHAT: no 'program names: myd' line: $OUT"
grep -q "^effect:.*SO_REUSEADDR.*linger {1,0}" "$TMP/out" ||
	fail "$WHAT: the effect line does not say SO_REUSEADDR and linger {1,0}: $OUT"

explain "--program other --port 8080, REBIND_LINGER=abort" "\
enable yes F:7
reuseaddr off F:9
linger abort env REBIND_LINGER
ports all default
log info F:2
override no F:8" REBIND_LINGER=abort -- --program other --port 8080

explain "--program myd" "\
enable yes default
reuseaddr off F:4
linger off default
ports all default
log debug F:13
override yes F:12" -- --program myd

explain "--port 8080" "\
enable yes F:7
reuseaddr off F:9
linger off default
ports all default
log info F:2
override no F:8" -- --port 8080

# The names a command would run under: an interpreter's script counts.
# The interpreter itself, not a wrapper script in front of it (pyenv's
# shims are bash scripts that exec the real one later).
PY=$(timeout 10 "$PYTHON3" -c 'import sys; print(sys.executable)') && [ -x "$PY" ] ||
	hard_error "cannot find the python interpreter behind $PYTHON3"
printf 'print("hello")\n' >"$TMP/somescript.py"
explain "-- python3 somescript.py" "\
enable yes default
reuseaddr off F:4
linger safe-abort F:20
ports all default
log info F:2
override no F:3" -- -- "$PY" "$TMP/somescript.py" --verbose
names=$(sed -n 's/^program names: *//p' "$TMP/out")
case ", $names," in
*", somescript.py,"*) ;;
*) fail "$WHAT: program names '$names' lack somescript.py" ;;
esac

# A script run by its #! line: the interpreter gets the script's path.
printf '#!%s\nprint("hello")\n' "$PY" >"$TMP/somescript2.py"
chmod +x "$TMP/somescript2.py"
run "explain -- ./somescript2.py" R explain -- "$TMP/somescript2.py"
want_status 0
names=$(sed -n 's/^program names: *//p' "$TMP/out")
case ", $names," in
*", somescript2.py,"*) ;;
*) fail "$WHAT: program names '$names' lack somescript2.py" ;;
esac

# explain_names WHAT WANT PATH ARGS...: explain -- ARGS with PATH; its
# program names must be WANT exactly and, with somescript.py among them,
# the [program somescript.py] section must apply (linger safe-abort).
explain_names() {
	local what=$1 want=$2 path=$3 names
	shift 3
	run "$what" env REBIND_CONFIG="$CONF" PATH="$path" \
		timeout 10 "$REBIND_BIN" explain -- "$@"
	want_status 0
	names=$(sed -n 's/^program names: *//p' "$TMP/out")
	[ "$names" = "$want" ] || fail "$WHAT: program names '$names', want '$want': $OUT"
	grep -q '^linger  *safe-abort ' "$TMP/out" ||
		fail "$WHAT: the [program somescript.py] section does not apply: $OUT"
}
PYVER=$(basename "$(readlink -f "$PY")")

# #!/usr/bin/env -S python3 -u: env splits the line, runs python3 from
# PATH with -u, then the script.
mkdir "$TMP/pybin"
ln -s "$PY" "$TMP/pybin/python3"
mkdir "$TMP/envs"
printf '#!/usr/bin/env -S python3 -u\nprint("hello")\n' >"$TMP/envs/somescript.py"
chmod +x "$TMP/envs/somescript.py"
explain_names "explain -- env -S script" "python3, $PYVER, somescript.py" \
	"$TMP/pybin:$PATH" "$TMP/envs/somescript.py" --verbose

# A python3 in PATH that is a shell script which runs the real one (a
# pyenv shim): the daemon is the python3 it runs, with the script.
mkdir "$TMP/shims"
printf '#!/bin/bash\nexec "%s" "$@"\n' "$PY" >"$TMP/shims/python3"
chmod +x "$TMP/shims/python3"
explain_names "explain -- python3 (a shim) somescript.py" \
	"python3, somescript.py" "$TMP/shims:$PATH" python3 "$TMP/somescript.py"
grep -q "^note: .*$TMP/shims/python3 is a script" "$TMP/out" ||
	fail "$WHAT: no note that python3 is a script: $OUT"
explain_names "explain -- env -S script, python3 a shim" \
	"python3, somescript.py" "$TMP/shims:$PATH" "$TMP/envs/somescript.py"

run "explain, REBIND_LINGER=bogus" env REBIND_CONFIG="$CONF" REBIND_LINGER=bogus \
	"$REBIND_BIN" explain --program myd
want_status 1
run "explain, broken file" env REBIND_CONFIG="$BAD" "$REBIND_BIN" explain
want_status 1
run "explain --port 0" R explain --port 0
want_status 2
run "explain --bogus" R explain --bogus
want_status 2
grep -q "^rebind: explain: '--bogus' " "$TMP/err" || fail "$WHAT: does not name the bad option: $ERR"
run "explain --program" R explain --program
want_status 2
grep -q "^rebind: explain: '--program' needs a value" "$TMP/err" || fail "$WHAT: does not say what is wrong: $ERR"
# A command that does not exist: said so, and 127 as the wrapper would.
run "explain -- no-such-command" R explain -- rebind-no-such-command
want_status 127
[ -z "$OUT" ] && [ "$ERR" = "rebind: explain: rebind-no-such-command: command not found" ] ||
	fail "$WHAT: want one line saying the command is not found: $OUT / $ERR"
run "explain --port 70000" R explain --port 70000
want_status 2
run "explain, missing file" env REBIND_CONFIG="$TMP/missing.conf" "$REBIND_BIN" explain
want_status 2

### rebind -- check: a program called check

mkdir "$TMP/bin"
cat >"$TMP/bin/check" <<'EOF'
#!/bin/sh
echo "the program called check: $*"
exit 7
EOF
chmod +x "$TMP/bin/check"
export PATH="$TMP/bin:$PATH"
run "rebind -- check" R -- check one two
want_status 7
[ "$OUT" = "the program called check: one two" ] ||
	fail "$WHAT: did not run the program: stdout: $OUT / stderr: $ERR"
run "rebind --log=warn -- check" R --log=warn -- check three
want_status 7
[ "$OUT" = "the program called check: three" ] ||
	fail "$WHAT: did not run the program: stdout: $OUT / stderr: $ERR"
# Without "--", the subcommand, although a program check is in PATH.
run "rebind check (subcommand)" R check "$GOOD"
want_status 0
! grep -q "the program called check" "$TMP/out" || fail "$WHAT: ran the program: $OUT"
grep -qF "$GOOD" "$TMP/out" || fail "$WHAT: no report on $GOOD: $OUT"
exit 0
