#ifndef RB_PROBE_H
#define RB_PROBE_H

/* Small socket helpers the C test probes share. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libc's own syscall(), looked up in libc itself: librebind hooks the
 * exported name, and some steps need system calls no hook sees.  NULL
 * when it cannot be found. */
typedef long (*probe_syscall_fn)(long, ...);
probe_syscall_fn probe_raw_syscall(void);

/* poll() fd for ev up to ms, across EINTR: revents, 0 on timeout. */
int probe_wait(int fd, short ev, int ms);

/* An int socket option, or -1 when it cannot be read. */
int probe_int(int fd, int level, int name);

/* TCP_INFO's tcpi_state, or -1. */
int probe_tcp_state(int fd);

/* Polls fd's tcpi_state every millisecond, up to ms: is it want? */
bool probe_wait_tcp_state(int fd, int want, int ms);

/* How many of descriptors 0-1023 are open. */
int probe_count_fds(void);

/* 127.0.0.1:port. */
struct sockaddr_in probe_loopback(unsigned port);

/* A TCP listener on 127.0.0.1, port chosen by the kernel; type_flags
 * (SOCK_NONBLOCK, SOCK_CLOEXEC) go to socket().  -1 when a step fails
 * (errno says why; nothing is left open). */
int probe_listener(int type_flags);

/* A TCP connection to 127.0.0.1:port, or -1 (errno says why). */
int probe_connect(unsigned port);

/* fd's own port (peer false) or its peer's, or 0. */
unsigned probe_port(int fd, bool peer);

/* The socket's SO_COOKIE, the kernel's id of the object behind fd (never
 * 0), or 0 when fd is no socket or the kernel has none. */
uint64_t probe_cookie(int fd);

/* send() all n bytes, waiting up to ms for room each time; no SIGPIPE. */
bool probe_send_all(int fd, const void *buf, size_t n, int ms);

/* read() until n bytes, EOF or error, waiting up to ms for each piece.
 * Returns the count; *err is 0 (all, or EOF), errno, or -1 (time). */
size_t probe_recv_upto(int fd, void *buf, size_t n, int ms, int *err);

/* Waits up to ms until nothing is queued either way on a TCP socket, so
 * that a reset would lose nothing. */
bool probe_settle(int fd, int ms);

/* Starts a thread that prints "FAIL NAME: deadlock: ..." and ends the
 * process with status 2 once the run has lasted run_seconds + 10 s.  It
 * takes the caller's signal mask. */
void probe_watchdog(const char *name, unsigned run_seconds);

#endif
