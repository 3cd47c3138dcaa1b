#!/bin/bash
# rebind enable/disable --user against a real systemd user manager
# (systemd_lib.sh): the drop-in preloads the library and sets hold's
# unit settings, the restarted legacy-server has librebind.so mapped and
# REBIND_HOLD in its environment, and systemd holds its listener for the
# next instance (LISTEN_FDS=1), a unit's own LD_PRELOAD is merged
# (library first), a forking unit gets NotifyAccess=all, unknown units
# and units whose EnvironmentFile= sets LD_PRELOAD (it would beat the
# drop-in) are refused with one line and nothing written, and both are
# idempotent.  DropInPaths is checked at every step.  The system
# manager's /etc is never written here: only --user is tested.

. "${srcdir:-.}/tests/integration/systemd_lib.sh" || exit 99

# A sanitizer build's wrapper puts its runtime into LD_PRELOAD too, and
# enable then does not recognise the drop-in it wrote (closing note of
# this change); installed builds have no runtime.
[ -z "${SANITIZER_RUNTIME:-}" ] ||
	skip "a sanitizer build's drop-in carries the sanitizer runtime"

sd_manager_start

# unit NAME [SERVICE LINES...]: a unit running legacy-server.
unit() {
	local name=$1
	shift
	{
		printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\n'
		printf '%s\n' "$@"
		echo "ExecStart=$LEGACY_SERVER -q -p 0"
	} | sd_write_unit "$name"
}

dropin() { echo "$SD_UNIT_DIR/$1.d/rebind.conf"; }

# expect_dropins UNIT PATHS: what systemd says it reads for UNIT.
expect_dropins() {
	local got
	got=$(sd_prop "$1" DropInPaths)
	[ "$got" = "$2" ] || fail "$1: DropInPaths '$got', expected '$2'"
}

# restarted UNIT: restart it and print the new main pid.
restarted() {
	sctl restart "$1" || fail "restart $1 failed"
	sd_wait_active "$1" || fail "$1 is not active after restart"
	sd_main_pid "$1"
}

maps_lib() { grep -q "/librebind\.so$" "/proc/$1/maps"; }
env_has() { tr '\0' '\n' <"/proc/$1/environ" | grep -qx "$2"; }

