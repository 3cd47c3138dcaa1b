/*
 * secure_probe LIBRARY: what librebind does in a process that runs with
 * AT_SECURE (set-uid/set-gid), where the loader ignores LD_PRELOAD.
 *
 * Prints "secure=N" (getauxval(AT_SECURE)), then dlopen()s LIBRARY (an
 * absolute path), takes bind and listen from it with dlsym(handle, ...)
 * (a dlopen'd library does not interpose, so the probe calls the
 * library's functions directly; dladdr proves they are the library's
 * and not libc's), binds a TCP socket to 127.0.0.1:0, listens, and
 * prints "linger=ON,SECS reuseaddr=R" read back with getsockopt().
 * Before that, "env NAME=VALUE" for each REBIND_* variable getenv()
 * sees, so a test can tell that they reached the process.
 *
 * Exit status: 0 after the report, 1 when a socket call fails, 2 on
 * usage errors or when LIBRARY cannot be loaded or lacks a function.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*listen_fn)(int, int);

/* The address of name in handle, only if handle itself defines it. */
static void *own_sym(void *handle, const char *lib, const char *name)
{
	void *f = dlsym(handle, name);
	Dl_info info;

	if (!f) {
		(void)fprintf(stderr, "secure_probe: %s: no %s: %s\n", lib,
			      name, dlerror());
		return NULL;
	}
	/* dlopen() by path records the path as given. */
	if (!dladdr(f, &info) || !info.dli_fname ||
	    strcmp(info.dli_fname, lib) != 0) {
		(void)fprintf(stderr, "secure_probe: %s comes from %s, not %s\n",
			      name, info.dli_fname ? info.dli_fname : "?", lib);
		return NULL;
	}
	return f;
}

int main(int argc, char **argv)
{
	static const char *const vars[] = {
		"REBIND_CONFIG", "REBIND_ENABLE", "REBIND_LINGER",
		"REBIND_REUSEADDR",
	};
	struct sockaddr_in sin;
	struct linger lg = {0, 0};
	socklen_t len;
	int reuse = -1;
	void *handle;
	bind_fn lib_bind;
	listen_fn lib_listen;
	int fd;

	if (argc != 2 || argv[1][0] != '/') {
		(void)fprintf(stderr, "usage: secure_probe /PATH/TO/librebind.so\n");
		return 2;
	}
	(void)printf("secure=%lu\n", getauxval(AT_SECURE));
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v)
			(void)printf("env %s=%s\n", vars[i], v);
	}
	(void)fflush(stdout);

	handle = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!handle) {
		(void)fprintf(stderr, "secure_probe: %s\n", dlerror());
		return 2;
	}
	lib_bind = (bind_fn)own_sym(handle, argv[1], "bind");
	lib_listen = (listen_fn)own_sym(handle, argv[1], "listen");
	if (!lib_bind || !lib_listen)
		return 2;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("secure_probe: socket");
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = 0;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lib_bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("secure_probe: bind");
		return 1;
	}
	if (lib_listen(fd, 1) != 0) {
		perror("secure_probe: listen");
		return 1;
	}
	len = sizeof(lg);
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) != 0) {
		perror("secure_probe: getsockopt SO_LINGER");
		return 1;
	}
	len = sizeof(reuse);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, &len) != 0) {
		perror("secure_probe: getsockopt SO_REUSEADDR");
		return 1;
	}
	(void)printf("linger=%d,%d reuseaddr=%d\n", lg.l_onoff, lg.l_linger,
		     reuse);
	(void)close(fd);
	return 0;
}
