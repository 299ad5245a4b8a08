/*
 * xsnap_env.c — what the daemon needs to run JavaScript vats on the real
 * xsnap-worker, found once at start-up: the folder `make xsnap` fills
 * (daemon.xsnapDir, else ../workers/xsnap beside the executable, else
 * workers/xsnap under the current directory), the worker binary (unless
 * daemon.workers.xsnap names a command of its own), the lockdown and
 * supervisor bundles turned into the two boot commands SwingSet
 * evaluates, the vat-admin vat's bundle (added as the static vat
 * "vatAdmin" when an xsnap configuration names none, as SwingSet does),
 * the timer vat's (added as "timer" when it has a timer device),
 * and the bundler that turns a sourceSpec into a bundle.
 *
 * A missing piece is a start-up error naming the path and `make xsnap`.
 * The environment is built only when some static vat runs on xsnap or an
 * entry is given as a sourceSpec.  One per process (the bundler is
 * reached from daemon/kernel/boot.c through xsnap_bundle_source()).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/bundles/bundles.h"
#include "daemon/daemon.h"
#include "protocol/log.h"

#define NM		"node_modules/"
#define XSNAP_WORKER	NM "@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/" \
			"release/xsnap-worker"
#define XSNAP_LOCKDOWN	NM "@agoric/xsnap-lockdown/dist/lockdown.bundle"
#define XSNAP_SUPERVISOR NM "@agoric/swingset-xsnap-supervisor/dist/" \
			"supervisor.bundle"
#define XSNAP_VATADMIN	"build/vat-admin.bundle.json"
#define XSNAP_VATTIMER	"build/vat-timer.bundle.json"
#define XSNAP_BUNDLER	"bundle.mjs"

extern char **environ;

static struct xsnap_env {
	char	*dir;		/* absolute */
	json_t	*boot;		/* [["e", lockdown], ["e", supervisor]] */
	json_t	*ids;		/* their bundle IDs, b0-<sha256 of the file> */
	json_t	*made;		/* sourceSpec path -> bundle, this start's */
} xenv;

static char *
join(const char *dir, const char *rel)
{
	char *out = NULL;

	return asprintf(&out, "%s/%s", dir, rel) < 0 ? NULL : out;
}

/* The default folder: beside the executable (bin/../workers/xsnap), or
 * under the current directory. */
static char *
default_dir(void)
{
	char	 self[PATH_MAX], *p, *out;
	ssize_t	 n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct stat sb;

	if (n > 0) {
		self[n] = '\0';
		if ((p = strrchr(self, '/')) != NULL) {
			*p = '\0';
			if ((out = join(self, "../workers/xsnap")) != NULL &&
			    stat(out, &sb) == 0 && S_ISDIR(sb.st_mode))
				return out;
			free(out);
		}
	}
	if (getcwd(self, sizeof(self)) == NULL)
		return NULL;
	return join(self, "workers/xsnap");
}

