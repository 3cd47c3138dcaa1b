# Shared by the tests that need a real systemd (bash): sourced, never run.
# Source it first, before anything else runs: it re-executes the test
# inside private namespaces, then sources lib.sh itself.
#
# What the test gets: a systemd user manager of its own, started with
# sd_manager_start, driven with sctl (systemctl --user).  Units go in
# $SD_UNIT_DIR (sd_write_unit); give them StartLimitIntervalSec=0, or
# rapid restarts hit the start limit.  There is no journal: a unit that
# must show its output says StandardOutput=append:FILE (and the same for
# StandardError=).
#
# How: the test runs in a new mount and pid namespace (unshare), where
# a tmpfs covers /run/systemd and /run/systemd/system exists (without
# it systemd --user exits: "not booted with systemd").  That directory
# is never created outside the namespace: on a host not booted with
# systemd it changes what package scripts do.  The test script is pid 1
# there, so when it exits the kernel kills every process left in the
# namespace, the manager and every service included; unshare
# --kill-child does the same if the test itself is killed.  The tmpfs
# goes with the namespace.
#
# Skips (77, with the reason) when not root, when systemd, systemctl or
# unshare is missing, or when the manager does not come up here.

if [ -z "${RB_SD_INSIDE:-}" ]; then
	[ "$(id -u)" = 0 ] ||
		{ echo "SKIP: needs root (a private mount namespace)" >&2; exit 77; }
	for rb_sd_tool in unshare systemctl; do
		command -v "$rb_sd_tool" >/dev/null ||
			{ echo "SKIP: $rb_sd_tool is not installed" >&2; exit 77; }
	done
	unshare -m -p -f --mount-proc true 2>/dev/null ||
		{ echo "SKIP: unshare -m -p cannot make namespaces here" >&2; exit 77; }
	RB_SD_INSIDE=1 exec unshare -m -p -f --kill-child --mount-proc \
		--propagation private bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$srcdir/tests/integration/lib.sh"

SD_SYSTEMD=""
for rb_sd_bin in /lib/systemd/systemd /usr/lib/systemd/systemd; do
	[ -x "$rb_sd_bin" ] && { SD_SYSTEMD=$rb_sd_bin; break; }
done
[ -n "$SD_SYSTEMD" ] || skip "systemd is not installed (no lib/systemd/systemd)"

# Inside the namespace only.  Without /run/systemd on this host the
# tmpfs goes on /run itself (still private to the namespace).
rb_sd_run=/run/systemd
[ -d "$rb_sd_run" ] || rb_sd_run=/run
mount -t tmpfs -o mode=755 tmpfs "$rb_sd_run" ||
	hard_error "cannot mount a tmpfs on $rb_sd_run in the private namespace"
mkdir -p /run/systemd/system

export XDG_RUNTIME_DIR="$TMP/xdg-runtime" XDG_CONFIG_HOME="$TMP/xdg-config"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
SD_UNIT_DIR="$XDG_CONFIG_HOME/systemd/user"
mkdir -p "$SD_UNIT_DIR"
SD_PID=""
SD_LOG="$TMP/systemd-user.log"

# sctl ARGS...: systemctl --user ARGS, bounded.
sctl() {
	timeout 30 systemctl --user "$@"
}

# sd_manager_start: start the user manager and wait (at most 10 s) until
# it runs.  Skips when it exits or never gets there.
sd_manager_start() {
	local i=0 state=""
	"$SD_SYSTEMD" --user >"$SD_LOG" 2>&1 &
	SD_PID=$!
	while [ $i -lt 200 ]; do
		state=$(timeout 5 systemctl --user is-system-running 2>/dev/null)
		case $state in
		running | degraded) return 0 ;;
		esac
		kill -0 "$SD_PID" 2>/dev/null ||
			skip "systemd --user exited here: $(tail -3 "$SD_LOG")"
		sleep 0.05
		i=$((i + 1))
	done
	skip "systemd --user did not come up within 10 s (state '$state'): $(tail -3 "$SD_LOG")"
}

# sd_manager_stop: stop the manager (it stops its units first) and reap
# it; SIGKILL after 10 s.  The namespace's end kills whatever is left.
sd_manager_stop() {
	local i=0
	[ -n "$SD_PID" ] || return 0
	kill -TERM "$SD_PID" 2>/dev/null
	while kill -0 "$SD_PID" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -KILL "$SD_PID" 2>/dev/null
	wait "$SD_PID" 2>/dev/null
	SD_PID=""
}

# Runs before lib.sh's cleanup (which removes $TMP, the manager's
# runtime directory among it).
trap 'sd_manager_stop; cleanup' EXIT

# sd_write_unit NAME: the unit file NAME gets stdin; the manager reloads.
sd_write_unit() {
	cat >"$SD_UNIT_DIR/$1" || hard_error "cannot write unit $1"
	sctl daemon-reload || hard_error "daemon-reload failed"
}

# sd_prop UNIT PROPERTY: the property's value (systemctl show --value).
sd_prop() {
	sctl show --value -p "$2" "$1"
}

# sd_main_pid UNIT: the unit's main pid (0 when it has none).
sd_main_pid() {
	sd_prop "$1" MainPID
}

# sd_wait_active UNIT: poll until UNIT is active (at most 10 s).
sd_wait_active() {
	local i=0
	while [ $i -lt 200 ]; do
		[ "$(sctl is-active "$1" 2>/dev/null)" = active ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
