#include "config.h"

#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/dropin.h"

/* systemd reads drop-ins here whatever prefix rebind was built for. */
#define RB_SYSTEM_UNIT_DIR "/etc/systemd/system"
/* Room for what `systemctl show` prints about one unit. */
#define RB_SHOW_MAX  65536
#define RB_TEXT_MAX  16384
#define RB_VALUE_MAX 8192

static const char enable_usage[] =
	"Usage: rebind enable [--user] UNIT...\n"
	"Adopt each service UNIT: write the drop-in " RB_DROPIN_FILE " into\n"
	"its drop-in directory (" RB_SYSTEM_UNIT_DIR "/UNIT.d/, with --user\n"
	"$XDG_CONFIG_HOME/systemd/user/UNIT.d/), which preloads librebind.so\n"
	"and sets REBIND_HOLD=systemd with the unit settings it needs, then\n"
	"run systemctl daemon-reload.  The unit's own LD_PRELOAD entries are\n"
	"kept after the library.  The next restart starts UNIT under rebind;\n"
	"it may still wait up to 60 s for the port (see rebind purge).\n"
	"Exit status: 0 done (or already enabled), 1 a unit was refused or\n"
	"systemctl failed (nothing is written when a unit is refused),\n"
	"2 bad arguments.\n";

static const char disable_usage[] =
	"Usage: rebind disable [--user] UNIT...\n"
	"Remove the drop-in that rebind enable wrote for each UNIT (and its\n"
	"directory if that is left empty), then run systemctl daemon-reload.\n"
	"A unit without it is reported and left alone.\n"
	"Exit status: 0 done (or nothing to remove), 1 a file could not be\n"
	"removed or systemctl failed, 2 bad arguments.\n";

/* One UNIT argument of enable. */
struct job {
	char unit[RB_DROPIN_UNIT_MAX + 1];
	char path[PATH_MAX];
	char text[RB_TEXT_MAX];
	bool unchanged; /* the file already says this and systemd read it */
};

struct args {
	bool user;
	int first; /* index of the first UNIT */
};

/* 0 with the units from a->first on, 1 after --help, -1 on bad arguments. */
static int parse_args(int argc, char **argv, struct args *a, const char *use)
{
	int i = 1;

	a->user = false;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return fputs(use, stdout) == EOF ? -1 : 1;
		if (strcmp(argv[i], "--user") == 0) {
			a->user = true;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			(void)fprintf(stderr, "rebind: %s: '%s' is not an option "
				      "(try 'rebind %s --help')\n", argv[0],
				      argv[i], argv[0]);
			return -1;
		}
	}
	a->first = i;
	if (i < argc)
		return 0;
	(void)fprintf(stderr, "rebind: usage: rebind %s [--user] UNIT...\n",
		      argv[0]);
	return -1;
}

/*
 * The directory the manager reads unit drop-ins from first: the user
 * manager's is $XDG_CONFIG_HOME/systemd/user, which defaults to
 * ~/.config (a relative XDG_CONFIG_HOME is ignored, as systemd does).
 */
static int unit_dir(bool user, char *out, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (!user)
		n = snprintf(out, len, "%s", RB_SYSTEM_UNIT_DIR);
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, len, "%s/systemd/user", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, len, "%s/.config/systemd/user", home);
	else
		n = -1;
	if (n >= 0 && (size_t)n < len)
		return 0;
	(void)fputs("rebind: cannot tell the user manager's directory "
		    "(neither XDG_CONFIG_HOME nor HOME is an absolute path)\n",
		    stderr);
	return -1;
}

static int dropin_path(bool user, const char *unit, char *out, size_t len)
{
	char dir[PATH_MAX];
	int n;

	if (unit_dir(user, dir, sizeof(dir)))
		return -1;
	n = snprintf(out, len, "%s/%s.d/" RB_DROPIN_FILE, dir, unit);
	if (n >= 0 && (size_t)n < len)
		return 0;
	(void)fprintf(stderr, "rebind: %s: path too long\n", unit);
	return -1;
}

