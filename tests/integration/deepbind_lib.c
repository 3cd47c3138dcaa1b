/*
 * A library that deepbind_probe loads with RTLD_DEEPBIND, as PHP loads its
 * extensions: it makes a listener through its own imports of socket(),
 * bind() and listen(), and calls two functions it defines itself, one
 * named like a function rebind wraps.  Built with default visibility so
 * that its calls to its own functions go through its PLT, as in any
 * shared library.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define DBP_API __attribute__((visibility("default")))

DBP_API int dbp_listener(void);
DBP_API int dbp_own(void);
DBP_API int dbp_call_own(void);
DBP_API int dbp_call_dup(void);

DBP_API int dbp_listener(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 4) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The program defines a dbp_own() of its own, which returns 2. */
DBP_API int dbp_own(void)
{
	return 1;
}

DBP_API int dbp_call_own(void)
{
	return dbp_own();
}

/* The library's own dup(): its calls must keep reaching it. */
DBP_API int dup(int fd)
{
	(void)fd;
	return -42;
}

DBP_API int dbp_call_dup(void)
{
	return dup(0);
}
