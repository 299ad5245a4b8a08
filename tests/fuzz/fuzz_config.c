/*
 * fuzz_config.c — libFuzzer harness for the configuration parser, conf/
 * (config.c, config_keys.c, config_entry.c, config_dump.c).
 *
 * Feeds: the input as a configuration file's text, twice: to
 * config_parse() (the in-memory entry point) with a scratch folder as the
 * base directory, and written to config.json in that folder and read back
 * with config_load(), as swingsetd --config reads it.  The folder holds
 * vat.js, bundle.json and lib/vat.js, so that sourceSpec / bundleSpec
 * paths can name real files.
 *
 * Checks, beyond not crashing:
 *   - the file and the text give the same verdict and the same errors
 *     (the file's name in place of "<string>"), and either a config or at
 *     least one error, never both;
 *   - config_errors_format() gives one line per error;
 *   - an accepted config is within its bounds: at least one vat, vats,
 *     bundles and devices sorted by name, each with the one source it
 *     says (an absolute path for *Spec), a bootstrap that names a vat, a
 *     known log level and manager type (xs-worker stored as xsnap),
 *     absolute daemon paths, a socket path that fits sun_path, maxMapSize
 *     0 or >= mapSize, a testworker command;
 *   - config_dump() fed back to config_parse() from another base
 *     directory ("/") is accepted and dumps the same JSON, with the same
 *     unsupported keys: the printout round-trips (config.h's promise).
 */
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/config.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	 fc_dir[PATH_MAX];	/* the scratch folder (realpath) */
static char	 fc_file[PATH_MAX];	/* fc_dir/config.json */

static void
fc_abort(const char *what)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	abort();
}

/* At exit: the scratch folder and what LLVMFuzzerInitialize put in it. */
static void
fc_cleanup(void)
{
	static const char *const files[] = { "config.json", "vat.js",
	    "bundle.json", "lib/vat.js", NULL };
	char	 p[PATH_MAX + 32];

	if (fc_dir[0] == '\0')
		return;
	for (size_t i = 0; files[i] != NULL; i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", fc_dir, files[i]);
		(void)unlink(p);
	}
	(void)snprintf(p, sizeof(p), "%s/lib", fc_dir);
	(void)rmdir(p);
	(void)rmdir(fc_dir);
}

/* Write len bytes to dir/name, replacing it. */
static void
fc_write(const char *name, const void *buf, size_t len)
{
	char	 p[PATH_MAX + 32];
	ssize_t	 n;
	int	 fd;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", fc_dir, name) >= sizeof(p))
		fc_abort("scratch path too long");
	/* fd: this file, written whole and closed here */
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1)
		fc_abort("cannot create a scratch file");
	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			fc_abort("cannot write a scratch file");
		}
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	if (close(fd) == -1)
		fc_abort("cannot close a scratch file");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char bundle[] = "{\"moduleFormat\":\"testworker\","
	    "\"vat\":\"echo\"}";
	char	 tmpl[] = "/tmp/fuzz_config.XXXXXX", p[PATH_MAX + 32];

	(void)argc;
	(void)argv;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, fc_dir) == NULL)
		fc_abort("cannot make the scratch folder");
	if (atexit(fc_cleanup) != 0)
		fc_abort("atexit");
	(void)snprintf(p, sizeof(p), "%s/lib", fc_dir);
	if (mkdir(p, 0700) == -1)
		fc_abort("cannot make the scratch lib folder");
	fc_write("vat.js", "export const buildRootObject = () => ({});\n", 43);
	fc_write("lib/vat.js", "export const buildRootObject = () => ({});\n",
	    43);
	fc_write("bundle.json", bundle, sizeof(bundle) - 1);
	if ((size_t)snprintf(fc_file, sizeof(fc_file), "%s/config.json",
	    fc_dir) >= sizeof(fc_file))
		fc_abort("scratch path too long");
	return 0;
}

/*
 * s as config_load() says it.  When the text is no JSON object (whole),
 * config_parse() names it "<string>" where config_load() gives the file's
 * name: a leading "<string>" becomes that.  Otherwise a "<string>" is
 * the input's own (a key), and stays.
 */
