#include "config.h"

#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include "core/policy.h"

/* The exit statuses of env(1), so callers can tell whose error it was. */
#define RB_EXIT_OWN		125
#define RB_EXIT_CANNOT_RUN	126
#define RB_EXIT_NOT_FOUND	127

#define RB_LIBNAME	"librebind.so"
#define RB_PRELOAD_SEP	": "

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define RB_ELFDATA ELFDATA2LSB
#else
#define RB_ELFDATA ELFDATA2MSB
#endif

/* Options that only set a REBIND_* variable: indexes into rb_envopts. */
enum rb_envopt_id {
	RB_OPT_LINGER,
	RB_OPT_PORTS,
	RB_OPT_NO_REUSEADDR,
	RB_OPT_LOG,
	RB_OPT_N,
};

/* getopt_long values of the options above, clear of any short option. */
#define RB_OPT_BASE 256

struct rb_envopt {
	const char *name;
	const char *env;
	/* NULL when the value is good, else why not. */
	const char *(*check)(const char *value);
	/* The value of an option that takes none (check is NULL). */
	const char *fixed;
};

enum rb_action {
	RB_ACT_RUN,
	RB_ACT_HELP,
	RB_ACT_VERSION,
};

struct rb_cli {
	enum rb_action action;
	const char *val[RB_OPT_N];
};

static const char *check_linger(const char *s)
{
	enum rb_linger l;

	if (rb_policy_parse_linger(s, &l) == 0)
		return NULL;
	return "expected off, abort or safe-abort";
}

static const char *check_ports(const char *s)
{
	struct rb_portset set;
	const char *why = NULL;

	if (rb_policy_parse_ports(s, &set, &why) == 0)
		return NULL;
	return why ? why : "expected ports and ranges such as 80,8000-8100";
}

static const char *check_level(const char *s)
{
	enum rb_level l;

	if (rb_policy_parse_level(s, &l) == 0)
		return NULL;
	return "expected off, error, warn, info or debug";
}

static const struct rb_envopt rb_envopts[RB_OPT_N] = {
	[RB_OPT_LINGER] = {"linger", "REBIND_LINGER", check_linger, NULL},
	[RB_OPT_PORTS] = {"ports", "REBIND_PORTS", check_ports, NULL},
	[RB_OPT_NO_REUSEADDR] = {"no-reuseaddr", "REBIND_REUSEADDR", NULL,
				 "off"},
	[RB_OPT_LOG] = {"log", "REBIND_LOG", check_level, NULL},
};

static const struct option rb_longopts[] = {
	{"linger", required_argument, NULL, RB_OPT_BASE + RB_OPT_LINGER},
	{"ports", required_argument, NULL, RB_OPT_BASE + RB_OPT_PORTS},
	{"no-reuseaddr", no_argument, NULL,
	 RB_OPT_BASE + RB_OPT_NO_REUSEADDR},
	{"log", required_argument, NULL, RB_OPT_BASE + RB_OPT_LOG},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static const char rb_usage[] =
	"Usage: rebind [OPTION]... [--] COMMAND [ARG]...\n"
	"Run COMMAND with librebind.so preloaded, so that it can be restarted\n"
	"at once although its port is full of TIME_WAIT entries.\n"
	"\n"
	"  --linger=MODE   off, abort or safe-abort (sets REBIND_LINGER)\n"
	"  --ports=SPEC    only these ports, e.g. 80,443,8000-8100\n"
	"                  (sets REBIND_PORTS)\n"
	"  --no-reuseaddr  leave SO_REUSEADDR alone (REBIND_REUSEADDR=off)\n"
	"  --log=LEVEL     off, error, warn, info or debug (sets REBIND_LOG)\n"
	"  -h, --help      print this help and exit\n"
	"  -V, --version   print the version and exit\n"
	"\n"
	"Environment read by the library (inherited values are checked too):\n"
	"  REBIND_REUSEADDR=on|off               default on\n"
	"  REBIND_LINGER=off|abort|safe-abort    default off (abort is lossy)\n"
	"  REBIND_PORTS=SPEC                     default all ports\n"
	"  REBIND_LOG=off|error|warn|info|debug  default warn\n"
	"\n"
	"Exit status: 125 if rebind fails, 126 if COMMAND cannot be run,\n"
	"127 if COMMAND is not found, else the status of COMMAND.\n"
	"See rebind(1) for the limits (the stopped instance must have run\n"
	"under rebind too; static and set-uid programs are not covered).\n";

static int print_stdout(const char *text)
{
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
		(void)fprintf(stderr, "rebind: write error: %s\n",
			      strerror(errno));
		return RB_EXIT_OWN;
	}
	return 0;
}

