#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Process-level benchmarks, timed here rather than in the shell so that
 * the shell's own fork and exec do not swamp what is measured:
 *
 *   bench_proc exec N PROG [ARG...]   spawn PROG N times, one at a time
 *                                     -> "exec,US_PER_SPAWN,us/op"
 *   bench_proc serve N PROG [ARG...]  start a server that prints
 *                                     "ready PORT", make N connections
 *                                     to it, wait for it to exit 0
 *                                     -> "serve,PORT,port"
 *   bench_proc ready PROG [ARG...]    time from spawn to "ready PORT",
 *                                     then stop it with SIGTERM
 *                                     -> "ready,MS,ms,ok" or, when it
 *                                     exits first, "ready,MS,ms,exit=N"
 *
 * The environment (LD_PRELOAD, REBIND_*) passes to PROG unchanged.
 */

#define BP_READY_MS 10000 /* give up on a server after this long */
#define BP_LINE_MAX 128
#define BP_REQUEST  "x\n"

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(const char *what)
{
	(void)fprintf(stderr, "bench_proc: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Spawn argv[0] (searched in PATH); its stdout is *out when out != NULL. */
static int spawn(char *const argv[], pid_t *pid, int *out)
{
	posix_spawn_file_actions_t fa;
	int p[2] = {-1, -1};
	int err;

	if (out && pipe2(p, O_CLOEXEC) != 0)
		return errno;
	posix_spawn_file_actions_init(&fa);
	if (out)
		posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	err = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out) {
		close(p[1]);
		if (err)
			close(p[0]);
		else
			*out = p[0];
	}
	return err;
}

static int wait_exit(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static int do_exec(long n, char *const argv[])
{
	double t0 = now_ms();

	for (long i = 0; i < n; i++) {
		pid_t pid = -1;
		int err = spawn(argv, &pid, NULL);

		if (err) {
			errno = err;
			return fail(argv[0]);
		}
		if (wait_exit(pid) != 0) {
			(void)fprintf(stderr, "bench_proc: %s failed\n",
				      argv[0]);
			return 1;
		}
	}
	(void)printf("exec,%.2f,us/op\n", (now_ms() - t0) * 1e3 / (double)n);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Read the server's first line; 0 and *port when it is "ready PORT". */
static int read_ready(int fd, unsigned *port)
{
	char line[BP_LINE_MAX] = "";
	size_t len = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char *end = NULL;
	unsigned long v;

	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		ssize_t r;

		if (poll(&pfd, 1, BP_READY_MS) != 1)
			return -1;
		r = read(fd, line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			return -1;
		len += (size_t)r;
	}
	line[len] = '\0';
	if (strncmp(line, "ready ", 6) != 0)
		return -1;
	v = strtoul(line + 6, &end, 10);
	if (end == line + 6 || *end != '\n' || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/*
 * A client address for connection i: 127.0.0.2 to 127.0.0.251 in turn.
 * From one address, the ephemeral ports wrap before 10,000 connections
 * and a SYN reusing a 4-tuple ends that TIME_WAIT entry early; spread
 * over 250 addresses, every connection leaves its own.
 */
static int client_socket(long i)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 +
							 (uint32_t)(i % 250))};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* Leave the port to connect(), which knows the 4-tuple. */
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
				 sizeof(one));
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request, as a client does it: send a line, read to EOF, close. */
static int client_once(unsigned port, long i)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((unsigned short)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = client_socket(i);
	ssize_t r = -1;

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(fd, BP_REQUEST, sizeof(BP_REQUEST) - 1) > 0) {
		char buf[4096];

		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
	}
	close(fd);
	return r == 0 ? 0 : -1;
}

static int do_serve(long n, char *const argv[])
{
	pid_t pid = -1;
	int out = -1;
	unsigned port;
	int err = spawn(argv, &pid, &out);

	if (err) {
		errno = err;
		return fail(argv[0]);
	}
	if (read_ready(out, &port) != 0) {
		(void)fprintf(stderr, "bench_proc: %s never got ready\n",
			      argv[0]);
		(void)kill(pid, SIGTERM);
		(void)wait_exit(pid);
		return 1;
	}
	for (long i = 0; i < n; i++)
		if (client_once(port, i) != 0)
			return fail("client");
	close(out);
	if (wait_exit(pid) != 0) {
		(void)fprintf(stderr, "bench_proc: %s failed\n", argv[0]);
		return 1;
	}
	(void)printf("serve,%u,port\n", port);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int do_ready(char *const argv[])
{
	pid_t pid = -1;
	int out = -1;
	unsigned port;
	double t0 = now_ms();
	int err = spawn(argv, &pid, &out);

	if (err) {
		errno = err;
		return fail(argv[0]);
	}
	if (read_ready(out, &port) == 0) {
		double t1 = now_ms();

		(void)kill(pid, SIGTERM);
		(void)wait_exit(pid);
		(void)printf("ready,%.3f,ms,ok\n", t1 - t0);
	} else {
		err = wait_exit(pid);
		(void)printf("ready,%.3f,ms,exit=%d\n", now_ms() - t0, err);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int usage(void)
{
	(void)fputs("usage: bench_proc exec N PROG [ARG...]\n"
		    "       bench_proc serve N PROG [ARG...]\n"
		    "       bench_proc ready PROG [ARG...]\n",
		    stderr);
	return 64;
}

static long count_arg(const char *s)
{
	char *end = NULL;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	return errno || *end || n < 1 ? -1 : n;
}

int main(int argc, char **argv)
{
	long n;

	if (argc >= 3 && strcmp(argv[1], "ready") == 0)
		return do_ready(argv + 2);
	if (argc < 4 || (n = count_arg(argv[2])) < 0)
		return usage();
	if (strcmp(argv[1], "exec") == 0)
		return do_exec(n, argv + 3);
	if (strcmp(argv[1], "serve") == 0)
		return do_serve(n, argv + 3);
	return usage();
}
