#include "config.h"

#include "cli/cli.h"

#include <elf.h>
#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define RB_ELFDATA ELFDATA2LSB
#else
#define RB_ELFDATA ELFDATA2MSB
#endif

static bool is_runnable(const char *path, struct stat *st)
{
	return stat(path, st) == 0 && S_ISREG(st->st_mode) &&
	       access(path, X_OK) == 0;
}

/* The file execvp would run: the first executable one along PATH. */
static int resolve_command(const char *cmd, char *out, size_t len,
			   struct stat *st)
{
	const char *dirs = getenv("PATH");
	size_t n;

	if (strchr(cmd, '/')) {
		if ((size_t)snprintf(out, len, "%s", cmd) >= len)
			return -1;
		return is_runnable(out, st) ? 0 : -1;
	}
	/* glibc's execvp falls back to this when PATH is unset. */
	if (!dirs)
		dirs = "/bin:/usr/bin";
	for (;; dirs += n + 1) {
		n = strcspn(dirs, ":");
		/* An empty element means the current directory. */
		if ((size_t)snprintf(out, len, "%.*s%s%s", (int)n, dirs,
				     n ? "/" : "", cmd) < len &&
		    is_runnable(out, st))
			return 0;
		if (dirs[n] == '\0')
			return -1;
	}
}

/*
 * The loader ignores LD_PRELOAD only in secure-execution mode, which the
 * kernel enters when the exec raises privileges: ids that differ from
 * the caller's real ones, or file capabilities for a non-root caller.
 * nosuid mounts and no_new_privs keep the bits from having any effect.
 */
static const char *privilege_change(const char *path, const struct stat *st)
{
	struct statvfs vfs;
	const char *what = NULL;

	if (((st->st_mode & S_ISUID) && st->st_uid != getuid()) ||
	    ((st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	     st->st_gid != getgid()))
		what = "is set-uid/set-gid";
	else if (getuid() != 0 &&
		 getxattr(path, "security.capability", NULL, 0) > 0)
		what = "has file capabilities";
	if (!what || (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)))
		return NULL;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return NULL;
	return what;
}

struct rb_phdrs {
	uint64_t off;
	unsigned num;
	unsigned size;
};

/* Where the program headers are, for either ELF class; -1: not ELF. */
static int read_phdrs(int fd, struct rb_phdrs *ph)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf32_Ehdr e32;
		Elf64_Ehdr e64;
	} h;
	ssize_t n = pread(fd, &h, sizeof(h), 0);

	if (n < (ssize_t)sizeof(h.e32) ||
	    memcmp(h.ident, ELFMAG, SELFMAG) != 0 ||
	    h.ident[EI_DATA] != RB_ELFDATA)
		return -1;
	if (h.ident[EI_CLASS] == ELFCLASS64 && n == (ssize_t)sizeof(h.e64) &&
	    (h.e64.e_type == ET_EXEC || h.e64.e_type == ET_DYN)) {
		ph->off = h.e64.e_phoff;
		ph->num = h.e64.e_phnum;
		ph->size = h.e64.e_phentsize;
	} else if (h.ident[EI_CLASS] == ELFCLASS32 &&
		   (h.e32.e_type == ET_EXEC || h.e32.e_type == ET_DYN)) {
		ph->off = h.e32.e_phoff;
		ph->num = h.e32.e_phnum;
		ph->size = h.e32.e_phentsize;
	} else {
		return -1;
	}
	/* PN_XNUM hides the real count elsewhere; not worth a warning. */
	if (ph->num == PN_XNUM || ph->size < sizeof(Elf32_Word))
		return -1;
	/* Real headers sit near the start; this keeps offsets in off_t. */
	return ph->off > INT32_MAX ? -1 : 0;
}

/* True when a PT_INTERP header is there, or when we cannot tell. */
static bool has_interp(int fd, const struct rb_phdrs *ph)
{
	Elf32_Word type; /* p_type comes first in both classes */

	for (unsigned i = 0; i < ph->num; i++) {
		off_t at = (off_t)(ph->off + (uint64_t)i * ph->size);

		if (pread(fd, &type, sizeof(type), at) != sizeof(type) ||
		    type == PT_INTERP)
			return true;
	}
	return false;
}

/* Without PT_INTERP the kernel starts the program with no loader at all. */
static bool is_static_elf(const char *path)
{
	struct rb_phdrs ph;
	bool ret;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	ret = read_phdrs(fd, &ph) == 0 && !has_interp(fd, &ph);
	(void)close(fd);
	return ret;
}

void rb_cli_warn_unpreloadable(const char *cmd)
{
	char path[PATH_MAX];
	struct stat st;
	const char *why;

	if (resolve_command(cmd, path, sizeof(path), &st))
		return;
	why = privilege_change(path, &st);
	if (why)
		(void)fprintf(stderr,
			      "rebind: warning: %s %s: the loader ignores "
			      "LD_PRELOAD, rebind cannot act inside it\n",
			      cmd, why);
	else if (is_static_elf(path))
		(void)fprintf(stderr,
			      "rebind: warning: %s is statically linked: "
			      "rebind cannot act inside it\n",
			      cmd);
}


int rb_cli_resolve(const char *cmd, char *out, size_t len)
{
	struct stat st;

	return resolve_command(cmd, out, len, &st);
}