static int
need_file(const char *path, int mode, char *err, size_t errlen)
{
	if (access(path, mode) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s (build it with `make xsnap`, or set "
	    "daemon.xsnapDir)", path, strerror(errno));
	return -1;
}

/* The whole file at path (malloc'd, NUL-terminated), or NULL. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*buf = NULL;
	long	 n;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) !=
	    NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
		if (*len != (size_t)n || ferror(f)) {
			free(buf);
			buf = NULL;
		}
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/*
 * ["e", `(${bundle.source}\n)()`.trim()], as SwingSet evaluates a
 * nestedEvaluate bundle in a fresh worker; the bundle's ID is appended
 * to xenv.ids.
 */
static json_t *
boot_command(const char *dir, const char *rel, char *err, size_t errlen)
{
	char		*path = join(dir, rel), *text = NULL, *bytes = NULL;
	char		*id = NULL;
	json_t		*b = NULL, *cmd = NULL;
	json_error_t	 jerr;
	const char	*src, *s, *e;
	size_t		 len = 0;

	if (path == NULL || need_file(path, R_OK, err, errlen) == -1)
		goto out;
	if ((bytes = read_file(path, &len)) == NULL ||
	    (b = json_loadb(bytes, len, 0, &jerr)) == NULL ||
	    (src = json_string_value(json_object_get(b, "source"))) == NULL) {
		snprintf(err, errlen, "%s: not a bundle with a source (%s); "
		    "rebuild it with `make clean-xsnap xsnap`", path,
		    bytes == NULL ? strerror(errno) : b == NULL ? jerr.text :
		    "no \"source\" string");
		goto out;
	}
	if (asprintf(&text, "(%s\n)()", src) < 0) {
		text = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (s = text; *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\n' ||
	    e[-1] == '\t' || e[-1] == '\r'); e--)
		;
	if ((id = bundle_b0_of(bytes, len)) == NULL ||
	    json_array_append_new(xenv.ids, json_string(id)) == -1 ||
	    (cmd = json_pack("[s, s#]", "e", s, (int)(e - s))) == NULL)
		snprintf(err, errlen, "out of memory");
out:
	free(id);
	free(text);
	free(bytes);
	json_decref(b);
	free(path);
	return cmd;
}

/* Does any static vat run on xsnap, or any entry need bundling? */
static bool
wanted(const struct config *cfg, bool *bundling)
{
	bool xs = false;

	*bundling = false;
	for (size_t i = 0; i < cfg->nvats; i++) {
		xs |= strcmp(config_vat_manager_type(cfg, &cfg->vats[i]),
		    "xsnap") == 0;
		*bundling |= cfg->vats[i].source == CONFIG_SRC_SOURCE_SPEC;
	}
	for (size_t i = 0; i < cfg->nbundles; i++)
		*bundling |= cfg->bundles[i].source == CONFIG_SRC_SOURCE_SPEC;
	return xs || strcmp(cfg->default_manager_type, "xsnap") == 0;
}

/* A static vat named name from a bundle make xsnap built (rel), kept in
 * the name order of cfg->vats. */
static int
add_built_vat(struct config *cfg, const char *name, const char *rel,
    char *err, size_t errlen)
{
	struct config_vat	*v, nv = { 0 };
	size_t			 at = 0;

	if ((nv.path = join(xenv.dir, rel)) == NULL)
		goto oom;
	if (need_file(nv.path, R_OK, err, errlen) == -1) {
		free(nv.path);
		return -1;
	}
	nv.name = strdup(name);
	nv.source = CONFIG_SRC_BUNDLE_SPEC;
	nv.creation_options = json_object();
	nv.parameters = json_object();
	v = realloc(cfg->vats, (cfg->nvats + 1) * sizeof(*v));
	if (nv.name == NULL || nv.creation_options == NULL ||
	    nv.parameters == NULL || v == NULL) {
		if (v != NULL)
			cfg->vats = v;
		free(nv.name);
		free(nv.path);
		json_decref(nv.creation_options);
		json_decref(nv.parameters);
		goto oom;
	}
	cfg->vats = v;
	while (at < cfg->nvats && strcmp(v[at].name, name) < 0)
		at++;
	memmove(&v[at + 1], &v[at], (cfg->nvats - at) * sizeof(*v));
	v[at] = nv;
	cfg->nvats++;
	log_info("main", "%s: the %s vat of @agoric/swingset-vat (%s)", name,
	    strcmp(name, "vatAdmin") == 0 ? "vat-admin" : name, nv.path);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/*
 * SwingSet's timer vat (vat-timer.js), as the static vat "timer", when
 * the configuration has a timer device and no vat of that name.  SwingSet
 * adds it to every configuration (addTimer); swingsetd only where it can
 * serve, so that configurations without a timer keep their vat IDs.
 */
static int
add_timer_vat(struct config *cfg, char *err, size_t errlen)
{
	bool dev = false;

	for (size_t i = 0; i < cfg->ndevices; i++)
		dev |= strcmp(cfg->devices[i].name, "timer") == 0;
	if (!dev)
		return 0;
	for (size_t i = 0; i < cfg->nvats; i++)
		if (strcmp(cfg->vats[i].name, "timer") == 0) {
			log_info("main", "timer: the configuration's own vat "
			    "(SwingSet would replace it with vat-timer.js)");
			return 0;
		}
	return add_built_vat(cfg, "timer", XSNAP_VATTIMER, err, errlen);
}

/* daemon.workers.xsnap, when not configured: [the built worker]. */
static int
set_worker(struct config *cfg, char *err, size_t errlen)
{
	char	*path;
	int	 rc = -1;

	if (json_object_get(cfg->daemon.workers, "xsnap") != NULL)
		return 0;
	if ((path = join(xenv.dir, XSNAP_WORKER)) == NULL)
		snprintf(err, errlen, "out of memory");
	else if (need_file(path, X_OK, err, errlen) == 0)
		rc = json_object_set_new(cfg->daemon.workers, "xsnap",
		    json_pack("[s]", path));
	free(path);
	return rc;
}

static int
load_boot(char *err, size_t errlen)
{
	json_t	*l, *s;

	if ((xenv.ids = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l = boot_command(xenv.dir, XSNAP_LOCKDOWN, err, errlen);
	s = l ? boot_command(xenv.dir, XSNAP_SUPERVISOR, err, errlen) : NULL;
	if (s == NULL) {
		json_decref(l);
		return -1;
	}
	/* "o" steals both references, also when packing fails */
	if ((xenv.boot = json_pack("[o, o]", l, s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
xsnap_env_load(struct config *cfg, char *err, size_t errlen)
{
	bool bundling, xs = wanted(cfg, &bundling);

	if (!xs && !bundling)
		return 0;
	xenv.dir = cfg->daemon.xsnap_dir ? strdup(cfg->daemon.xsnap_dir) :
	    default_dir();
	if (xenv.dir == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!xs)
		return 0;
	if (set_worker(cfg, err, errlen) == -1 || load_boot(err, errlen) == -1)
		return -1;
	if (strcmp(cfg->default_manager_type, "xsnap") != 0)
		return 0;
	if (add_timer_vat(cfg, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < cfg->nvats; i++)
		if (strcmp(cfg->vats[i].name, "vatAdmin") == 0) {
			log_info("main", "vatAdmin: the configuration's own vat "
			    "(SwingSet would replace it with vat-vat-admin.js)");
			return 0;
		}
	return add_built_vat(cfg, "vatAdmin", XSNAP_VATADMIN, err, errlen);
}

json_t *
xsnap_env_boot(void)
{
	return xenv.boot;
}

/* ["b0-…lockdown", "b0-…supervisor"], or NULL when xsnap is not used. */
const json_t *
xsnap_env_bundle_ids(void)
{
	return xenv.ids;
}

void
xsnap_env_free(void)
{
	json_decref(xenv.boot);
	json_decref(xenv.ids);
	json_decref(xenv.made);
	free(xenv.dir);
	memset(&xenv, 0, sizeof(xenv));
}

/* Read fd to EOF into a malloc'd, NUL-terminated buffer. */
static char *
slurp(int fd, size_t *len)
{
	size_t	 cap = 1 << 16, n = 0;
	char	*buf = malloc(cap), *nb;
	ssize_t	 r;

	while (buf != NULL) {
		if (n + 1 >= cap) {
			if ((nb = realloc(buf, cap * 2)) == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		if ((r = read(fd, buf + n, cap - n - 1)) == 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		if (r > 0)
			n += (size_t)r;
		else if (errno != EINTR)
			break;
	}
	free(buf);
	return NULL;
}

/* Run node DIR/bundle.mjs entry; its stdout into *out (malloc'd). */
static int
run_bundler(const char *script, const char *entry, char **out, size_t *len,
    char *err, size_t errlen)
{
	char			*argv[] = { "node", (char *)(uintptr_t)script,
				    (char *)(uintptr_t)entry, NULL };
	posix_spawn_file_actions_t fa;
	int			 p[2], st = 0, rc;
	pid_t			 pid, w;

	*out = NULL;
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) == 0) {
		if ((rc = posix_spawn_file_actions_adddup2(&fa, p[1], 1)) == 0)
			rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
		if (rc == 0)
			rc = posix_spawnp(&pid, "node", &fa, NULL, argv,
			    environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		snprintf(err, errlen, "cannot run node (needed to bundle %s): "
		    "%s", entry, strerror(rc));
		return -1;
	}
	*out = slurp(p[0], len);
	close(p[0]);		/* before waiting: the child must not block */
	while ((w = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	if (w == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    *out == NULL) {
		if (w == -1)
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
		else if (WIFSIGNALED(st))
			snprintf(err, errlen, "bundling %s failed: node was "
			    "killed by signal %d", entry, WTERMSIG(st));
		else
			snprintf(err, errlen, "bundling %s failed (node %s "
			    "exited with status %d; its message is in the log "
			    "above)", entry, script, WIFEXITED(st) ?
			    WEXITSTATUS(st) : -1);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * The bundle of a JavaScript entry file (new reference), made by
 * @endo/bundle-source through DIR/bundle.mjs, whose complaints go to our
 * stderr; once per path and start.  NULL with a reason in err.
 */
json_t *
xsnap_bundle_source(const char *entry, char *err, size_t errlen)
{
	char		*script, *out = NULL;
	size_t		 len = 0;
	json_t		*b = NULL;
	json_error_t	 jerr;

	if ((b = json_object_get(xenv.made, entry)) != NULL)
		return json_incref(b);
	if (xenv.dir == NULL || (script = join(xenv.dir, XSNAP_BUNDLER)) ==
	    NULL) {
		snprintf(err, errlen, "no xsnap folder to bundle %s with",
		    entry);
		return NULL;
	}
	if (need_file(script, R_OK, err, errlen) == 0 &&
	    run_bundler(script, entry, &out, &len, err, errlen) == 0 &&
	    (b = json_loadb(out, len, 0, &jerr)) == NULL)
		snprintf(err, errlen, "bundling %s gave no JSON: %s", entry,
		    jerr.text);
	if (b != NULL && ((xenv.made == NULL && (xenv.made = json_object()) ==
	    NULL) || json_object_set(xenv.made, entry, b) == -1)) {
		json_decref(b);
		b = NULL;
		snprintf(err, errlen, "out of memory");
	}
	free(out);
	free(script);
	return b;
}