/*
 * getopt's own messages are off (opterr = 0) so that every error is one
 * line in our format; arg is the word the bad option came from.
 */
static void option_error(int c, const char *arg)
{
	bool is_long = strncmp(arg, "--", 2) == 0;
	const char *what = "is not an option";
	const char shortopt[] = {'-', (char)optopt, '\0'};

	if (c == ':')
		what = "needs a value";
	else if (is_long)
		what = optopt ? "takes no value" : "is unknown or ambiguous";
	(void)fprintf(stderr, "rebind: '%.*s' %s (try 'rebind --help')\n",
		      is_long ? (int)strcspn(arg, "=") : 2,
		      is_long ? arg : shortopt, what);
}

static int take_envopt(struct rb_cli *cli, int id, const char *value)
{
	const struct rb_envopt *o = &rb_envopts[id];
	const char *why;

	if (!o->check) {
		cli->val[id] = o->fixed;
		return 0;
	}
	why = o->check(value);
	if (why) {
		(void)fprintf(stderr, "rebind: --%s=%s: %s\n", o->name, value,
			      why);
		return -1;
	}
	cli->val[id] = value;
	return 0;
}

/*
 * Returns the index of the first word after the options, or -1 after
 * saying why.  The leading '+' stops at that word, so COMMAND's own
 * options are never taken for ours.
 */
static int parse_options(int argc, char **argv, struct rb_cli *cli)
{
	opterr = 0;
	for (;;) {
		int at = optind;
		int c = getopt_long(argc, argv, "+:hV", rb_longopts, NULL);

		if (c == -1)
			return optind;
		if (c == 'h' || c == 'V') {
			cli->action = c == 'h' ? RB_ACT_HELP : RB_ACT_VERSION;
			return optind;
		}
		if (c >= RB_OPT_BASE && c < RB_OPT_BASE + RB_OPT_N) {
			if (take_envopt(cli, c - RB_OPT_BASE, optarg))
				return -1;
			continue;
		}
		option_error(c, argv[at]);
		return -1;
	}
}

static int apply_envopts(const struct rb_cli *cli)
{
	for (int i = 0; i < RB_OPT_N; i++) {
		if (cli->val[i] && setenv(rb_envopts[i].env, cli->val[i], 1)) {
			(void)fprintf(stderr, "rebind: %s: %s\n",
				      rb_envopts[i].env, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* The library would disable itself on a bad inherited value: fail here. */
static int check_environment(void)
{
	struct rb_policy p;
	char err[RB_ERR_MAX];

	if (rb_policy_build(&p, env_get, err, sizeof(err)) == 0)
		return 0;
	(void)fprintf(stderr, "rebind: %s\n", err);
	return -1;
}

/*
 * Run from the build tree (tests do), the wrapper must preload the
 * library built next to it, not an installed one of another version.
 * Writes <dir of this executable>/.libs into dir unless that is RB_BINDIR.
 */
static int build_tree_dir(char *dir, size_t len)
{
	char bindir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, len - 1);
	char *slash;
	size_t room;

	if (n <= 0)
		return -1;
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (!realpath(RB_BINDIR, bindir))
		(void)snprintf(bindir, sizeof(bindir), "%s", RB_BINDIR);
	if (strcmp(dir, bindir) == 0)
		return -1;
	room = len - (size_t)(slash - dir);
	return (size_t)snprintf(slash, room, "/.libs") < room ? 0 : -1;
}

static int find_library(char *out, size_t len)
{
	char dir[PATH_MAX];
	bool tried = build_tree_dir(dir, sizeof(dir)) == 0;

	if (tried && (size_t)snprintf(out, len, "%s/" RB_LIBNAME, dir) < len &&
	    access(out, R_OK) == 0)
		return 0;
	(void)snprintf(out, len, "%s/" RB_LIBNAME, RB_PKGLIBDIR);
	if (access(out, R_OK) == 0)
		return 0;
	(void)fprintf(stderr,
		      "rebind: cannot find " RB_LIBNAME " (looked in %s%s%s)\n",
		      tried ? dir : "", tried ? " and " : "", RB_PKGLIBDIR);
	return -1;
}

/* ASan and friends abort unless their runtime is the first object loaded. */
static bool is_sanitizer(const char *entry, size_t n)
{
	static const char *const prefixes[] = {
		"libasan", "libtsan",	"libubsan",
		"liblsan", "libhwasan", "libclang_rt.",
	};
	const char *slash = memrchr(entry, '/', n);
	const char *base = slash ? slash + 1 : entry;
	size_t blen = n - (size_t)(base - entry);

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]);

		if (blen >= plen && memcmp(base, prefixes[i], plen) == 0)
			return true;
	}
	return false;
}

