#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/*
 * A trivial program that reports its own memory, in KiB, on two lines:
 *
 *   rss,KIB,KiB    peak resident set size (VmHWM, /proc/self/status)
 *   anon,KIB,KiB   anonymous memory (/proc/self/smaps_rollup): what a
 *                  preload adds to each process; its code is page
 *                  cache shared with every other process
 *
 *   bench_rss           does nothing else
 *   bench_rss closeall  first raises RLIMIT_NOFILE (to BR_NOFILE when
 *                       allowed, else to the hard limit) and close()s
 *                       every descriptor from 3 up, as daemons do
 *
 * Why not ru_maxrss from wait4() in a launcher: the kernel folds the
 * pre-exec address space (a copy of the launcher's) into the child's
 * maxrss, which hides a difference of a few pages.  No stdio, so the
 * program's own footprint stays small and fixed.
 */

#define BR_NOFILE 65536
#define BR_BUF    8192

static rlim_t raise_nofile(void)
{
	struct rlimit rl;
	struct rlimit want = {BR_NOFILE, BR_NOFILE};

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur >= BR_NOFILE)
		return rl.rlim_cur;
	if (rl.rlim_max > BR_NOFILE)
		want.rlim_max = rl.rlim_max;
	/* Raising the hard limit needs CAP_SYS_RESOURCE. */
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		return BR_NOFILE;
	want.rlim_cur = rl.rlim_max < BR_NOFILE ? rl.rlim_max : BR_NOFILE;
	want.rlim_max = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &want) == 0 ? want.rlim_cur
						    : rl.rlim_cur;
}

static void close_all(void)
{
	rlim_t end = raise_nofile();

	/* stdout stays open for the report. */
	for (rlim_t fd = 3; fd < end; fd++)
		close((int)fd);
}

/* The number after "key" in the file; -1 when absent. */
static long field_kib(const char *path, const char *key)
{
	static char buf[BR_BUF];
	ssize_t n;
	const char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void put_str(char *buf, size_t *len, const char *s)
{
	while (*s)
		buf[(*len)++] = *s++;
}

/* Appends "NAME,KIB,KiB\n" to buf at *len. */
static void fmt_line(char *buf, size_t *len, const char *name, long kib)
{
	char digits[24];
	size_t n = 0;

	put_str(buf, len, name);
	put_str(buf, len, ",");
	do {
		digits[n++] = (char)('0' + kib % 10);
		kib /= 10;
	} while (kib);
	while (n)
		buf[(*len)++] = digits[--n];
	put_str(buf, len, ",KiB\n");
}

int main(int argc, char **argv)
{
	char out[96];
	size_t len = 0;
	long hwm;
	long anon;

	if (argc > 1 && strcmp(argv[1], "closeall") == 0)
		close_all();
	anon = field_kib("/proc/self/smaps_rollup", "\nAnonymous:");
	hwm = field_kib("/proc/self/status", "\nVmHWM:");
	if (hwm < 0 || anon < 0)
		return 1;
	fmt_line(out, &len, "rss", hwm);
	fmt_line(out, &len, "anon", anon);
	return write(STDOUT_FILENO, out, len) == (ssize_t)len ? 0 : 1;
}
