# Turns bench/syscalls.sh's syscalls.csv (case,config,syscall,count;
# without its header, sorted by system call) into
# the README's table: each configuration's total, and what the floor adds
# to no preload and rebind to the floor, system call by system call.

BEGIN {
	FS = ","
	ncfg = split("none passthrough rebind safe-abort", cfgs, " ")
	ncase = split("exec_true exec_listen churn churn_request dup2_listener listen_close", cases, " ")
	what["exec_true"] = "exec of `/bin/true` (config file present, no socket used)"
	what["exec_listen"] = "exec of a program that opens two listeners in turn (`bench_close listen_close 1`), whole process: the policy is built, the first listener"
	what["churn"] = "one accepted loopback connection, both ends (socket, connect, accept, write, read, 2 close), per connection"
	what["churn_request"] = "the same, the client sending a request first (2 more write and read): safe-abort resets it"
	what["dup2_listener"] = "`dup2()` + `close()` of a listener, per iteration"
	what["listen_close"] = "socket + bind + listen + getsockname + close, per listener"
	base["passthrough"] = "none"
	base["rebind"] = "passthrough"
	base["safe-abort"] = "passthrough"
}

{
	n[$1, $2, $3] = $4 + 0
	if (!(($1, $3) in seen)) {
		seen[$1, $3] = 1
		names[$1] = names[$1] " " $3
	}
}

# "+3: getpid, 2 readlink" for cfg against its base configuration.
function extra(c, cfg,    b, list, k, i, d, s, sum) {
	b = base[cfg]
	k = split(names[c], list, " ")
	s = ""
	for (i = 1; i <= k; i++) {
		if (list[i] == "total")
			continue
		d = n[c, cfg, list[i]] - n[c, b, list[i]]
		if (d == 0)
			continue
		s = s (s == "" ? "" : ", ") (d == 1 ? "" : sprintf("%g ", d)) \
			"`" list[i] "`"
	}
	sum = n[c, cfg, "total"] - n[c, b, "total"]
	if (sum == 0)
		return "+0"
	return sprintf("%+g", sum) (s == "" ? "" : ": " s)
}

END {
	print "| operation | no preload | pass-through floor | rebind | rebind, safe-abort |"
	print "|---|---|---|---|---|"
	for (i = 1; i <= ncase; i++) {
		c = cases[i]
		line = "| " what[c] " | " sprintf("%g", n[c, "none", "total"])
		for (j = 2; j <= ncfg; j++)
			line = line " | " sprintf("%g", n[c, cfgs[j], "total"]) \
				" (" extra(c, cfgs[j]) ")"
		print line " |"
	}
	print ""
	print "In brackets: the floor against no preload; rebind against the floor."
}
