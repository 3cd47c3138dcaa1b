#include "config.h"

#include "core/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <stdbool.h>
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
	(void)!write(log_fd, out.buf, out.len);
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
