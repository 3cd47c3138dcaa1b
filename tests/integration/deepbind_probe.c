/*
 * deepbind_probe LIB MODE: loads LIB (deepbind_lib.c) and prints what its
 * calls reached, one "name=value" a line, then "ok MODE".
 *
 *   path      dlopen(LIB, RTLD_NOW | RTLD_DEEPBIND)
 *   lazy      the same with RTLD_LAZY: the PLT entries are not bound yet
 *   threads   the same from 8 threads at once
 *   global    dlopen(LIB, RTLD_NOW): the control, where the program's
 *             own dbp_own() wins
 *   name      dlopen by file name alone, found through this program's
 *             RUNPATH; with RTLD_DEEPBIND (deep-name) or without it
 *   errors    errno and dlerror() around failing and succeeding calls,
 *             and dlopen() reached through dlsym(RTLD_NEXT)
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

enum { THREADS = 8 };

/* The library's dbp_own() returns 1; this one is in the global scope. */
__attribute__((visibility("default"))) int dbp_own(void);
__attribute__((visibility("default"))) int dbp_own(void)
{
	return 2;
}

static int call(void *h, const char *name)
{
	void *p = dlsym(h, name);
	int (*f)(void);

	if (!p) {
		printf("FAIL no %s: %s\n", name, dlerror());
		return -1;
	}
	memcpy(&f, &p, sizeof(f));
	return f();
}

static int report(void *h)
{
	int fd;

	if (!h) {
		printf("FAIL dlopen: %s\n", dlerror());
		return 1;
	}
	fd = call(h, "dbp_listener");
	printf("listener reuseaddr=%d\n",
	       fd < 0 ? -1 : probe_int(fd, SOL_SOCKET, SO_REUSEADDR));
	printf("own=%d\n", call(h, "dbp_call_own"));
	printf("dup=%d\n", call(h, "dbp_call_dup"));
	if (fd >= 0)
		close(fd);
	return 0;
}

static pthread_barrier_t start;
static const char *lib;

static void *opener(void *arg)
{
	(void)pthread_barrier_wait(&start);
	*(void **)arg = dlopen(lib, RTLD_NOW | RTLD_DEEPBIND);
	return NULL;
}

static int threads(void)
{
	pthread_t t[THREADS];
	void *h[THREADS];

	(void)pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, opener, &h[i]) != 0)
			return printf("FAIL pthread_create\n"), 1;
	for (int i = 0; i < THREADS; i++)
		(void)pthread_join(t[i], NULL);
	for (int i = 1; i < THREADS; i++)
		if (h[i] != h[0])
			return printf("FAIL thread %d: another handle\n", i), 1;
	return report(h[0]);
}

/* name=ret errno=E dlerror=TEXT, for a dlopen() just made. */
static void said(const char *name, const void *ret, int err)
{
	const char *msg = dlerror();

	printf("%s=%s errno=%d dlerror=%s\n", name, ret ? "handle" : "NULL",
	       err, msg ? msg : "none");
}

static int errors(void)
{
	void *(*next)(const char *, int);
	void *p, *h;
	int err;

	errno = 0;
	h = dlopen("/nonexistent/libnone.so", RTLD_NOW | RTLD_DEEPBIND);
	said("missing", h, errno);
	(void)dlsym(RTLD_DEFAULT, "dbp_no_such_symbol");
	errno = 1234;
	h = dlopen(lib, RTLD_NOW | RTLD_DEEPBIND);
	err = errno;
	said("after-error", h, err);
	p = dlsym(RTLD_NEXT, "dlopen");
	if (!p)
		return printf("FAIL dlsym(RTLD_NEXT, dlopen): %s\n", dlerror()),
		       1;
	memcpy(&next, &p, sizeof(next));
	printf("next=%s\n", next(lib, RTLD_NOW | RTLD_DEEPBIND) == h
	                            ? "same handle"
	                            : "another handle");
	return 0;
}

static int run(const char *mode)
{
	const char *base = strrchr(lib, '/');

	base = base ? base + 1 : lib;
	if (strcmp(mode, "path") == 0)
		return report(dlopen(lib, RTLD_NOW | RTLD_DEEPBIND));
	if (strcmp(mode, "lazy") == 0)
		return report(dlopen(lib, RTLD_LAZY | RTLD_DEEPBIND));
	if (strcmp(mode, "global") == 0)
		return report(dlopen(lib, RTLD_NOW));
	if (strcmp(mode, "name") == 0)
		return report(dlopen(base, RTLD_NOW));
	if (strcmp(mode, "deep-name") == 0) {
		printf("found=%s\n", dlopen(base, RTLD_NOW | RTLD_DEEPBIND)
		                             ? "yes"
		                             : dlerror());
		return 0;
	}
	if (strcmp(mode, "threads") == 0)
		return threads();
	if (strcmp(mode, "errors") == 0)
		return errors();
	printf("FAIL unknown mode %s\n", mode);
	return 99;
}

int main(int argc, char **argv)
{
	int st;

	if (argc != 3) {
		(void)fprintf(stderr, "usage: deepbind_probe LIB MODE\n");
		return 99;
	}
	lib = argv[1];
	st = run(argv[2]);
	if (st == 0)
		printf("ok %s\n", argv[2]);
	return st;
}
