#!/bin/bash
# AT_SECURE: in a set-gid process the library ignores REBIND_* variables
# and REBIND_CONFIG and reads only the system file.  secure_probe
# dlopen()s the library (the loader ignores LD_PRELOAD there), binds and
# listens through it and reports SO_LINGER and SO_REUSEADDR.  A copy of
# the probe made set-gid to a group the caller is not running as gets
# secure=1; with REBIND_LINGER=abort, REBIND_CONFIG=<a file saying
# linger = abort> (each, and both), REBIND_ENABLE=no, or a REBIND_CONFIG
# that is missing or broken, it must report what the same probe reports
# without any REBIND_* variable (with no system file: linger=0,0
# reuseaddr=1, the defaults), although the variables reach it.  Control:
# the probe without the set-gid bit (secure=0) with the same environment
# reports linger=1,0, or reuseaddr=0 where rebind is off.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

: "${PROBES:?set by make check}"
SECURE_PROBE="$PROBES/secure_probe"
[ -x "$SECURE_PROBE" ] || hard_error "$SECURE_PROBE is not built"
case $LIBREBIND in
/*) ;;
*) hard_error "LIBREBIND is not an absolute path: $LIBREBIND" ;;
esac
unset REBIND_CONFIG REBIND_ENABLE REBIND_OVERRIDE

# A group the probe can be set-gid to, other than the one we run as:
# root may take any; others need a supplementary group.
if [ "$(id -u)" = 0 ]; then
	GROUP=$(getent group nogroup | cut -d: -f3)
	[ -n "$GROUP" ] && [ "$GROUP" != "$(id -g)" ] ||
		GROUP=$(getent group | cut -d: -f3 | grep -vx "$(id -g)" | head -1)
else
	GROUP=$(id -G | tr ' ' '\n' | grep -vx "$(id -g)" | head -1)
fi
[ -n "$GROUP" ] || skip "no group other than $(id -g) to make the probe set-gid to (run as root)"

# setgid_copy DIR: a set-gid copy of the probe in DIR; sets SECURE_COPY.
setgid_copy() {
	SECURE_COPY="$1/secure_probe"
	cp "$SECURE_PROBE" "$SECURE_COPY" &&
		chgrp "$GROUP" "$SECURE_COPY" 2>/dev/null &&
		chmod 2755 "$SECURE_COPY" 2>/dev/null &&
		[ -g "$SECURE_COPY" ]
}

# probe [VAR=VALUE...]: run the probe given in PROBE; its stdout in OUT
# (the env lines in ENVS, the report in REPORT, secure=N in SECURE).
probe() {
	OUT=$(timeout 10 env "$@" "$PROBE" "$LIBREBIND" 2>"$TMP/probe.err") ||
		hard_error "$PROBE $*: failed: $(cat "$TMP/probe.err")"
	SECURE=$(echo "$OUT" | sed -n 's/^secure=//p')
	ENVS=$(echo "$OUT" | sed -n 's/^env //p' | sort | paste -sd' ')
	REPORT=$(echo "$OUT" | grep '^linger=')
	[ -n "$REPORT" ] || hard_error "$PROBE $*: no report: $OUT"
}

setgid_copy "$TMP" || skip "cannot make a set-gid copy of the probe in $TMP (chgrp $GROUP)"
PROBE=$SECURE_COPY
probe
if [ "$SECURE" != 1 ]; then
	# $TMP may be on a nosuid file system: try the build tree.
	ALT=$(mktemp -d "$(dirname "$SECURE_PROBE")/secure.XXXXXX") ||
		skip "the set-gid probe in $TMP runs with secure=$SECURE (nosuid?)"
	trap 'rm -rf "$ALT"; cleanup' EXIT
	setgid_copy "$ALT" && PROBE=$SECURE_COPY && probe
	[ "$SECURE" = 1 ] ||
		skip "a set-gid program runs with secure=$SECURE here (nosuid mounts or no_new_privs): $(grep NoNewPrivs /proc/self/status)"
fi
SECURE_BASE=$REPORT

# The plain probe without REBIND_*: what the system file (or its
# absence) gives.  The set-gid probe must always get the same.
PROBE=$SECURE_PROBE
probe
[ "$SECURE" = 0 ] || hard_error "the plain probe runs with secure=$SECURE"
BASE=$REPORT
[ "$SECURE_BASE" = "$BASE" ] ||
	fail "without REBIND_* the set-gid probe reports '$SECURE_BASE', the plain one '$BASE'"
if env -u REBIND_CONFIG timeout 10 "$REBIND_BIN" check 2>&1 | grep -q 'no such file'; then
	[ "$BASE" = "linger=0,0 reuseaddr=1" ] ||
		fail "no system file, no REBIND_*: want the defaults 'linger=0,0 reuseaddr=1', got '$BASE'"
else
	note "a system rebind.conf exists here: the defaults are not checked," \
		"the set-gid probe must match '$BASE'"
fi

printf '# secure_exec.sh\nlinger = abort\n' >"$TMP/abort.conf"
printf 'linger = sometimes\n' >"$TMP/broken.conf"

# CASES: ENV ... | CONTROL: the plain probe with ENV reports CONTROL.
while IFS='|' read -r envs control; do
	# shellcheck disable=SC2086
	set -- $envs
	PROBE=$SECURE_PROBE
	probe "$@"
	[ "$REPORT" = "$control" ] ||
		fail "control, secure=0, $envs: want '$control', got '$REPORT'"
	[ "$REPORT" != "$BASE" ] ||
		hard_error "control, secure=0, $envs: the same as without the variables, so this test cannot tell"

	PROBE=$SECURE_COPY
	probe "$@"
	[ "$SECURE" = 1 ] || hard_error "the set-gid probe runs with secure=$SECURE"
	[ "$ENVS" = "$(printf '%s\n' "$@" | sort | paste -sd' ')" ] ||
		hard_error "set-gid, $envs: the variables did not reach the probe (it saw: $ENVS)"
	[ "$REPORT" = "$BASE" ] ||
		fail "set-gid (AT_SECURE), $envs: want '$BASE' (the variables ignored), got '$REPORT'"
	note "$envs: secure=0: $control; secure=1: $REPORT"
done <<EOF
REBIND_LINGER=abort|linger=1,0 reuseaddr=1
REBIND_CONFIG=$TMP/abort.conf|linger=1,0 reuseaddr=1
REBIND_CONFIG=$TMP/abort.conf REBIND_LINGER=abort|linger=1,0 reuseaddr=1
REBIND_ENABLE=no|linger=0,0 reuseaddr=0
REBIND_CONFIG=$TMP/missing.conf|linger=0,0 reuseaddr=0
REBIND_CONFIG=$TMP/broken.conf|linger=0,0 reuseaddr=0
EOF
exit 0
