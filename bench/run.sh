#!/bin/bash
# What librebind costs, against no preload and against a pass-through
# preload that only forwards the same calls (the floor any shim pays).
# Issue 6.  `make bench` runs this with the paths set; by hand, from the
# build directory after `make bench` built the programs:
#
#   bash bench/run.sh                  full run (about a minute on 2 cores)
#   BENCH_QUICK=1 bash bench/run.sh    seconds; CI runs it
#
# Every case runs under the four configurations in the same round, in an
# order that rotates from round to round; ratios are taken within a round
# (paired), then summarised over the rounds: median and min..max.
#
# Environment:
#   BENCH_QUICK=1    2 rounds, a tenth of the work; restart after 1,000
#                    connections instead of 10,000
#   BENCH_ROUNDS=N   number of rounds (default 9)
#   BENCH_CPU=N      pin the microbenchmarks to CPU N (default: the last
#                    one; "none" leaves scheduling to the kernel)
#   BENCH_BUILDDIR   where librebind, legacy-server and bench/ were built
#   BENCH_OUT        where the CSV files go (default $BENCH_BUILDDIR/bench)
# Output: the table on stdout (also in table.txt) and, in BENCH_OUT:
#   results.csv  one row per round, case and configuration
#   summary.csv  one row per case and configuration
#   ratios.csv   cost relative to no preload, for bench/plot.gp
#   syscalls.csv system calls per case (bench/syscalls.sh, in the table too)

set -eu -o pipefail

. "$(dirname "$0")/lib.sh"
LEGACY=$B/legacy-server
BPROC=$B/bench/bench_proc
BRSS=$B/bench/bench_rss
SS=$(command -v ss || echo /usr/sbin/ss)
LOG=$OUT/bench.log
CSV=$OUT/results.csv

MICRO=(close_file socket_close listen_close churn dup2_close)
# Iterations per sample in the full run (about 0.1-0.2 s each here).
declare -A ITERS=([close_file]=400000 [socket_close]=30000
	[listen_close]=10000 [churn]=2000 [dup2_close]=200000)

settings() {
	if [ "${BENCH_QUICK:-}" = 1 ]; then
		ROUNDS=${BENCH_ROUNDS:-2} SCALE=10 EXECS=20 RUNS=3 CONNS=1000
	else
		ROUNDS=${BENCH_ROUNDS:-9} SCALE=1 EXECS=200 RUNS=11 CONNS=10000
	fi
	[ "$ROUNDS" -ge 1 ] || die "BENCH_ROUNDS must be at least 1"
	local cpu=${BENCH_CPU:-$(($(nproc) - 1))}
	PIN=()
	if [ "$cpu" != none ] && command -v taskset >/dev/null; then
		PIN=(taskset -c "$cpu")
	fi
}

# The floor is only a floor if it wraps exactly what librebind wraps.
check_inputs() {
	local f a b
	for f in "$LIBREBIND" "$PASSTHROUGH" "$LEGACY" "$BCLOSE" "$BPROC" \
		"$BRSS"; do
		[ -e "$f" ] || die "$f is missing: run 'make bench'"
	done
	command -v nm >/dev/null || return 0
	a=$(nm -D --defined-only "$LIBREBIND" | awk '{print $3}' | sort)
	b=$(nm -D --defined-only "$PASSTHROUGH" | awk '{print $3}' | sort)
	[ "$a" = "$b" ] ||
		die "passthrough.so does not export what librebind.so does"
}

# run_in CONFIG CMD...: CMD under that configuration, bounded in time.
run_in() {
	config_env "$1"
	shift
	timeout 120 env "${CONFIG_ENV[@]}" "$@" 2>>"$LOG"
}