static void append_entry(char *out, const char *entry, size_t n)
{
	size_t len = strlen(out);

	if (len > 0)
		out[len++] = ':';
	memcpy(out + len, entry, n);
	out[len + n] = '\0';
}

/* Appends the entries of list that are (or are not) sanitizers, minus lib. */
static void append_entries(char *out, const char *list, const char *lib,
			   bool sanitizers)
{
	size_t liblen = strlen(lib);

	for (;;) {
		size_t n;

		list += strspn(list, RB_PRELOAD_SEP);
		if (*list == '\0')
			return;
		n = strcspn(list, RB_PRELOAD_SEP);
		if (is_sanitizer(list, n) == sanitizers &&
		    !(n == liblen && memcmp(list, lib, n) == 0))
			append_entry(out, list, n);
		list += n;
	}
}

static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *new;
	int ret;

	if (!old)
		old = "";
	/* Joining never takes more than the old separators plus one. */
	new = malloc(strlen(old) + strlen(lib) + 2);
	if (!new) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return -1;
	}
	new[0] = '\0';
	append_entries(new, old, lib, true);
	append_entry(new, lib, strlen(lib));
	append_entries(new, old, lib, false);
	ret = setenv("LD_PRELOAD", new, 1);
	if (ret)
		(void)fprintf(stderr, "rebind: LD_PRELOAD: %s\n",
			      strerror(errno));
	free(new);
	return ret;
}

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

static void warn_unpreloadable(const char *cmd)
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

static int cmd_exec(const struct rb_cli *cli, char **cmd)
{
	char lib[PATH_MAX];
	int err;

	if (apply_envopts(cli) || check_environment() ||
	    find_library(lib, sizeof(lib)) || set_preload(lib))
		return RB_EXIT_OWN;
	warn_unpreloadable(cmd[0]);
	execvp(cmd[0], cmd);
	err = errno;
	(void)fprintf(stderr, "rebind: %s: %s\n", cmd[0], strerror(err));
	return err == ENOENT ? RB_EXIT_NOT_FOUND : RB_EXIT_CANNOT_RUN;
}

int main(int argc, char **argv)
{
	struct rb_cli cli = {RB_ACT_RUN, {NULL}};
	int first = parse_options(argc, argv, &cli);

	if (first < 0)
		return RB_EXIT_OWN;
	if (cli.action == RB_ACT_HELP)
		return print_stdout(rb_usage);
	if (cli.action == RB_ACT_VERSION)
		return print_stdout("rebind " PACKAGE_VERSION "\n");
	if (first == argc) {
		(void)fputs("rebind: missing COMMAND (try 'rebind --help')\n",
			    stderr);
		return RB_EXIT_OWN;
	}
	return cmd_exec(&cli, argv + first);
}