/* Reads the child's stdout into out (NUL-terminated); -1 if it overflowed. */
static int read_all(int fd, char *out, size_t len)
{
	size_t used = 0;
	bool over = false;
	char sink[4096];
	ssize_t n;

	for (;;) {
		char *to = used + 1 < len ? out + used : sink;
		size_t room = used + 1 < len ? len - 1 - used : sizeof(sink);

		n = read(fd, to, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (to == sink)
			over = true;
		else
			used += (size_t)n;
	}
	out[used] = '\0';
	return over || n < 0 ? -1 : 0;
}

static void exec_systemctl(bool user, const char *const *words, int out)
{
	const char *av[24] = {"systemctl"};
	size_t n = 1;
	int err;

	if (user)
		av[n++] = "--user";
	for (; *words; words++) {
		if (n == sizeof(av) / sizeof(av[0]) - 1)
			_exit(RB_EXIT_OWN); /* a caller's bug: av too small */
		av[n++] = *words;
	}
	av[n] = NULL;
	if (out >= 0 && dup2(out, STDOUT_FILENO) < 0)
		_exit(RB_EXIT_CANNOT_RUN);
	/* execvp's argv is char *const[] for history's sake; it writes nothing. */
	execvp(av[0], (char *const *)(void *)av);
	err = errno;
	(void)fprintf(stderr, "rebind: systemctl: %s\n", strerror(err));
	_exit(err == ENOENT ? RB_EXIT_NOT_FOUND : RB_EXIT_CANNOT_RUN);
}

/*
 * Runs systemctl [--user] WORDS..., its stdout into out when out is not
 * NULL (its stderr stays ours).  Its exit status, or -1.
 */
static int systemctl(bool user, const char *const *words, char *out,
		     size_t len)
{
	int fds[2] = {-1, -1};
	int status = -1;
	int got = 0;
	pid_t pid;

	if (out && pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0)
		exec_systemctl(user, words, fds[1]);
	if (fds[1] >= 0)
		(void)close(fds[1]);
	if (pid > 0 && out)
		got = read_all(fds[0], out, len);
	if (fds[0] >= 0)
		(void)close(fds[0]);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid < 0 || got || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int show(bool user, const char *unit, char *out, size_t len)
{
	const char *const words[] = {
		"show", "-p", "LoadState", "-p", "Type", "-p", "Environment",
		"-p", "EnvironmentFiles", "-p", "FileDescriptorStoreMax",
		"-p", "DropInPaths", "--", unit, NULL,
	};

	if (systemctl(user, words, out, len) == 0)
		return 0;
	(void)fprintf(stderr, "rebind: %s: systemctl show failed\n", unit);
	return -1;
}

/*
 * The value of KEY=value in systemctl show's output into out ("" when
 * absent); NULL when it does not fit (out then holds its start).
 */
static const char *prop(const char *shown, const char *key, char *out,
			size_t len)
{
	size_t klen = strlen(key);

	for (const char *l = shown; *l; l += strcspn(l, "\n"), l += !!*l) {
		if (strncmp(l, key, klen) == 0 && l[klen] == '=') {
			size_t n = strcspn(l + klen + 1, "\n");

			(void)snprintf(out, len, "%.*s", (int)n, l + klen + 1);
			return n < len ? out : NULL;
		}
	}
	out[0] = '\0';
	return out;
}

/* Is path one of the blank-separated paths in DropInPaths? */
static bool loads(const char *shown, const char *path)
{
	char paths[RB_VALUE_MAX];
	const char *p = prop(shown, "DropInPaths", paths, sizeof(paths));
	size_t n = strlen(path);

	for (; p && *(p += strspn(p, " ")); p += strcspn(p, " ")) {
		if (strncmp(p, path, n) == 0 && (p[n] == ' ' || !p[n]))
			return true;
	}
	return false;
}

/* Is lib an entry of the LD_PRELOAD the unit's processes will get? */
static bool preloads(const char *shown, const char *lib)
{
	char env[RB_VALUE_MAX];
	char pre[RB_VALUE_MAX];
	size_t n = strlen(lib);
	const char *p = pre;

	if (!prop(shown, "Environment", env, sizeof(env)) ||
	    rb_dropin_env_get(env, "LD_PRELOAD", pre, sizeof(pre)) != 1)
		return false;
	for (; *(p += strspn(p, ": ")); p += strcspn(p, ": ")) {
		if (strncmp(p, lib, n) == 0 && (p[n] == ':' || p[n] == ' ' ||
						!p[n]))
			return true;
	}
	return false;
}

/* Does the file at path say exactly text? */
static bool same_text(const char *path, const char *text)
{
	char cur[RB_TEXT_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int got;

	if (fd < 0)
		return false;
	got = read_all(fd, cur, sizeof(cur));
	(void)close(fd);
	return got == 0 && strcmp(cur, text) == 0;
}

/* Does the environment file at path (a systemd EnvironmentFile=) set NAME? */
static bool file_sets(const char *path, const char *name)
{
	char line[4096];
	size_t n = strlen(name);
	bool found = false;
	FILE *f = fopen(path, "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *l = line + strspn(line, " \t");

		found = strncmp(l, name, n) == 0 &&
			l[n + strspn(l + n, " \t")] == '=';
	}
	if (f)
		(void)fclose(f);
	return found;
}

/*
 * An EnvironmentFile= is read after Environment=, so its LD_PRELOAD
 * would replace the drop-in's: the path of the first that sets it.
 */
static const char *env_file_preload(const char *shown, char *out, size_t len)
{
	static const char key[] = "EnvironmentFiles=";

	for (const char *l = shown; *l; l += strcspn(l, "\n"), l += !!*l) {
		size_t n;

		if (strncmp(l, key, sizeof(key) - 1) != 0)
			continue;
		l += sizeof(key) - 1;
		/* "PATH (ignore_errors=no)" */
		n = strcspn(l, "\n");
		while (n > 0 && l[n - 1] != '(')
			n--;
		(void)snprintf(out, len, "%.*s", n > 2 ? (int)n - 2 : 0, l);
		if (out[0] && file_sets(out, "LD_PRELOAD"))
			return out;
	}
	return NULL;
}

/* Why the unit cannot be adopted, or NULL. */
static const char *refusal(const char *shown, const char *state, int has)
{
	char path[PATH_MAX];

	if (strcmp(state, "not-found") == 0)
		return "systemd knows no such unit";
	if (strcmp(state, "loaded") != 0)
		return "systemd cannot load it";
	if (has < 0)
		return "cannot read its Environment=";
	if (env_file_preload(shown, path, sizeof(path))) {
		static char why[PATH_MAX + 80];

		(void)snprintf(why, sizeof(why), "its EnvironmentFile %s sets "
			       "LD_PRELOAD, which would replace the drop-in's",
			       path);
		return why;
	}
	return NULL;
}

/* What enable would write for j->unit; 0, or -1 after saying why not. */
static int prepare(bool user, const char *lib, struct job *j, char *shown)
{
	static char env[RB_VALUE_MAX], pre[RB_VALUE_MAX];
	char state[64], type[64], fds[32];
	struct rb_dropin_in in = {lib, RB_SANITIZER_RUNTIME, NULL, type, 0};
	const char *why;
	int has;

	if (show(user, j->unit, shown, RB_SHOW_MAX))
		return -1;
	prop(shown, "LoadState", state, sizeof(state));
	prop(shown, "Type", type, sizeof(type));
	in.fdstore = (unsigned)strtoul(prop(shown, "FileDescriptorStoreMax",
					    fds, sizeof(fds)), NULL, 10);
	/* -1 also when Environment= is too long to read whole. */
	has = prop(shown, "Environment", env, sizeof(env))
		      ? rb_dropin_env_get(env, "LD_PRELOAD", pre, sizeof(pre))
		      : -1;
	if (has == 1)
		in.preload = pre;
	why = refusal(shown, state, has);
	if (why || rb_dropin_text(j->text, sizeof(j->text), &in, &why)) {
		(void)fprintf(stderr, "rebind: enable: %s: refused: %s "
			      "(LoadState=%s)\n", j->unit, why, state);
		return -1;
	}
	j->unchanged = same_text(j->path, j->text) && loads(shown, j->path);
	return 0;
}

/* mkdir -p of every directory above the file at path. */
static int make_dirs(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		int ret;

		*s = '\0';
		ret = mkdir(path, 0755);
		*s = '/';
		if (ret && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
				    O_NOFOLLOW, 0644);
	ssize_t n;
	int err;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	err = errno;
	if (close(fd) || n != (ssize_t)len) {
		errno = n < 0 ? err : EIO;
		return -1;
	}
	return 0;
}

/* The drop-in replaced in one rename, so systemd never reads half of it. */
static int write_dropin(struct job *j)
{
	char tmp[PATH_MAX + 8];

	(void)snprintf(tmp, sizeof(tmp), "%s.new", j->path);
	if (make_dirs(j->path) == 0 && write_text(tmp, j->text) == 0 &&
	    rename(tmp, j->path) == 0)
		return 0;
	(void)fprintf(stderr, "rebind: enable: %s: %s: %s\n", j->unit,
		      j->path, strerror(errno));
	(void)unlink(tmp);
	return -1;
}

static int daemon_reload(bool user)
{
	const char *const words[] = {"daemon-reload", NULL};

	if (systemctl(user, words, NULL, 0) == 0)
		return 0;
	(void)fputs("rebind: systemctl daemon-reload failed\n", stderr);
	return -1;
}

/* After the reload: systemd reads the drop-in and its LD_PRELOAD wins. */
static int verify(bool user, const char *lib, const struct job *j,
		  char *shown)
{
	const char *why = NULL;

	if (show(user, j->unit, shown, RB_SHOW_MAX))
		return -1;
	if (!loads(shown, j->path))
		why = "systemd does not read it (not in DropInPaths)";
	else if (!preloads(shown, lib))
		why = "a later drop-in sets LD_PRELOAD without the library";
	if (!why)
		return 0;
	(void)fprintf(stderr, "rebind: enable: %s: %s: %s\n", j->unit,
		      j->path, why);
	return -1;
}

/* The settings lines of the drop-in, indented, for the report. */
static void print_settings(const char *text)
{
	const char *l = strstr(text, "[Service]\n");

	for (l = l ? l + 10 : text; *l; l += strcspn(l, "\n") + 1)
		(void)printf("  %.*s\n", (int)strcspn(l, "\n"), l);
}

static void print_done(bool user, const struct job *j, size_t n)
{
	const char *u = user ? " --user" : "";
	bool wrote = false;

	for (size_t i = 0; i < n; i++) {
		if (j[i].unchanged) {
			(void)printf("%s: already enabled (%s)\n", j[i].unit,
				     j[i].path);
			continue;
		}
		(void)printf("%s: wrote %s:\n", j[i].unit, j[i].path);
		print_settings(j[i].text);
		wrote = true;
	}
	if (!wrote)
		return;
	(void)printf("Ran systemctl%s daemon-reload.\n", u);
	for (size_t i = 0; i < n; i++) {
		if (!j[i].unchanged)
			(void)printf("The next 'systemctl%s restart %s' starts "
				     "it under rebind.\n", u, j[i].unit);
	}
	(void)fputs("That first restart may still wait up to 60 s for the "
		    "port: the running\ninstance has no SO_REUSEADDR.  "
		    "'rebind status PORT' tells; as root, 'rebind\npurge "
		    "PORT' between stop and start clears the way.  Every "
		    "later restart is\nimmediate.\n", stdout);
}

/* Unit names and drop-in paths of every argument, before anything runs. */
static int name_units(bool user, char **argv, int first, size_t n,
		      struct job *j)
{
	char **units = argv + first;

	for (size_t i = 0; i < n; i++) {
		const char *why;

		if (rb_dropin_unit_name(units[i], j[i].unit,
					sizeof(j[i].unit), &why)) {
			(void)fprintf(stderr, "rebind: %s: '%s': %s\n",
				      argv[0], units[i], why);
			return RB_EXIT_USAGE;
		}
		if (dropin_path(user, j[i].unit, j[i].path, sizeof(j[i].path)))
			return RB_EXIT_INVALID;
	}
	return RB_EXIT_OK;
}

/* Every unit is checked before anything is written: all or nothing. */
static int enable_all(bool user, struct job *j, size_t n)
{
	static char shown[RB_SHOW_MAX];
	char lib[PATH_MAX];
	bool reload = false;
	int ret = RB_EXIT_OK;

	if (rb_cli_find_library(lib, sizeof(lib)))
		return RB_EXIT_INVALID;
	for (size_t i = 0; i < n; i++) {
		if (prepare(user, lib, &j[i], shown))
			ret = RB_EXIT_INVALID;
	}
	for (size_t i = 0; i < n && ret == RB_EXIT_OK; i++) {
		if (!j[i].unchanged && write_dropin(&j[i]))
			ret = RB_EXIT_INVALID;
		reload |= !j[i].unchanged;
	}
	if (reload && daemon_reload(user))
		ret = RB_EXIT_INVALID;
	for (size_t i = 0; i < n && ret == RB_EXIT_OK; i++) {
		if (verify(user, lib, &j[i], shown))
			ret = RB_EXIT_INVALID;
	}
	if (ret == RB_EXIT_OK)
		print_done(user, j, n);
	return ret;
}

/* Removes the drop-in at path, and its directory once empty.  1 removed. */
static int remove_dropin(const char *unit, char *path)
{
	char *slash = strrchr(path, '/');

	if (unlink(path)) {
		if (errno != ENOENT) {
			(void)fprintf(stderr, "rebind: disable: %s: %s: %s\n",
				      unit, path, strerror(errno));
			return -1;
		}
		(void)printf("%s: not enabled (no %s)\n", unit, path);
		return 0;
	}
	(void)printf("%s: removed %s\n", unit, path);
	/* Other drop-ins may live there: only an empty directory goes. */
	*slash = '\0';
	(void)rmdir(path);
	*slash = '/';
	return 1;
}

static int disable_all(bool user, struct job *j, size_t n)
{
	bool reload = false;
	int ret = RB_EXIT_OK;

	for (size_t i = 0; i < n; i++) {
		int r = remove_dropin(j[i].unit, j[i].path);

		ret = r < 0 ? RB_EXIT_INVALID : ret;
		reload |= r > 0;
	}
	if (reload && daemon_reload(user))
		return RB_EXIT_INVALID;
	if (reload)
		(void)printf("Ran systemctl%s daemon-reload.  The running "
			     "instance keeps rebind until it restarts.\n",
			     user ? " --user" : "");
	return ret;
}

/* rebind enable|disable [--user] UNIT...: every name checked, then act. */
static int run(int argc, char **argv, const char *usage,
	       int (*act)(bool user, struct job *j, size_t n))
{
	struct args a;
	struct job *jobs;
	size_t n;
	int ret = parse_args(argc, argv, &a, usage);

	if (ret)
		return ret > 0 ? RB_EXIT_OK : RB_EXIT_USAGE;
	n = (size_t)(argc - a.first);
	jobs = calloc(n, sizeof(*jobs));
	if (!jobs) {
		(void)fprintf(stderr, "rebind: %s\n", strerror(errno));
		return RB_EXIT_INVALID;
	}
	ret = name_units(a.user, argv, a.first, n, jobs);
	if (ret == RB_EXIT_OK)
		ret = act(a.user, jobs, n);
	free(jobs);
	return ret;
}

int rb_cli_enable(int argc, char **argv)
{
	return run(argc, argv, enable_usage, enable_all);
}

int rb_cli_disable(int argc, char **argv)
{
	return run(argc, argv, disable_usage, disable_all);
}