# The configurations, rotated by round number so none always runs first.
order() {
	local i n=${#CONFIGS[@]}
	for ((i = 0; i < n; i++)); do
		echo "${CONFIGS[(i + $1) % n]}"
	done
}

# record ROUND CASE CONFIG VALUE UNIT STATUS NOTE
record() {
	local IFS=,
	echo "$*" >>"$CSV"
}

# value NAME OUTPUT: the value on OUTPUT's line "NAME,VALUE,UNIT...".
value() {
	awk -F, -v n="$1" '$1 == n { print $2; exit }' <<<"$2"
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

micro_round() {
	local r=$1 c cfg n out
	for c in "${MICRO[@]}"; do
		n=$((ITERS[$c] / SCALE))
		for cfg in $(order "$r"); do
			out=$(run_in "$cfg" "${PIN[@]}" "$BCLOSE" "$c" "$n")
			[ -n "$(value "$c" "$out")" ] || die "$c under $cfg failed"
			record "$r" "$c" "$cfg" "$(value "$c" "$out")" \
				"$(cut -d, -f3 <<<"$out")" ok ""
		done
	done
}

exec_round() {
	local r=$1 cfg out
	for cfg in $(order "$r"); do
		out=$(run_in "$cfg" "$BPROC" exec "$EXECS" /bin/true)
		record "$r" exec_true "$cfg" "$(value exec "$out")" us/op ok ""
	done
}

# One configuration's memory: the median of RUNS runs, per field.
rss_one() {
	local r=$1 cfg=$2 mode=$3 i all=""
	for ((i = 0; i < RUNS; i++)); do
		all+=$(run_in "$cfg" "$BRSS" ${mode:+"$mode"})$'\n'
	done
	record "$r" "rss_${mode:-idle}" "$cfg" \
		"$(awk -F, '$1 == "rss" { print $2 }' <<<"$all" | median)" KiB ok ""
	record "$r" "anon_${mode:-idle}" "$cfg" \
		"$(awk -F, '$1 == "anon" { print $2 }' <<<"$all" | median)" KiB ok ""
}

rss_round() {
	local r=$1 cfg
	for cfg in $(order "$r"); do
		rss_one "$r" "$cfg" ""
		rss_one "$r" "$cfg" closeall
	done
}

# A cold start on a fresh port: the median of RUNS starts.
start_round() {
	local r=$1 cfg i all
	for cfg in $(order "$r"); do
		all=""
		for ((i = 0; i < RUNS; i++)); do
			all+=$(run_in "$cfg" "$BPROC" ready "$LEGACY" -q)$'\n'
		done
		record "$r" start "$cfg" \
			"$(awk -F, '$4 == "ok" { print $2 }' <<<"$all" | median)" ms ok ""
	done
}

# Wait (75 s at most) until the kernel has room for $1 more TIME_WAIT
# entries: past tcp_max_tw_buckets it drops them, and a restart without
# rebind would then succeed and prove nothing.
tw_room() {
	local max i used
	max=$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets 2>/dev/null || echo 0)
	[ "$max" -gt 0 ] && [ -x "$SS" ] || return 0
	for ((i = 0; i < 75; i++)); do
		used=$("$SS" -Htan state time-wait | wc -l)
		((used + $1 <= max * 8 / 10)) && return 0
		sleep 1
	done
	echo "bench: $used TIME_WAIT entries; the restart may be wrong" >&2
}

# The daemon serves CONNS connections and exits, leaving its port full of
# TIME_WAIT; then a new instance starts on that port.
restart_one() {
	local r=$1 cfg=$2 out port tw="?"
	tw_room "$CONNS"
	out=$(run_in "$cfg" "$BPROC" serve "$CONNS" "$LEGACY" -q -n "$CONNS")
	port=$(value serve "$out")
	[ -n "$port" ] || die "legacy-server under $cfg did not serve"
	if [ -x "$SS" ]; then
		tw=$("$SS" -Htan state time-wait "( sport = :$port )" | wc -l)
	fi
	out=$(run_in "$cfg" "$BPROC" ready "$LEGACY" -q -p "$port")
	record "$r" restart "$cfg" "$(value ready "$out")" ms \
		"$(cut -d, -f4 <<<"$out")" "tw=$tw"
	# Done with them: with CAP_NET_ADMIN, free the kernel (and other
	# users of this machine) from 10,000 entries at once.
	if [ -x "$SS" ]; then
		"$SS" -K state time-wait "( sport = :$port )" >/dev/null 2>&1 || :
	fi
}

restart_round() {
	local r=$1 cfg
	for cfg in $(order "$r"); do
		restart_one "$r" "$cfg"
	done
}

machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "# $(uname -n): ${cpu:-unknown CPU}, $(nproc) CPUs," \
		"Linux $(uname -r), $(ldd --version | awk 'NR == 1 { print $NF }')" \
		"glibc; $ROUNDS rounds${BENCH_QUICK:+ (quick)}, $(date -u '+%F %H:%M UTC')"
}

main() {
	settings
	check_inputs
	mkdir -p "$OUT"
	: >"$LOG"
	echo "round,case,config,value,unit,status,note" >"$CSV"
	local r
	for ((r = 1; r <= ROUNDS; r++)); do
		echo "bench: round $r of $ROUNDS" >&2
		micro_round "$r"
		exec_round "$r"
		rss_round "$r"
		start_round "$r"
		# Every other round: each restart piles 10,000 TIME_WAIT
		# entries into the kernel's table (tcp_max_tw_buckets).
		if ((r % 2 == 1)); then
			restart_round "$r"
		fi
	done
	{
		machine
		awk -f "$HERE/summary.awk" -v out="$OUT" "$CSV"
		echo
		BENCH_BUILDDIR=$B BENCH_OUT=$OUT bash "$HERE/syscalls.sh"
	} | tee "$OUT/table.txt"
	hold_row | tee -a "$OUT/table.txt"
}

# Restarts under load without and with hold = systemd (bench/hold.sh);
# it needs root and systemd and says so when they are missing.
hold_row() {
	local st=0
	echo
	BENCH_BUILDDIR="$B" BENCH_SRCDIR="$HERE/.." \
		BENCH_HOLD_RESTARTS="$([ "${BENCH_QUICK:-}" = 1 ] && echo 3 || echo 10)" \
		bash "$HERE/hold.sh" 2>>"$LOG" || st=$?
	[ $st = 0 ] || echo "restart under load: not measured ($(tail -1 "$LOG"))"
}

main "$@"
