#include "config.h"

#include "shim/names.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

static int saved_argc;
static char **saved_argv;
static char exe[PATH_MAX];

void rb_shim_set_args(int argc, char **argv)
{
	saved_argc = argc;
	saved_argv = argv;
}

void rb_shim_names(struct rb_names *out)
{
	/* readlink, not open: the library opens no file but its config. */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0)
		exe[n] = '\0';
	if (saved_argv) {
		rb_names_find(out, n > 0 ? exe : NULL, saved_argc, saved_argv);
	} else {
		char *argv0[] = {program_invocation_name, NULL};

		rb_names_find(out, n > 0 ? exe : NULL, 1, argv0);
	}
}