# rebind ARGS: runs the wrapper; output in $OUT, stderr in $ERR, status $RC.
rb() {
	"$REBIND_BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

rb enable --help
[ "$RC" = 0 ] && grep -q "^Usage: rebind enable \[--user\] UNIT" <<<"$OUT" ||
	fail "enable --help: exit $RC: $OUT"
rb disable --user
[ "$RC" = 2 ] || fail "disable without a unit: exit $RC, expected 2"

unit leg.service
sctl start leg.service || fail "cannot start leg.service"
sd_wait_active leg.service || fail "leg.service not active"
pid=$(sd_main_pid leg.service)
! maps_lib "$pid" || hard_error "librebind.so mapped before enable"
expect_dropins leg.service ""

# --- enable ----------------------------------------------------------------
rb enable --user leg
[ "$RC" = 0 ] || fail "enable: exit $RC: $ERR"
f=$(dropin leg.service)
[ -f "$f" ] || fail "enable wrote no $f: $OUT"
grep -qx "Environment=LD_PRELOAD=$SHIM_PRELOAD" "$f" ||
	fail "no LD_PRELOAD=$SHIM_PRELOAD in $f: $(cat "$f")"
grep -qx "Environment=REBIND_HOLD=systemd" "$f" || fail "no REBIND_HOLD: $(cat "$f")"
grep -qx "FileDescriptorStoreMax=16" "$f" || fail "no fd store: $(cat "$f")"
! grep -q NotifyAccess "$f" || fail "NotifyAccess for Type=simple: $(cat "$f")"
grep -q "leg.service: wrote $f" <<<"$OUT" || fail "enable did not say what it wrote: $OUT"
grep -q "60 s" <<<"$OUT" || fail "enable did not mention the adoption-day restart: $OUT"
expect_dropins leg.service "$f"
[ "$(sd_prop leg.service FileDescriptorStoreMax)" = 16 ] ||
	fail "FileDescriptorStoreMax is not 16 for systemd"
pid=$(restarted leg.service)
maps_lib "$pid" || fail "librebind.so is not mapped after the restart (pid $pid)"
env_has "$pid" REBIND_HOLD=systemd || fail "REBIND_HOLD=systemd not in the daemon's environment"
# The settings are enough for hold: systemd keeps the listener and hands
# it to the next instance.
i=0
while [ "$(sd_prop leg.service NFileDescriptorStore)" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.02
	i=$((i + 1))
done
[ "$(sd_prop leg.service NFileDescriptorStore)" = 1 ] || fail "systemd holds no listener of leg.service"
pid=$(restarted leg.service)
env_has "$pid" LISTEN_FDS=1 || fail "the next instance got no LISTEN_FDS=1 from the store"

# --- enable again: nothing rewritten ---------------------------------------
before=$(stat -c '%i %y' "$f")
rb enable --user leg.service
[ "$RC" = 0 ] || fail "second enable: exit $RC: $ERR"
grep -q "leg.service: already enabled" <<<"$OUT" || fail "second enable said: $OUT"
[ "$(stat -c '%i %y' "$f")" = "$before" ] || fail "second enable rewrote $f"
expect_dropins leg.service "$f"

# --- unknown units: refused, one line, nothing written ---------------------
rb enable --user no-such-unit
[ "$RC" = 1 ] || fail "unknown unit: exit $RC, expected 1 ($OUT $ERR)"
[ "$(wc -l <"$TMP/err")" = 1 ] || fail "unknown unit: not one line: $ERR"
grep -q "no-such-unit.service: refused: systemd knows no such unit" <<<"$ERR" ||
	fail "unknown unit: $ERR"
[ ! -e "$SD_UNIT_DIR/no-such-unit.service.d" ] || fail "unknown unit got a directory"
unit other.service
rb enable --user other.service no-such-unit
[ "$RC" = 1 ] || fail "known + unknown unit: exit $RC"
[ ! -e "$(dropin other.service)" ] || fail "a refused enable still wrote other.service's drop-in"
rb enable --user 'a/b'
[ "$RC" = 2 ] || fail "enable a/b: exit $RC, expected 2"

# --- a unit with its own LD_PRELOAD: merged, library first -----------------
libm=libm.so.6
printf 'BAZ=3\n' >"$TMP/preenv"
unit pre.service "Environment=LD_PRELOAD=$libm FOO=1" "EnvironmentFile=$TMP/preenv"
mkdir -p "$SD_UNIT_DIR/pre.service.d"
printf '[Service]\nEnvironment=BAR=2\n' >"$SD_UNIT_DIR/pre.service.d/other.conf"
sctl daemon-reload
rb enable --user pre.service
[ "$RC" = 0 ] || fail "enable pre: exit $RC: $ERR"
f=$(dropin pre.service)
grep -qx "Environment=LD_PRELOAD=$SHIM_PRELOAD:$libm" "$f" ||
	fail "LD_PRELOAD not merged: $(cat "$f")"
expect_dropins pre.service "$SD_UNIT_DIR/pre.service.d/other.conf $f"
pid=$(restarted pre.service)
maps_lib "$pid" || fail "pre: librebind.so not mapped"
grep -q "/$libm$" "/proc/$pid/maps" || fail "pre: the unit's own $libm is not mapped"
env_has "$pid" FOO=1 || fail "pre: the unit's other variables are lost"
before=$(stat -c '%i %y' "$f")
rb enable --user pre.service
[ "$RC" = 0 ] && [ "$(stat -c '%i %y' "$f")" = "$before" ] ||
	fail "second enable of pre rewrote it (exit $RC): $OUT $ERR"

# --- an EnvironmentFile= that sets LD_PRELOAD would win: refused -----------
printf 'FOO=1\n LD_PRELOAD = %s\n' "$libm" >"$TMP/envfile"
unit envf.service "EnvironmentFile=-$TMP/envfile"
rb enable --user envf.service
[ "$RC" = 1 ] || fail "EnvironmentFile with LD_PRELOAD: exit $RC, expected 1: $OUT"
[ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "EnvironmentFile $TMP/envfile sets LD_PRELOAD" <<<"$ERR" ||
	fail "EnvironmentFile with LD_PRELOAD: $ERR"
[ ! -e "$(dropin envf.service)" ] || fail "refused EnvironmentFile unit got a drop-in"
expect_dropins envf.service ""

# --- Type=forking: NotifyAccess=all -----------------------------------------
printf '[Service]\nType=forking\nExecStart=/bin/true\n' | sd_write_unit fork.service
rb enable --user fork.service
[ "$RC" = 0 ] || fail "enable fork: exit $RC: $ERR"
grep -qx "NotifyAccess=all" "$(dropin fork.service)" || fail "forking: no NotifyAccess=all"
[ "$(sd_prop fork.service NotifyAccess)" = all ] || fail "forking: systemd has no NotifyAccess=all"

# --- disable ------------------------------------------------------------------
rb disable --user leg
[ "$RC" = 0 ] || fail "disable: exit $RC: $ERR"
[ ! -e "$SD_UNIT_DIR/leg.service.d" ] || fail "disable left $SD_UNIT_DIR/leg.service.d"
expect_dropins leg.service ""
pid=$(restarted leg.service)
! maps_lib "$pid" || fail "librebind.so still mapped after disable and restart"
rb disable --user leg.service
[ "$RC" = 0 ] || fail "second disable: exit $RC: $ERR"
grep -q "leg.service: not enabled" <<<"$OUT" || fail "second disable said: $OUT"
rb disable --user pre.service
[ "$RC" = 0 ] || fail "disable pre: exit $RC: $ERR"
[ -f "$SD_UNIT_DIR/pre.service.d/other.conf" ] || fail "disable removed another drop-in"
[ ! -e "$(dropin pre.service)" ] || fail "disable kept pre's drop-in"
expect_dropins pre.service "$SD_UNIT_DIR/pre.service.d/other.conf"
exit 0
