#include "config.h"

#include <sys/socket.h>

#include "core/fdtab.h"
#include "shim/init.h"

RB_EXPORT int socket(int domain, int type, int protocol)
{
	int fd = rb_real()->socket(domain, type, protocol);

	/* libc may have closed this number where no hook saw it: an old
	 * entry must not describe the new socket. */
	if (fd >= 0)
		rb_fdtab_clear(fd);
	return fd;
}
