#include "config.h"

#include "shim/names.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* Enough for an interpreter, its options and a script name. */
#define RB_ARGS_MAX 32

static char cmdline[4096];
static char *args[RB_ARGS_MAX];
static char exe[PATH_MAX];

/* Splits the NUL-separated arguments; a cut-off last one is kept. */
static int read_args(void)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;
	int argc = 0;

	if (fd >= 0)
		(void)close(fd);
	if (n <= 0)
		return 0;
	cmdline[n] = '\0';
	for (char *p = cmdline; p < cmdline + n && argc < RB_ARGS_MAX;
	     p += strlen(p) + 1)
		args[argc++] = p;
	return argc;
}

void rb_shim_names(struct rb_names *out)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0)
		exe[n] = '\0';
	rb_names_find(out, n > 0 ? exe : NULL, read_args(), args);
}
