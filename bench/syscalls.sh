#!/bin/bash
# The exact number of system calls each case makes with no preload, the
# pass-through floor, rebind and rebind with safe-abort (issue 13).
# Timings here move by tens of percent from round to round; counts do
# not.  `make bench` runs this after the timings; `make bench-syscalls`
# runs only this (seconds).  By hand, from the build directory:
#
#   bash bench/syscalls.sh
#
# Counted with `strace -f -c` (per system call), or, where ptrace is not
# allowed, `perf stat -e raw_syscalls:sys_enter` (totals only).
# Per-operation counts are the difference between a run of N and one of
# 2N operations, so start-up and warm-up cancel out.
#
# Environment: BENCH_BUILDDIR, BENCH_OUT as for bench/run.sh;
# BENCH_COUNTER=strace|perf picks the counter (default: the first that
# works).
# Output: the table on stdout (Markdown, as the README shows it) and
# syscalls.csv in BENCH_OUT (case,config,syscall,count per operation).

set -eu -o pipefail

. "$(dirname "$0")/lib.sh"
# A config file that sets nothing: rebind still finds and reads it.
CONF=$HERE/../conf/rebind.conf
CSV=$OUT/syscalls.csv
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# bench_close runs N/10 + 1 untimed operations, then N: with N a
# multiple of 10, the run of 2N makes 1.1 N operations more.
N=100
EXTRA_OPS=110

# Which counter works here: strace needs ptrace, perf needs
# perf_event_paranoid <= 1 or root.
pick_tool() {
	TOOL=${BENCH_COUNTER:-}
	if [ -n "$TOOL" ]; then
		return 0
	elif command -v strace >/dev/null &&
		strace -f -c -o /dev/null /bin/true 2>/dev/null; then
		TOOL=strace
	elif command -v perf >/dev/null &&
		perf stat -x, -e raw_syscalls:sys_enter -o /dev/null \
			/bin/true 2>/dev/null; then
		TOOL=perf
	else
		TOOL=""
	fi
}

# count CONFIG OUTFILE CMD...: OUTFILE gets "SYSCALL COUNT" lines, and a
# "total COUNT" line, for CMD run under CONFIG.
count() {
	local f=$2 raw=$TMP/raw
	local -a env
	config_env "$1"
	env=(REBIND_CONFIG="$CONF" "${CONFIG_ENV[@]}")
	shift 2
	if [ "$TOOL" = strace ]; then
		# -E: the variables reach the program, not strace itself.
		timeout 60 strace -f -c -o "$raw" "${env[@]/#/-E}" "$@" \
			>/dev/null
		awk '$NF == "total" { print "total", $4; next }
		     $4 ~ /^[0-9]+$/ { print $NF, $4 }' "$raw" >"$f"
	else
		# The counter starts at exec, so perf's own calls (under the
		# preload too) are not counted.
		timeout 60 env "${env[@]}" perf stat -x, -o "$raw" \
			-e raw_syscalls:sys_enter -- "$@" >/dev/null
		awk -F, '$3 == "raw_syscalls:sys_enter" { print "total", $1 }' \
			"$raw" >"$f"
	fi
}

# per_op CASE CONFIG: system calls per operation of bench_close CASE.
per_op() {
	count "$2" "$TMP/a" "$BCLOSE" "$1" "$N"
	count "$2" "$TMP/b" "$BCLOSE" "$1" "$((2 * N))"
	awk -v ops="$EXTRA_OPS" -v c="$1" -v cfg="$2" '
		NR == FNR { a[$1] = $2; next }
		{ d = ($2 - a[$1]) / ops; if (d != 0) print c "," cfg "," $1 "," d }
	' "$TMP/a" "$TMP/b"
}

# whole CASE CONFIG CMD...: system calls of the whole process.
whole() {
	local c=$1 cfg=$2
	shift 2
	count "$cfg" "$TMP/a" "$@"
	awk -v c="$c" -v cfg="$cfg" '{ print c "," cfg "," $1 "," $2 }' \
		"$TMP/a"
}

main() {
	local cfg f
	for f in "$LIBREBIND" "$PASSTHROUGH" "$BCLOSE"; do
		[ -e "$f" ] || die "$f is missing: run 'make bench'"
	done
	pick_tool
	if [ -z "$TOOL" ]; then
		echo "bench: system calls not counted: neither strace nor perf can trace here"
		return 0
	fi
	mkdir -p "$OUT"
	echo "case,config,syscall,count" >"$CSV"
	for cfg in "${CONFIGS[@]}"; do
		whole exec_true "$cfg" /bin/true
		whole exec_listen "$cfg" "$BCLOSE" listen_close 1
		per_op churn "$cfg"
		per_op churn_request "$cfg"
		per_op dup2_listener "$cfg"
		per_op listen_close "$cfg"
	done >>"$CSV"
	echo "# System calls (counted with $TOOL; per operation: the difference between $N and $((2 * N)) operations)"
	# Sorted by system call, so each cell lists them in that order.
	tail -n +2 "$CSV" | sort -t, -k3,3 | awk -f "$HERE/syscalls.awk"
}

main "$@"
