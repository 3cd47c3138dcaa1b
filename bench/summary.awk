# Summarises bench/run.sh's results.csv (round,case,config,value,unit,
# status,note): prints the table and the issue's targets, and writes
# summary.csv and ratios.csv into the directory `out`.
#
# Ratios are paired: value / the baseline's value in the same round, then
# the median and min..max of those.  "x none" compares with no preload,
# "x floor" with the pass-through preload.  A sample whose status is not
# "ok" (a restart that failed) is left out of every ratio.

BEGIN {
	FS = ","
	ncfg = split("none passthrough rebind safe-abort", cfgs, " ")
	if (out == "")
		out = "."
}

NR == 1 { next }

{
	r = $1 + 0
	if (!($2 in unit))
		cases[++ncase] = $2
	unit[$2] = $5
	val[$2, $3, r] = $4 + 0
	ok[$2, $3, r] = ($6 == "ok")
	if ($6 != "ok")
		why[$2, $3] = $6
	if ($7 != "")
		note[$2, $3] = note[$2, $3] " " $7
	if (r > maxr)
		maxr = r
}

# Sorts a[1..n] (insertion sort: n is the number of rounds) and sets
# S_med, S_min and S_max.
function stats(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	S_min = a[1]
	S_max = a[n]
	S_med = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function good(c, g, r) {
	return ((c, g, r) in val) && ok[c, g, r]
}

# The ok values of case c under g into a[]; returns how many.
function values(c, g, a,    r, n) {
	split("", a)
	for (r = 1; r <= maxr; r++)
		if (good(c, g, r))
			a[++n] = val[c, g, r]
	return n
}

# Paired ratios of c under g to c under base into a[]; returns how many.
function ratios(c, g, base, a,    r, n) {
	split("", a)
	for (r = 1; r <= maxr; r++)
		if (good(c, g, r) && good(c, base, r) && val[c, base, r] > 0)
			a[++n] = val[c, g, r] / val[c, base, r]
	return n
}

# Fills MED/LO/HI, N and NBAD for (c, g), and for each ratio XN/XF,
# their LO/HI and NXN/NXF (how many rounds paired).
function summarise(c, g,    a, n, r) {
	n = values(c, g, a)
	N[c, g] = n
	NBAD[c, g] = 0
	for (r = 1; r <= maxr; r++)
		if (((c, g, r) in val) && !ok[c, g, r])
			NBAD[c, g]++
	if (n) {
		stats(a, n)
		MED[c, g] = S_med; LO[c, g] = S_min; HI[c, g] = S_max
	}
	if ((NXN[c, g] = ratios(c, g, "none", a))) {
		stats(a, NXN[c, g])
		XN[c, g] = S_med; XNLO[c, g] = S_min; XNHI[c, g] = S_max
	}
	if ((NXF[c, g] = ratios(c, g, "passthrough", a))) {
		stats(a, NXF[c, g])
		XF[c, g] = S_med; XFLO[c, g] = S_min; XFHI[c, g] = S_max
	}
}

function num(v) {
	if (v >= 1000)
		return sprintf("%.0f", v)
	return v >= 10 ? sprintf("%.1f", v) : sprintf("%.3f", v)
}

function ratio_text(m, lo, hi) {
	return sprintf("%.3f (%.3f..%.3f)", m, lo, hi)
}

function row(c, g,    med, range, xn, xf) {
	med = "FAIL"
	range = why[c, g] " in " NBAD[c, g] "/" NBAD[c, g] + N[c, g]
	if (N[c, g]) {
		med = num(MED[c, g])
		range = num(LO[c, g]) ".." num(HI[c, g])
		if (NBAD[c, g])
			range = range " (" NBAD[c, g] " failed)"
	}
	xn = NXN[c, g] ? ratio_text(XN[c, g], XNLO[c, g], XNHI[c, g]) : "-"
	xf = NXF[c, g] ? ratio_text(XF[c, g], XFLO[c, g], XFHI[c, g]) : "-"
	printf "%-13s %-11s %9s  %-19s %-6s %-21s %-21s%s\n", c, g, med, range,
		unit[c], xn, xf, note[c, g] == "" ? "" : "  tw:" tw(c, g)
	printf "%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", c, g, unit[c],
		N[c, g], NBAD[c, g], MED[c, g], LO[c, g], HI[c, g], XN[c, g],
		XNLO[c, g], XNHI[c, g], XF[c, g], XFLO[c, g], XFHI[c, g] >> sumf
}

# The median TIME_WAIT count noted for a restart ("tw=N" per round).
function tw(c, g,    a, n, i, parts) {
	n = split(note[c, g], parts, " ")
	for (i = 1; i <= n; i++)
		a[i] = substr(parts[i], 4) + 0
	stats(a, n)
	return S_med
}

# One line of ratios.csv: cost relative to no preload (for conn/s, the
# inverse, so that above 1 always means worse).
function plot_row(c,    i, g, line, m, lo, hi) {
	line = c
	for (i = 2; i <= ncfg; i++) {
		g = cfgs[i]
		if (!NXN[c, g])
			return
		m = XN[c, g]; lo = XNLO[c, g]; hi = XNHI[c, g]
		if (unit[c] == "conn/s") {
			m = 1 / m; lo = 1 / XNHI[c, g]; hi = 1 / XNLO[c, g]
		}
		line = line sprintf(",%.4f,%.4f,%.4f", m, lo, hi)
	}
	print line >> ratf
}

function verdict(text, shown, met) {
	printf "  %-58s %-22s %s\n", text, shown, met ? "met" : "MISSED"
}

# Is the median ratio of (c, g) to which ("none" or "floor") within
# limit?  op is "<=" or ">=".
function target_ratio(label, c, g, which, op, limit,    m, have) {
	have = which == "floor" ? NXF[c, g] : NXN[c, g]
	if (!have) {
		verdict(label " (" g ")", "no data", 0)
		return
	}
	m = which == "floor" ? XF[c, g] : XN[c, g]
	verdict(label " (" g ")", sprintf("%.3f", m),
		op == "<=" ? m <= limit : m >= limit)
}

function target_memory(c, g,    d) {
	if (!N[c, g] || !N[c, "none"]) {
		verdict(c " overhead < 64 KiB (" g ")", "no data", 0)
		return
	}
	d = MED[c, g] - MED[c, "none"]
	verdict(c " overhead < 64 KiB (" g ")", sprintf("%+d KiB", d), d < 64)
}

function target_restart(g) {
	verdict("restart after TIME_WAIT: listening in < 10 ms (" g ")",
		N["restart", g] ? num(MED["restart", g]) " ms" : "failed",
		N["restart", g] && !NBAD["restart", g] && MED["restart", g] < 10)
}

function targets(    i, g) {
	print ""
	print "Targets (issue 6):" (maxr < 5 ? \
		" only " maxr " round(s): indicative, not a verdict" : "")
	for (i = 3; i <= ncfg; i++) {
		g = cfgs[i]
		target_ratio("close() of a non-socket: x floor <= 1.02",
			"close_file", g, "floor", "<=", 1.02)
		target_ratio("process start: x floor <= 1.02", "exec_true", g,
			"floor", "<=", 1.02)
		target_ratio("connection churn: x none >= 0.97", "churn", g,
			"none", ">=", 0.97)
		target_restart(g)
		target_memory("rss_idle", g)
		target_memory("rss_closeall", g)
		target_memory("anon_idle", g)
		target_memory("anon_closeall", g)
	}
	verdict("control: restart without rebind fails (none)",
		N["restart", "none"] ? "succeeded" : why["restart", "none"],
		("restart", "none") in why && !N["restart", "none"])
}

END {
	sumf = out "/summary.csv"
	ratf = out "/ratios.csv"
	print "case,config,unit,n_ok,n_failed,median,min,max,x_none," \
		"x_none_min,x_none_max,x_floor,x_floor_min,x_floor_max" > sumf
	print "case,passthrough,pt_min,pt_max,rebind,rb_min,rb_max," \
		"safe_abort,sa_min,sa_max" > ratf
	printf "%-13s %-11s %9s  %-19s %-6s %-21s %-21s\n", "case", "config",
		"median", "min..max", "unit", "x none (min..max)",
		"x floor (min..max)"
	for (i = 1; i <= ncase; i++) {
		for (j = 1; j <= ncfg; j++) {
			summarise(cases[i], cfgs[j])
			row(cases[i], cfgs[j])
		}
		plot_row(cases[i])
	}
	targets()
}
