# shellcheck shell=bash disable=SC2034
# Shared by bench/run.sh and bench/syscalls.sh (bash): sourced, never
# run.  Where the programs are, the configurations, and a clean
# environment.

HERE=$(cd "$(dirname "$0")" && pwd)
B=${BENCH_BUILDDIR:-$(cd "$HERE/.." && pwd)}
OUT=${BENCH_OUT:-$B/bench}
LIBREBIND=$B/.libs/librebind.so
PASSTHROUGH=$B/bench/.libs/passthrough.so
BCLOSE=$B/bench/bench_close

CONFIGS=(none passthrough rebind safe-abort)

# Variables from the caller's shell would change what we measure.
unset LD_PRELOAD
for v in "${!REBIND_@}"; do
	unset "$v"
done

die() {
	echo "bench: $*" >&2
	exit 1
}

# config_env CONFIG: the variables that make CONFIG, in CONFIG_ENV.
config_env() {
	CONFIG_ENV=()
	case $1 in
	passthrough) CONFIG_ENV=("LD_PRELOAD=$PASSTHROUGH") ;;
	rebind) CONFIG_ENV=("LD_PRELOAD=$LIBREBIND") ;;
	safe-abort) CONFIG_ENV=("LD_PRELOAD=$LIBREBIND" REBIND_LINGER=safe-abort) ;;
	esac
}
