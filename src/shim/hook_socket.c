#include "config.h"

#include <sys/socket.h>

#include "shim/init.h"
#include "shim/sock.h"

RB_EXPORT int socket(int domain, int type, int protocol)
{
	int fd = rb_real()->socket(domain, type, protocol);

	if (fd >= 0)
		rb_sock_created(fd, domain, type, protocol);
	return fd;
}
