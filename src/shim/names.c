#include "config.h"

#include "shim/names.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* Enough for argv[0] and an interpreter's options and script. */
#define RB_ARGS_MAX 4096
#define RB_ARGC_MAX 64

static char args[RB_ARGS_MAX]; /* the arguments, each ending in '\0' */
static size_t args_len;
static bool args_kept;
static char exe[PATH_MAX];

void rb_shim_keep_args(int argc, char *const argv[])
{
	size_t used = 0;

	for (int i = 0; i < argc && argv[i]; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (n > sizeof(args) - used)
			break;
		memcpy(args + used, argv[i], n);
		used += n;
	}
	args_len = used;
	args_kept = true;
}

/* The arguments as the kernel shows them now, cut after the last whole
 * one when they do not fit. */
static void read_cmdline(void)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = 1;

	args_len = 0;
	while (fd >= 0 && args_len < sizeof(args) && n != 0) {
		n = read(fd, args + args_len, sizeof(args) - args_len);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			args_len += (size_t)n;
	}
	if (fd >= 0)
		(void)close(fd);
	while (args_len > 0 && args[args_len - 1] != '\0')
		args_len--;
}

static int split(char *argv[])
{
	int argc = 0;

	for (size_t i = 0; i < args_len && argc < RB_ARGC_MAX; argc++) {
		argv[argc] = args + i;
		i += strlen(args + i) + 1;
	}
	argv[argc] = NULL;
	return argc;
}

void rb_shim_names(struct rb_names *out)
{
	char *argv[RB_ARGC_MAX + 1];
	/* readlink, not open: /proc/self/exe is a link to the file. */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0)
		exe[n] = '\0';
	if (!args_kept)
		read_cmdline();
	rb_names_find(out, n > 0 ? exe : NULL, split(argv), argv);
}