static char *
fc_as_file(const char *s, int whole)
{
	const size_t	 n = strlen("<string>");
	char		*out;

	if (!whole || strncmp(s, "<string>", n) != 0)
		return strdup(s);
	if (asprintf(&out, "%s%s", fc_file, s + n) < 0)
		return NULL;
	return out;
}

static void
fc_same_errors(const struct config_errors *text,
    const struct config_errors *file, int whole)
{
	char	*p, *m;
	int	 same;

	if (text->n != file->n)
		fc_abort("config_parse and config_load give different "
		    "numbers of errors");
	for (size_t i = 0; i < text->n; i++) {
		p = fc_as_file(text->v[i].path, whole);
		m = fc_as_file(text->v[i].message, whole);
		if (p == NULL || m == NULL)
			fc_abort("out of memory");
		same = strcmp(p, file->v[i].path) == 0 &&
		    strcmp(m, file->v[i].message) == 0;
		if (!same)
			fprintf(stderr, "fuzz_config: '%s: %s' vs. '%s: %s'\n",
			    p, m, file->v[i].path, file->v[i].message);
		free(p);
		free(m);
		if (!same)
			fc_abort("config_parse and config_load disagree");
	}
}

static void
fc_format(const struct config_errors *errs)
{
	char	*s = config_errors_format(errs);
	size_t	 lines = 0;

	if (s == NULL)
		return;		/* out of memory */
	for (const char *p = s; *p != '\0'; p++)
		lines += *p == '\n';
	/* a message may hold a newline of its own (jansson's do not) */
	if (lines < errs->n)
		fc_abort("config_errors_format lost errors");
	free(s);
}

static int
fc_abs(const char *p)
{
	return p != NULL && p[0] == '/';
}

static int
fc_in(const char *s, const char *const *list)
{
	for (; s != NULL && *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static const char *
fc_entries(const struct config_vat *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].name == NULL || v[i].parameters == NULL ||
		    v[i].creation_options == NULL)
			return "an entry without name, parameters or options";
		if (i > 0 && strcmp(v[i - 1].name, v[i].name) >= 0)
			return "entries not sorted by name";
		switch (v[i].source) {
		case CONFIG_SRC_SOURCE_SPEC:
		case CONFIG_SRC_BUNDLE_SPEC:
			if (!fc_abs(v[i].path) || v[i].bundle != NULL ||
			    v[i].bundle_name != NULL)
				return "a *Spec entry without its absolute "
				    "path, or with another source";
			break;
		case CONFIG_SRC_BUNDLE:
			if (!json_is_object(v[i].bundle) || v[i].path != NULL ||
			    v[i].bundle_name != NULL)
				return "a bundle entry without its object";
			break;
		case CONFIG_SRC_BUNDLE_NAME:
			if (v[i].bundle_name == NULL || v[i].path != NULL ||
			    v[i].bundle != NULL)
				return "a bundleName entry without its name";
			break;
		default:
			return "an entry with no known source";
		}
	}
	return NULL;
}

