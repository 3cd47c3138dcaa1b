#include "config.h"

#include "core/log.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static _Atomic int log_level = RB_LOG_WARN;
static int log_fd = -1;
static dev_t log_dev;
static ino_t log_ino;

static bool inet_socket(int fd, const struct stat *st)
{
	int domain = AF_UNIX;
	socklen_t len = sizeof(domain);

	return S_ISSOCK(st->st_mode) &&
	       (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
		domain == AF_INET || domain == AF_INET6);
}

void rb_log_init(enum rb_level level, int fd)
{
	struct stat st;
	int saved = errno;

	atomic_store(&log_level, (int)level);
	/* A network socket on fd 2 (inetd, a socket-activated unit) is a
	 * client: never write into it.  journald's is a Unix socket. */
	if (fstat(fd, &st) == 0 && !inet_socket(fd, &st)) {
		log_dev = st.st_dev;
		log_ino = st.st_ino;
		log_fd = fd;
	} else {
		log_fd = -1;
	}
	errno = saved;
}

int rb_log_enabled(enum rb_level level)
{
	return level != RB_LOG_OFF &&
	       (int)level <= atomic_load_explicit(&log_level,
						   memory_order_relaxed);
}

void rb_line_reset(struct rb_line *l)
{
	l->len = 0;
	l->buf[0] = '\0';
}

void rb_fmt_str(struct rb_line *l, const char *s)
{
	/* Keep one byte for the newline rb_log_line adds. */
	while (*s && l->len < sizeof(l->buf) - 2)
		l->buf[l->len++] = *s++;
	l->buf[l->len] = '\0';
}

void rb_fmt_int(struct rb_line *l, long long v)
{
	char digits[24];
	size_t n = 0;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[n++] = '-';
	while (n && l->len < sizeof(l->buf) - 2)
		l->buf[l->len++] = digits[--n];
	l->buf[l->len] = '\0';
}

/* Is log_fd still the file it was at init?  Daemons close stderr. */
static int log_fd_same(void)
{
	struct stat st;

	return log_fd >= 0 && fstat(log_fd, &st) == 0 &&
	       st.st_dev == log_dev && st.st_ino == log_ino;
}

/*
 * write(2) that never raises SIGPIPE: stderr may be a pipe or socket
 * whose reader has gone, and the default action would kill the program
 * over a log line.  SIGPIPE is blocked in this thread for the write;
 * one the write raised is then taken back (a SIGPIPE already pending
 * before stays pending).  Signal-safe: only system calls.
 */
static void write_quietly(int fd, const char *buf, size_t len)
{
	static const struct timespec now = {0, 0};
	sigset_t pipe_only, old, pending;
	bool was_pending;

	(void)sigemptyset(&pipe_only);
	(void)sigaddset(&pipe_only, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_only, &old) != 0)
		return;
	was_pending = sigpending(&pending) == 0 &&
		      sigismember(&pending, SIGPIPE) == 1;
	if (write(fd, buf, len) < 0 && errno == EPIPE && !was_pending)
		(void)sigtimedwait(&pipe_only, NULL, &now);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void rb_log_line(enum rb_level level, const struct rb_line *l)
{
	struct rb_line out;
	int saved = errno;

	if (!rb_log_enabled(level) || !log_fd_same()) {
		errno = saved;
		return;
	}
	rb_line_reset(&out);
	rb_fmt_str(&out, "rebind[");
	rb_fmt_int(&out, (long long)getpid());
	rb_fmt_str(&out, "]: ");
	rb_fmt_str(&out, l->buf);
	out.buf[out.len++] = '\n';
	/* One write, so lines from several processes never interleave. */
	write_quietly(log_fd, out.buf, out.len);
	errno = saved;
}

void rb_log_msg(enum rb_level level, const char *a, const char *b)
{
	struct rb_line l;

	if (!rb_log_enabled(level))
		return;
	rb_line_reset(&l);
	rb_fmt_str(&l, a);
	if (b)
		rb_fmt_str(&l, b);
	rb_log_line(level, &l);
}