static const char *
fc_bounds(const struct config *c)
{
	static const char *const levels[] = { "debug", "info", "warn",
	    "error", NULL };
	static const char *const managers[] = { "xsnap", "local",
	    "node-subprocess", "testworker", NULL };
	struct sockaddr_un	 sun;
	const char		*why;
	size_t			 i;

	if (c->nvats == 0)
		return "accepted without a vat";
	if ((why = fc_entries(c->vats, c->nvats)) != NULL ||
	    (why = fc_entries(c->bundles, c->nbundles)) != NULL ||
	    (why = fc_entries(c->devices, c->ndevices)) != NULL)
		return why;
	if (c->bootstrap != NULL) {
		for (i = 0; i < c->nvats; i++)
			if (strcmp(c->vats[i].name, c->bootstrap) == 0)
				break;
		if (i == c->nvats)
			return "bootstrap names no vat";
	}
	if (!fc_in(c->daemon.log_level, levels))
		return "unknown log level";
	if (!fc_in(c->default_manager_type, managers))
		return "unknown default manager type (or xs-worker kept)";
	if (!fc_abs(c->daemon.socket_path) || !fc_abs(c->daemon.state_dir) ||
	    (c->daemon.xsnap_dir != NULL && !fc_abs(c->daemon.xsnap_dir)) ||
	    !fc_abs(c->base_dir))
		return "a daemon path that is not absolute";
	if (strlen(c->daemon.socket_path) >= sizeof(sun.sun_path))
		return "a socket path too long for sun_path";
	if (c->daemon.max_map_size != 0 &&
	    c->daemon.max_map_size < c->daemon.map_size)
		return "maxMapSize below mapSize";
	if (c->daemon.max_frame == 0 || c->daemon.max_request_line == 0 ||
	    c->daemon.max_clients == 0)
		return "a zero limit";
	if (c->daemon.cpu_affinity < -1 || c->daemon.cpu_affinity > 1023)
		return "cpuAffinity out of range";
	if (!json_is_array(config_worker_argv(c, "testworker")))
		return "no testworker command";
	return NULL;
}

static int
fc_same_unsupported(const struct config *a, const struct config *b)
{
	const char *const *x = config_unsupported(a);
	const char *const *y = config_unsupported(b);

	for (; *x != NULL && *y != NULL; x++, y++)
		if (strcmp(*x, *y) != 0)
			return 0;
	return *x == NULL && *y == NULL;
}

/* config_dump() parses back, from another folder, to the same dump. */
static void
fc_round_trip(const struct config *cfg)
{
	struct config_errors	 errs = { 0 };
	struct config		*again;
	json_t			*dump, *dump2;
	char			*text, *fmt;

	if ((dump = config_dump(cfg)) == NULL)
		return;		/* out of memory */
	text = json_dumps(dump, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		fc_abort("cannot print config_dump's JSON");
	again = config_parse(text, strlen(text), "/", &errs);
	if (again == NULL) {
		fmt = config_errors_format(&errs);
		fprintf(stderr, "fuzz_config: %s\n%s", text,
		    fmt ? fmt : "?");
		free(fmt);
		fc_abort("config_dump's printout is refused");
	}
	if ((dump2 = config_dump(again)) == NULL)
		fc_abort("config_dump failed on its own printout");
	if (!json_equal(dump, dump2)) {
		fmt = json_dumps(dump2, JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(stderr, "fuzz_config: %s\nthen %s\n", text,
		    fmt ? fmt : "?");
		free(fmt);
		fc_abort("config_dump's printout reads as another config");
	}
	if (!fc_same_unsupported(cfg, again))
		fc_abort("the printout has other unsupported keys");
	json_decref(dump2);
	config_free(again);
	config_errors_clear(&errs);
	free(text);
	json_decref(dump);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors	 terrs = { 0 }, ferrs = { 0 };
	struct config		*t, *f;
	json_t			*root;
	const char		*why;
	int			 whole;

	/* the same load as conf_parse(): is the text a JSON object? */
	root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    NULL);
	whole = !json_is_object(root);
	json_decref(root);
	t = config_parse((const char *)data, size, fc_dir, &terrs);
	fc_write("config.json", data, size);
	f = config_load(fc_file, &ferrs);
	if ((t == NULL) != (f == NULL))
		fc_abort("config_parse and config_load disagree on validity");
	if ((t == NULL) != (terrs.n > 0))
		fc_abort("a config with errors, or no config and no error");
	fc_same_errors(&terrs, &ferrs, whole);
	fc_format(&terrs);
	if (t != NULL) {
		if ((why = fc_bounds(t)) != NULL)
			fc_abort(why);
		if (f->path == NULL || strcmp(f->path, fc_file) != 0 ||
		    t->path != NULL)
			fc_abort("config path wrong");
		fc_round_trip(t);
	}
	config_free(t);
	config_free(f);
	config_errors_clear(&terrs);
	config_errors_clear(&ferrs);
	return 0;
}
