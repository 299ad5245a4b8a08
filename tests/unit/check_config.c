/*
 * check_config.c — unit suite for conf/config.c: SwingSet configs load as
 * they are, every problem is reported with its key path, defaults and path
 * resolution, unsupported keys, and the dump round trip.  Each test writes
 * its files into a fresh mkdtemp directory.  Run from the repository root:
 * conf/demo.json and conf/example-swingset.json are loaded from there.
 */
#include <sys/stat.h>

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"

/* A vat that loads under the default manager type (xsnap needs no worker). */
#define VATS	"\"vats\": {\"a\": {\"bundle\": {\"moduleFormat\": \"t\"}}}"

static char	*dir;		/* the test's directory, real path */
static char	*cwd;

static void	assert_round_trip(const struct config *);

static char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	return s;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	char tmpl[] = "/tmp/check_config.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	dir = realpath(tmpl, NULL);
	ck_assert_ptr_nonnull(dir);
	cwd = getcwd(NULL, 0);
	ck_assert_ptr_nonnull(cwd);
}

static void
teardown(void)
{
	ck_assert_int_eq(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(dir);
	free(cwd);
}

/* Write text to dir/name (parent folders must exist); the full path. */
static char *
write_file(const char *name, const char *text)
{
	char	*path = xasprintf("%s/%s", dir, name);
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static void
put_file(const char *name, const char *text)
{
	free(write_file(name, text));
}

static void
make_dir(const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);

	ck_assert_int_eq(mkdir(path, 0755), 0);
	free(path);
}

/* dir/config.json with text must load; fails the test with the errors. */
static struct config *
load_ok_at(const char *name, const char *text)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			*path = write_file(name, text), *msg;

	cfg = config_load(path, &errs);
	msg = config_errors_format(&errs);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(cfg != NULL && errs.n == 0, "unexpected errors:\n%s",
	    msg);
	free(msg);
	free(path);
	config_errors_clear(&errs);
	return cfg;
}

static struct config *
load_ok(const char *text)
{
	return load_ok_at("config.json", text);
}

/* dir/config.json with text must fail; its errors as formatted lines. */
static char *
load_err(const char *text)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			*path = write_file("config.json", text), *msg;

	cfg = config_load(path, &errs);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_gt(errs.n, 0);
	msg = config_errors_format(&errs);
	ck_assert_ptr_nonnull(msg);
	free(path);
	config_errors_clear(&errs);
	return msg;
}

/* Assert that text fails with exactly the lines expect. */
static void
assert_errors(const char *text, const char *expect)
{
	char *got = load_err(text);

	ck_assert_str_eq(got, expect);
	free(got);
}

static const char *
argv0(const struct config *cfg, const char *mt)
{
	const json_t *argv = config_worker_argv(cfg, mt);

	ck_assert_ptr_nonnull(argv);
	return json_string_value(json_array_get(argv, 0));
}

/* ---- valid configurations --------------------------------------------- */

START_TEST(t_swingset_config)
{
	struct config	*cfg;
	char		*p;

	put_file("bootstrap.js", "export const buildRootObject = 0;\n");
	put_file("vat-alice.js", "export const buildRootObject = 0;\n");
	put_file("b-bob.json", "{\"moduleFormat\": \"endoZipBase64\"}\n");
	make_dir("sub");
	cfg = load_ok("{\n"
	    "  \"bootstrap\": \"bootstrap\",\n"
	    "  \"defaultManagerType\": \"xs-worker\",\n"
	    "  \"defaultReapInterval\": \"never\",\n"
	    "  \"snapshotInterval\": 500,\n"
	    "  \"pinBootstrapRoot\": true,\n"
	    "  \"vats\": {\n"
	    "    \"bootstrap\": {\"sourceSpec\": \"./bootstrap.js\",\n"
	    "                  \"parameters\": {\"x\": 1}},\n"
	    "    \"alice\": {\"sourceSpec\": \"vat-alice.js\",\n"
	    "      \"creationOptions\": {\"enablePipelining\": true,\n"
	    "        \"reapInterval\": \"never\", \"critical\": true}},\n"
	    "    \"bob\": {\"bundleSpec\": \"sub/../b-bob.json\"},\n"
	    "    \"carol\": {\"bundleName\": \"shared\"}\n"
	    "  },\n"
	    "  \"bundles\": {\"shared\": {\"bundle\": {\n"
	    "    \"moduleFormat\": \"endoZipBase64\",\n"
	    "    \"endoZipBase64\": \"UEs=\", \"endoZipBase64Sha512\": \"0\"}}}\n"
	    "}\n");
	p = xasprintf("%s/config.json", dir);
	ck_assert_str_eq(cfg->path, p);
	free(p);
	ck_assert_str_eq(cfg->base_dir, dir);
	ck_assert_str_eq(cfg->bootstrap, "bootstrap");
	ck_assert_str_eq(cfg->default_manager_type, "xsnap");
	ck_assert_int_eq(cfg->default_reap_interval, CONFIG_NEVER);
	ck_assert_int_eq(cfg->default_reap_gc_krefs, 20);
	ck_assert_int_eq(cfg->snapshot_initial, 3);
	ck_assert_int_eq(cfg->snapshot_interval, 500);
	ck_assert(cfg->pin_bootstrap_root);
	ck_assert(!cfg->relax_durability_rules);
	ck_assert_uint_eq(cfg->nvats, 4);
	ck_assert_str_eq(cfg->vats[0].name, "alice");
	ck_assert_str_eq(cfg->vats[1].name, "bob");
	ck_assert_str_eq(cfg->vats[2].name, "bootstrap");
	ck_assert_str_eq(cfg->vats[3].name, "carol");
	ck_assert_int_eq(cfg->vats[0].source, CONFIG_SRC_SOURCE_SPEC);
	p = xasprintf("%s/vat-alice.js", dir);
	ck_assert_str_eq(cfg->vats[0].path, p);
	free(p);
	ck_assert(json_is_true(json_object_get(cfg->vats[0].creation_options,
	    "critical")));
	ck_assert_int_eq(cfg->vats[1].source, CONFIG_SRC_BUNDLE_SPEC);
	p = xasprintf("%s/b-bob.json", dir);
	ck_assert_str_eq(cfg->vats[1].path, p);
	free(p);
	ck_assert_uint_eq(json_object_size(cfg->vats[1].creation_options), 0);
	ck_assert_uint_eq(json_object_size(cfg->vats[1].parameters), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(
	    cfg->vats[2].parameters, "x")), 1);
	ck_assert_int_eq(cfg->vats[3].source, CONFIG_SRC_BUNDLE_NAME);
	ck_assert_str_eq(cfg->vats[3].bundle_name, "shared");
	ck_assert_ptr_null(cfg->vats[3].path);
	ck_assert_uint_eq(cfg->nbundles, 1);
	ck_assert_int_eq(cfg->bundles[0].source, CONFIG_SRC_BUNDLE);
	ck_assert_str_eq(json_string_value(json_object_get(
	    cfg->bundles[0].bundle, "moduleFormat")), "endoZipBase64");
	ck_assert_uint_eq(cfg->ndevices, 0);
	ck_assert_ptr_null(config_unsupported(cfg)[0]);
	ck_assert_str_eq(config_vat_manager_type(cfg, &cfg->vats[0]),
	    "xsnap");
	config_free(cfg);
}
END_TEST

START_TEST(t_defaults)
{
	struct config	*cfg = load_ok("{" VATS "}");
	char		*p;

	ck_assert_ptr_null(cfg->bootstrap);
	ck_assert_str_eq(cfg->default_manager_type, "xsnap");
	ck_assert_int_eq(cfg->default_reap_interval, 1);
	ck_assert_int_eq(cfg->default_reap_gc_krefs, 20);
	ck_assert_int_eq(cfg->snapshot_initial, 3);
	ck_assert_int_eq(cfg->snapshot_interval, 200);
	ck_assert(!cfg->pin_bootstrap_root && !cfg->relax_durability_rules &&
	    !cfg->include_dev_dependencies);
	ck_assert_uint_eq(cfg->nbundles, 0);
	p = xasprintf("%s/var", cwd);
	ck_assert_str_eq(cfg->daemon.state_dir, p);
	free(p);
	p = xasprintf("%s/var/control.sock", cwd);
	ck_assert_str_eq(cfg->daemon.socket_path, p);
	free(p);
	ck_assert_str_eq(cfg->daemon.log_level, "info");
	ck_assert_uint_eq(cfg->daemon.map_size, 64 * 1024 * 1024);
	ck_assert_uint_eq(cfg->daemon.max_map_size, 0);
	ck_assert_uint_eq(cfg->daemon.max_request_line, 64 * 1024 * 1024);
	ck_assert_uint_eq(cfg->daemon.max_clients, 1024);
	ck_assert_uint_eq(cfg->daemon.max_frame, 12000000);
	ck_assert_uint_eq(cfg->daemon.delivery_timeout_ms, 30000);
	ck_assert_uint_eq(cfg->daemon.max_retries, 3);
	ck_assert_uint_eq(cfg->daemon.reserved_clients, 2);
	ck_assert_uint_eq(cfg->daemon.client_idle_timeout_ms, 60000);
	ck_assert_uint_eq(cfg->daemon.bridge_timeout_ms, 30000);
	ck_assert_uint_eq(cfg->daemon.client_buffer_budget, 256 << 20);
	/* the loading process's own ids, and root for the uid lists */
	ck_assert_uint_eq(cfg->daemon.allowed_uids.n, geteuid() ? 2 : 1);
	ck_assert_uint_eq(cfg->daemon.allowed_uids.v[0], geteuid());
	ck_assert_uint_eq(cfg->daemon.allowed_uids.v[
	    cfg->daemon.allowed_uids.n - 1], 0);
	ck_assert_uint_eq(cfg->daemon.producer_uids.n, geteuid() ? 2 : 1);
	ck_assert_uint_eq(cfg->daemon.producer_uids.v[0], geteuid());
	ck_assert_uint_eq(cfg->daemon.allowed_gids.n, 1);
	ck_assert_uint_eq(cfg->daemon.allowed_gids.v[0], getegid());
	ck_assert_str_eq(argv0(cfg, "testworker"), "testworker");
	ck_assert_uint_eq(json_array_size(config_worker_argv(cfg,
	    "testworker")), 1);
	ck_assert_ptr_null(config_worker_argv(cfg, "xsnap"));
	ck_assert_ptr_null(config_worker_argv(cfg, "xs-worker"));
	ck_assert_ptr_null(config_worker_argv(cfg, "local"));
	ck_assert_ptr_null(config_unsupported(cfg)[0]);
	config_free(cfg);
}
END_TEST

START_TEST(t_relative_paths)
{
	struct config	*cfg;
	const json_t	*argv;
	char		*p;

	make_dir("conf");
	put_file("vat.js", "\n");
	cfg = load_ok_at("conf/config.json", "{\"vats\": {\"a\": {\n"
	    "  \"sourceSpec\": \"../vat.js\",\n"
	    "  \"creationOptions\": {\"managerType\": \"local\"}}},\n"
	    " \"daemon\": {\"stateDir\": \"../var\", \"socket\": "
	    "\"run/./s.sock\",\n"
	    "  \"workers\": {\"local\": [\"./w/local-worker\", \"w/x\"],\n"
	    "    \"node-subprocess\": [\"node\"],\n"
	    "    \"testworker\": [\"/opt/tw\", \"-v\"]}}}\n");
	p = xasprintf("%s/conf", dir);
	ck_assert_str_eq(cfg->base_dir, p);
	free(p);
	p = xasprintf("%s/vat.js", dir);
	ck_assert_str_eq(cfg->vats[0].path, p);
	free(p);
	p = xasprintf("%s/var", dir);
	ck_assert_str_eq(cfg->daemon.state_dir, p);
	free(p);
	p = xasprintf("%s/conf/run/s.sock", dir);
	ck_assert_str_eq(cfg->daemon.socket_path, p);
	free(p);
	p = xasprintf("%s/conf/w/local-worker", dir);
	ck_assert_str_eq(argv0(cfg, "local"), p);
	free(p);
	argv = config_worker_argv(cfg, "local");
	ck_assert_str_eq(json_string_value(json_array_get(argv, 1)), "w/x");
	ck_assert_str_eq(argv0(cfg, "node-subprocess"), "node");
	ck_assert_str_eq(argv0(cfg, "testworker"), "/opt/tw");
	ck_assert_str_eq(config_vat_manager_type(cfg, &cfg->vats[0]),
	    "local");
	config_free(cfg);
}
END_TEST

START_TEST(t_never_and_alias)
{
	struct config *cfg = load_ok("{" VATS ", \"defaultReapGCKrefs\": "
	    "\"never\", \"defaultReapInterval\": 7, \"daemon\": {\"workers\": "
	    "{\"xs-worker\": [\"/usr/bin/xsnap-worker\"]}}}");

	ck_assert_int_eq(cfg->default_reap_gc_krefs, CONFIG_NEVER);
	ck_assert_int_eq(cfg->default_reap_interval, 7);
	ck_assert_str_eq(argv0(cfg, "xsnap"), "/usr/bin/xsnap-worker");
	ck_assert_str_eq(argv0(cfg, "xs-worker"), "/usr/bin/xsnap-worker");
	config_free(cfg);
}
END_TEST

START_TEST(t_xsnap_needs_no_worker)
{
	struct config *cfg = load_ok("{\"defaultManagerType\": \"xsnap\", "
	    "\"vats\": {\"a\": {\"bundle\": {\"moduleFormat\": \"t\"}, "
	    "\"creationOptions\": {\"managerType\": \"xs-worker\"}}}}");

	ck_assert_ptr_null(config_worker_argv(cfg, "xsnap"));
	ck_assert_str_eq(config_vat_manager_type(cfg, &cfg->vats[0]),
	    "xsnap");
	config_free(cfg);
}
END_TEST

START_TEST(t_worker_configured)
{
	struct config *cfg = load_ok("{\"defaultManagerType\": \"local\", "
	    VATS ", \"daemon\": {\"workers\": {\"local\": [\"/bin/lw\"]}}}");

	ck_assert_str_eq(argv0(cfg, "local"), "/bin/lw");
	config_free(cfg);
}
END_TEST

START_TEST(t_daemon_settings)
{
	struct config *cfg = load_ok("{" VATS ", \"daemon\": {"
	    "\"stateDir\": \"/srv/state\", \"socket\": \"/run/s.sock\", "
	    "\"logLevel\": \"debug\", \"mapSize\": 4194304, "
	    "\"maxMapSize\": 4194304, \"maxRequestLine\": 100, "
	    "\"maxClients\": 2, \"maxFrame\": 1000, "
	    "\"deliveryTimeoutMs\": 0, \"maxRetries\": 0, "
	    "\"reservedClients\": 0, \"clientIdleTimeoutMs\": 0, "
	    "\"clientBufferBudget\": 101, \"allowedUids\": [], "
	    "\"allowedGids\": [7, 4294967294], \"producerUids\": [1001]}}");

	ck_assert_str_eq(cfg->daemon.state_dir, "/srv/state");
	ck_assert_str_eq(cfg->daemon.socket_path, "/run/s.sock");
	ck_assert_str_eq(cfg->daemon.log_level, "debug");
	ck_assert_uint_eq(cfg->daemon.map_size, 4194304);
	ck_assert_uint_eq(cfg->daemon.max_map_size, 4194304);
	ck_assert_uint_eq(cfg->daemon.max_request_line, 100);
	ck_assert_uint_eq(cfg->daemon.max_clients, 2);
	ck_assert_uint_eq(cfg->daemon.max_frame, 1000);
	ck_assert_uint_eq(cfg->daemon.delivery_timeout_ms, 0);
	ck_assert_uint_eq(cfg->daemon.max_retries, 0);
	ck_assert_uint_eq(cfg->daemon.reserved_clients, 0);
	ck_assert_uint_eq(cfg->daemon.client_idle_timeout_ms, 0);
	ck_assert_uint_eq(cfg->daemon.client_buffer_budget, 101);
	ck_assert_uint_eq(cfg->daemon.allowed_uids.n, 0);
	ck_assert_uint_eq(cfg->daemon.allowed_gids.n, 2);
	ck_assert_uint_eq(cfg->daemon.allowed_gids.v[0], 7);
	ck_assert_uint_eq(cfg->daemon.allowed_gids.v[1], 4294967294U);
	ck_assert_uint_eq(cfg->daemon.producer_uids.n, 1);
	ck_assert_uint_eq(cfg->daemon.producer_uids.v[0], 1001);
	assert_round_trip(cfg);
	config_free(cfg);
}
END_TEST

START_TEST(t_unsupported)
{
	struct config		*cfg;
	const char *const	*u;

	put_file("dev.js", "\n");
	cfg = load_ok("{\"bundleCachePath\": \"/tmp/cache\",\n"
	    " \"includeDevDependencies\": true, \"bundleFormat\": "
	    "\"endoZipBase64\",\n"
	    " \"vats\": {\"a\": {\"bundle\": {\"moduleFormat\": \"t\"},\n"
	    "   \"endowments\": {}, \"bundleHash\": \"abc\",\n"
	    "   \"creationOptions\": {\"managerType\": \"node-subprocess\",\n"
	    "     \"nodeOptions\": [\"--inspect\"]}}},\n"
	    " \"devices\": {\"timer\": {\"sourceSpec\": \"dev.js\",\n"
	    "   \"creationOptions\": {\"unendowed\": true}}},\n"
	    " \"daemon\": {\"workers\": {\"node-subprocess\": [\"node\"]}}}\n");
	u = config_unsupported(cfg);
	ck_assert_str_eq(u[0], "bundleCachePath");
	ck_assert_str_eq(u[1], "includeDevDependencies");
	ck_assert_str_eq(u[2], "bundleFormat");
	ck_assert_str_eq(u[3], "vats.a.endowments");
	ck_assert_str_eq(u[4], "vats.a.bundleHash");
	ck_assert_str_eq(u[5], "vats.a.creationOptions.nodeOptions");
	ck_assert_str_eq(u[6], "devices.timer.creationOptions.unendowed");
	ck_assert_ptr_null(u[7]);
	ck_assert(cfg->include_dev_dependencies);
	ck_assert_uint_eq(cfg->ndevices, 1);
	ck_assert_str_eq(cfg->devices[0].name, "timer");
	config_free(cfg);
}
END_TEST

START_TEST(t_parse_text)
{
	struct config_errors	 errs = { 0 };
	const char		*text = "{\"vats\": {\"a\": {\"sourceSpec\": "
	    "\"x.js\"}}}";
	struct config		*cfg;
	char			*p;

	put_file("x.js", "\n");
	cfg = config_parse(text, strlen(text), dir, &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_null(cfg->path);
	p = xasprintf("%s/x.js", dir);
	ck_assert_str_eq(cfg->vats[0].path, p);
	free(p);
	config_free(cfg);
	cfg = config_parse("{\"vats\": 1,}", 12, dir, &errs);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.v[0].path, "<string>:1:12");
	config_errors_clear(&errs);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_null(errs.v);
}
END_TEST

START_TEST(t_shipped_configs)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;
	char			*p;

	cfg = config_load("conf/demo.json", &errs);
	ck_assert_msg(cfg != NULL, "conf/demo.json: %s",
	    errs.n ? errs.v[0].message : "?");
	ck_assert_str_eq(cfg->default_manager_type, "xsnap");
	ck_assert_str_eq(cfg->bootstrap, "bootstrap");
	ck_assert_uint_eq(cfg->nvats, 3);
	ck_assert_uint_eq(cfg->nbundles, 1);
	p = xasprintf("%s/var", cwd);
	ck_assert_str_eq(cfg->daemon.state_dir, p);
	free(p);
	p = xasprintf("%s/var/control.sock", cwd);
	ck_assert_str_eq(cfg->daemon.socket_path, p);
	free(p);
	ck_assert_ptr_null(config_unsupported(cfg)[0]);
	config_free(cfg);
	cfg = config_load("conf/example-swingset.json", &errs);
	ck_assert_msg(cfg != NULL, "conf/example-swingset.json: %s",
	    errs.n ? errs.v[0].message : "?");
	ck_assert_uint_eq(cfg->nvats, 3);
	ck_assert_uint_eq(cfg->nbundles, 1);
	ck_assert_str_eq(cfg->vats[1].bundle_name, "alice");
	ck_assert_ptr_null(config_unsupported(cfg)[0]);
	config_free(cfg);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

/* ---- file-level errors ------------------------------------------------ */

START_TEST(t_unreadable_file)
{
	struct config_errors	 errs = { 0 };
	char			*p = xasprintf("%s/missing.json", dir), *msg;

	ck_assert_ptr_null(config_load(p, &errs));
	msg = config_errors_format(&errs);
	ck_assert_ptr_nonnull(msg);
	free(p);
	p = xasprintf("%s/missing.json: No such file or directory\n", dir);
	ck_assert_str_eq(msg, p);
	free(msg);
	free(p);
	ck_assert_ptr_null(config_load(dir, &errs));
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.v[1].path, dir);
	ck_assert_str_eq(errs.v[1].message, "Is a directory");
	config_errors_clear(&errs);
}
END_TEST

START_TEST(t_json_syntax)
{
	char *expect = xasprintf("%s/config.json:3:12: string or '}' "
	    "expected near ','\n", dir);

	assert_errors("{\n  \"bootstrap\": \"a\",\n  \"vats\": {,\n}\n",
	    expect);
	free(expect);
	expect = xasprintf("%s/config.json:1:37: duplicate object key near "
	    "'\"vats\"'\n", dir);
	assert_errors("{\"vats\": {}, \"bootstrap\": \"a\", \"vats\": {}}",
	    expect);
	free(expect);
	expect = xasprintf("%s/config.json: the top level must be a JSON "
	    "object\n", dir);
	assert_errors("[1, 2]", expect);
	free(expect);
}
END_TEST

/* ---- key errors ------------------------------------------------------- */

START_TEST(t_misspelt_top)
{
	assert_errors("{\"bootsrap\": \"a\", " VATS "}",
	    "bootsrap: unknown key (did you mean 'bootstrap'?)\n");
	assert_errors("{\"snapshotIntervall\": 3, " VATS "}",
	    "snapshotIntervall: unknown key (did you mean "
	    "'snapshotInterval'?)\n");
	assert_errors("{\"frobnicate\": true, " VATS "}",
	    "frobnicate: unknown key\n");
}
END_TEST

START_TEST(t_misspelt_vat_key)
{
	assert_errors("{\"vats\": {\"alice\": {\"bundelSpec\": \"a.json\"}}}",
	    "vats.alice.bundelSpec: unknown key (did you mean "
	    "'bundleSpec'?)\n"
	    "vats.alice: needs one of sourceSpec, bundleSpec, bundle, "
	    "bundleName\n");
	assert_errors("{" VATS ", \"bundles\": {\"b\": {\"bundle\": "
	    "{\"moduleFormat\": \"t\"}, \"parameter\": {}}}}",
	    "bundles.b.parameter: unknown key\n");
	assert_errors("{\"vats\": {\"a\": {\"bundle\": {\"moduleFormat\": "
	    "\"t\"}, \"creationOptions\": {\"enablePipeline\": true}}}}",
	    "vats.a.creationOptions.enablePipeline: unknown key (did you "
	    "mean 'enablePipelining'?)\n");
}
END_TEST

START_TEST(t_misspelt_daemon_key)
{
	assert_errors("{" VATS ", \"daemon\": {\"stateDri\": \"/x\", "
	    "\"sockt\": \"/y\", \"maxClient\": 3, \"verbose\": true}}",
	    "daemon.stateDri: unknown key (did you mean 'stateDir'?)\n"
	    "daemon.sockt: unknown key (did you mean 'socket'?)\n"
	    "daemon.maxClient: unknown key (did you mean 'maxClients'?)\n"
	    "daemon.verbose: unknown key\n");
}
END_TEST

START_TEST(t_spec_files)
{
	char *expect;

	make_dir("adir");
	expect = xasprintf("vats.alice.bundleSpec: no such file "
	    "(%s/alice.json)\n"
	    "vats.bob.sourceSpec: not a regular file (%s/adir)\n"
	    "vats.carol.sourceSpec: no such file (/nonexistent/c.js)\n",
	    dir, dir);
	assert_errors("{\"vats\": {\"alice\": {\"bundleSpec\": "
	    "\"alice.json\"}, \"bob\": {\"sourceSpec\": \"./adir/\"}, "
	    "\"carol\": {\"sourceSpec\": \"/nonexistent/c.js\"}}}", expect);
	free(expect);
	assert_errors("{\"vats\": {\"a\": {\"bundleSpec\": 5}, "
	    "\"b\": {\"sourceSpec\": \"\"}}}",
	    "vats.a.bundleSpec: must be a non-empty string (a path)\n"
	    "vats.b.sourceSpec: must be a non-empty string (a path)\n");
}
END_TEST

START_TEST(t_unreadable_spec)
{
	char *p, *expect;

	if (geteuid() == 0)
		return;		/* root reads anything */
	p = write_file("secret.js", "\n");
	ck_assert_int_eq(chmod(p, 0), 0);
	expect = xasprintf("vats.a.sourceSpec: not readable: Permission "
	    "denied (%s)\n", p);
	assert_errors("{\"vats\": {\"a\": {\"sourceSpec\": \"secret.js\"}}}",
	    expect);
	free(expect);
	free(p);
}
END_TEST

START_TEST(t_bootstrap_missing)
{
	assert_errors("{\"bootstrap\": \"bootstrap\", " VATS "}",
	    "bootstrap: no vat named 'bootstrap' in \"vats\"\n");
	assert_errors("{\"bootstrap\": 3, " VATS "}",
	    "bootstrap: must be a string\n");
}
END_TEST

START_TEST(t_bundle_name)
{
	assert_errors("{\"vats\": {\"a\": {\"bundleName\": \"nope\"}}, "
	    "\"bundles\": {\"yes\": {\"bundle\": {\"moduleFormat\": \"t\"}}}}",
	    "vats.a.bundleName: no bundle named 'nope' in \"bundles\"\n");
	assert_errors("{\"vats\": {\"a\": {\"bundleName\": \"nope\"}}}",
	    "vats.a.bundleName: no bundle named 'nope' in \"bundles\"\n");
	assert_errors("{" VATS ", \"bundles\": {\"b\": {\"bundleName\": "
	    "\"c\", \"bundle\": {\"moduleFormat\": \"t\"}}}}",
	    "bundles.b.bundleName: not allowed in \"bundles\"\n");
}
END_TEST

START_TEST(t_sources)
{
	put_file("a.js", "\n");
	assert_errors("{\"vats\": {\"a\": {\"sourceSpec\": \"a.js\", "
	    "\"bundle\": {\"moduleFormat\": \"t\"}}}}",
	    "vats.a: has both sourceSpec and bundle (exactly one of "
	    "sourceSpec, bundleSpec, bundle, bundleName is allowed)\n");
	assert_errors("{\"vats\": {\"a\": {\"parameters\": {}}}}",
	    "vats.a: needs one of sourceSpec, bundleSpec, bundle, "
	    "bundleName\n");
	assert_errors("{" VATS ", \"bundles\": {\"b\": {}}}",
	    "bundles.b: needs one of sourceSpec, bundleSpec, bundle\n");
	assert_errors("{\"vats\": {\"a\": {\"bundle\": \"code\"}}}",
	    "vats.a.bundle: must be a bundle object with a string "
	    "\"moduleFormat\"\n");
}
END_TEST

START_TEST(t_entry_shapes)
{
	assert_errors("{\"vats\": {\"a\": [], \"b\": {\"bundle\": "
	    "{\"moduleFormat\": \"t\"}, \"parameters\": [1], "
	    "\"creationOptions\": \"fast\"}}}",
	    "vats.a: must be an object\n"
	    "vats.b.parameters: must be an object\n"
	    "vats.b.creationOptions: must be an object\n");
	assert_errors("{\"vats\": []}", "vats: must be an object\n");
	assert_errors("{}", "vats: missing (a config needs at least one "
	    "vat)\n");
	assert_errors("{\"vats\": {}}", "vats: empty (a config needs at least "
	    "one vat)\n");
	assert_errors("{" VATS ", \"bundles\": 1, \"devices\": \"x\"}",
	    "bundles: must be an object\ndevices: must be an object\n");
}
END_TEST

START_TEST(t_creation_options)
{
	assert_errors("{\"vats\": {\"a\": {\"bundle\": {\"moduleFormat\": "
	    "\"t\"}, \"creationOptions\": {\"critical\": \"yes\", "
	    "\"reapInterval\": 0, \"reapGCKrefs\": \"sometimes\", "
	    "\"managerType\": \"bogus\", \"nodeOptions\": \"--inspect\"}}}}",
	    "vats.a.creationOptions.critical: must be true or false\n"
	    "vats.a.creationOptions.reapInterval: must be an integer >= 1 "
	    "or \"never\"\n"
	    "vats.a.creationOptions.reapGCKrefs: must be an integer >= 1 "
	    "or \"never\"\n"
	    "vats.a.creationOptions.managerType: unknown manager type "
	    "'bogus' (one of xsnap, xs-worker, local, node-subprocess, "
	    "testworker)\n"
	    "vats.a.creationOptions.nodeOptions: must be an array of "
	    "strings\n");
	assert_errors("{\"vats\": {\"a\": {\"bundle\": {\"moduleFormat\": "
	    "\"t\"}, \"creationOptions\": {\"nodeOptions\": []}}}}",
	    "vats.a.creationOptions.nodeOptions: requires managerType "
	    "'node-subprocess'\n");
	assert_errors("{" VATS ", \"devices\": {\"d\": {\"bundle\": "
	    "{\"moduleFormat\": \"t\"}, \"creationOptions\": "
	    "{\"enablePipelining\": true}}}}",
	    "devices.d.creationOptions.enablePipelining: unknown key\n");
}
END_TEST

START_TEST(t_top_values)
{
	assert_errors("{\"defaultManagerType\": \"nodeWorker\", "
	    "\"defaultReapInterval\": -1, \"snapshotInitial\": \"never\", "
	    "\"snapshotInterval\": 2.5, \"pinBootstrapRoot\": 1, "
	    "\"bundleCachePath\": false, " VATS "}",
	    "defaultManagerType: unknown manager type 'nodeWorker' (one of "
	    "xsnap, xs-worker, local, node-subprocess, testworker)\n"
	    "defaultReapInterval: must be an integer >= 1 or \"never\"\n"
	    "snapshotInitial: must be an integer >= 1\n"
	    "snapshotInterval: must be an integer >= 1\n"
	    "pinBootstrapRoot: must be true or false\n"
	    "bundleCachePath: must be a string\n");
}
END_TEST

START_TEST(t_no_worker)
{
	assert_errors("{\"vats\": {\"alice\": {\"bundle\": {\"moduleFormat\": "
	    "\"t\"}, \"creationOptions\": {\"managerType\": \"local\"}}}}",
	    "vats.alice.creationOptions.managerType: no worker for manager "
	    "type 'local' (daemon.workers has none)\n");
	assert_errors("{\"defaultManagerType\": \"node-subprocess\", " VATS
	    "}", "vats.a: no worker for manager type 'node-subprocess' (from "
	    "defaultManagerType; daemon.workers has none)\n");
}
END_TEST

START_TEST(t_daemon_values)
{
	assert_errors("{" VATS ", \"daemon\": {\"logLevel\": \"loud\", "
	    "\"mapSize\": 1000, \"maxClients\": 0, \"maxRetries\": -1, "
	    "\"deliveryTimeoutMs\": 1.5, \"socket\": \"\", \"stateDir\": 7, "
	    "\"maxFrame\": \"big\", \"maxRequestLine\": null}}",
	    "daemon.logLevel: must be one of debug, info, warn, error\n"
	    "daemon.mapSize: must be an integer >= 1048576\n"
	    "daemon.maxClients: must be an integer >= 1\n"
	    "daemon.maxRetries: must be an integer from 0 to 4294967295\n"
	    "daemon.deliveryTimeoutMs: must be an integer >= 0\n"
	    "daemon.socket: must be a non-empty string\n"
	    "daemon.stateDir: must be a non-empty string\n"
	    "daemon.maxFrame: must be an integer >= 1\n"
	    "daemon.maxRequestLine: must be an integer >= 1\n");
	assert_errors("{" VATS ", \"daemon\": {\"mapSize\": 4194304, "
	    "\"maxMapSize\": 2097152}}",
	    "daemon.maxMapSize: must be 0 or >= mapSize (4194304)\n");
	assert_errors("{" VATS ", \"daemon\": []}",
	    "daemon: must be an object\n");
	assert_errors("{" VATS ", \"daemon\": {\"reservedClients\": -1, "
	    "\"clientIdleTimeoutMs\": \"1s\", \"clientBufferBudget\": 1, "
	    "\"allowedUids\": [0, -1], \"allowedGids\": 0, "
	    "\"producerUids\": [4294967295]}}",
	    "daemon.reservedClients: must be an integer from 0 to 1024\n"
	    "daemon.clientIdleTimeoutMs: must be an integer >= 0\n"
	    "daemon.clientBufferBudget: must be an integer >= 2\n"
	    "daemon.allowedUids[1]: must be an integer from 0 to 4294967294\n"
	    "daemon.allowedGids: must be an array of integers from 0 to "
	    "4294967294\n"
	    "daemon.producerUids[0]: must be an integer from 0 to "
	    "4294967294\n");
	assert_errors("{" VATS ", \"daemon\": {\"maxRequestLine\": 1000, "
	    "\"clientBufferBudget\": 1000}}",
	    "daemon.clientBufferBudget: must be greater than maxRequestLine "
	    "(1000): one request that long must fit\n");
	assert_errors("{" VATS ", \"daemon\": {\"allowedUids\": [], "
	    "\"allowedGids\": [], \"producerUids\": []}}",
	    "daemon.allowedUids: allowedUids, allowedGids and producerUids "
	    "are all empty: no client could connect\n");
}
END_TEST

START_TEST(t_daemon_workers)
{
	assert_errors("{" VATS ", \"daemon\": {\"workers\": {\"xsnap\": [], "
	    "\"bogus\": [\"x\"], \"testworker\": \"x\", \"local\": [\"\"], "
	    "\"node-subprocess\": [\"node\", 1]}}}",
	    "daemon.workers.xsnap: must be a non-empty array of non-empty "
	    "strings (the worker's argv)\n"
	    "daemon.workers.bogus: unknown manager type 'bogus' (one of "
	    "xsnap, xs-worker, local, node-subprocess, testworker)\n"
	    "daemon.workers.testworker: must be a non-empty array of "
	    "non-empty strings (the worker's argv)\n"
	    "daemon.workers.local: must be a non-empty array of non-empty "
	    "strings (the worker's argv)\n"
	    "daemon.workers.node-subprocess: must be a non-empty array of "
	    "non-empty strings (the worker's argv)\n");
	assert_errors("{" VATS ", \"daemon\": {\"workers\": {\"xsnap\": "
	    "[\"a\"], \"xs-worker\": [\"b\"]}}}",
	    "daemon.workers.xs-worker: given twice (xs-worker is an alias of "
	    "xsnap)\n");
	assert_errors("{" VATS ", \"daemon\": {\"workers\": [\"x\"]}}",
	    "daemon.workers: must be an object\n");
}
END_TEST

START_TEST(t_socket_too_long)
{
	char	*long_path = malloc(200), *text, *expect;

	ck_assert_ptr_nonnull(long_path);
	memset(long_path, 'x', 199);
	long_path[0] = '/';
	long_path[199] = '\0';
	text = xasprintf("{" VATS ", \"daemon\": {\"socket\": \"%s\"}}",
	    long_path);
	expect = xasprintf("daemon.socket: too long for a unix socket (199 "
	    "bytes, at most 107): %s\n", long_path);
	assert_errors(text, expect);
	free(long_path);
	free(text);
	free(expect);
}
END_TEST

START_TEST(t_multiple_errors)
{
	char *expect = xasprintf(
	    "bootstap: unknown key (did you mean 'bootstrap'?)\n"
	    "snapshotInterval: must be an integer >= 1\n"
	    "daemon.logLevl: unknown key (did you mean 'logLevel'?)\n"
	    "daemon.mapSize: must be an integer >= 1048576\n"
	    "bundles.shared: needs one of sourceSpec, bundleSpec, bundle\n"
	    "vats.alice.bundleSpec: no such file (%s/alice.json)\n"
	    "vats.bob: has both bundle and bundleName (exactly one of "
	    "sourceSpec, bundleSpec, bundle, bundleName is allowed)\n"
	    "vats.carol.bundleName: no bundle named 'dave' in \"bundles\"\n"
	    "vats.carol.creationOptions.managerType: no worker for manager "
	    "type 'local' (daemon.workers has none)\n"
	    "bootstrap: no vat named 'zed' in \"vats\"\n", dir);

	assert_errors("{\"bootstap\": 1, \"bootstrap\": \"zed\",\n"
	    " \"snapshotInterval\": 0,\n"
	    " \"daemon\": {\"logLevl\": \"x\", \"mapSize\": 5},\n"
	    " \"vats\": {\"carol\": {\"bundleName\": \"dave\",\n"
	    "     \"creationOptions\": {\"managerType\": \"local\"}},\n"
	    "   \"bob\": {\"bundle\": {\"moduleFormat\": \"t\"}, "
	    "\"bundleName\": \"shared\"},\n"
	    "   \"alice\": {\"bundleSpec\": \"alice.json\"}},\n"
	    " \"bundles\": {\"shared\": {}}}\n", expect);
	free(expect);
}
END_TEST

START_TEST(t_errors_format)
{
	struct config_errors	 errs = { 0 };
	char			*text;

	text = config_errors_format(&errs);
	ck_assert_str_eq(text, "");
	free(text);
	ck_assert_ptr_null(config_load("/nonexistent/x.json", &errs));
	ck_assert_ptr_null(config_parse("[]", 2, NULL, &errs));
	text = config_errors_format(&errs);
	ck_assert_str_eq(text, "/nonexistent/x.json: No such file or "
	    "directory\n<string>: the top level must be a JSON object\n");
	free(text);
	config_errors_clear(&errs);
}
END_TEST

/* ---- dump ------------------------------------------------------------- */

static bool
has_key(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

/*
 * dump -> text -> config_parse -> dump must give the same JSON, and the
 * same unsupported keys (the dump orders keys by table, not as found).
 */
static void
assert_round_trip(const struct config *cfg)
{
	struct config_errors	 errs = { 0 };
	struct config		*again;
	json_t			*d1, *d2;
	char			*text, *msg;

	d1 = config_dump(cfg);
	ck_assert_ptr_nonnull(d1);
	text = json_dumps(d1, JSON_INDENT(2));
	ck_assert_ptr_nonnull(text);
	again = config_parse(text, strlen(text), "/nonexistent", &errs);
	msg = config_errors_format(&errs);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(again != NULL, "dump does not re-parse:\n%s\n%s", msg,
	    text);
	d2 = config_dump(again);
	ck_assert_ptr_nonnull(d2);
	ck_assert_msg(json_equal(d1, d2), "dump changed:\n%s", text);
	ck_assert_uint_eq(cfg->nunsupported, again->nunsupported);
	for (size_t i = 0; i < cfg->nunsupported; i++)
		ck_assert_msg(has_key(config_unsupported(again),
		    cfg->unsupported[i]), "%s no longer listed as unsupported",
		    cfg->unsupported[i]);
	json_decref(d1);
	json_decref(d2);
	free(text);
	free(msg);
	config_free(again);
}

START_TEST(t_dump_round_trip)
{
	struct config	*cfg;
	json_t		*d, *dm;
	char		*p;

	put_file("a.js", "\n");
	put_file("b.json", "{}\n");
	cfg = load_ok("{\"bootstrap\": \"a\", \"defaultReapGCKrefs\": "
	    "\"never\", \"defaultManagerType\": \"xs-worker\",\n"
	    " \"bundleCachePath\": \"cache\", \"includeDevDependencies\": "
	    "false,\n"
	    " \"vats\": {\"a\": {\"sourceSpec\": \"a.js\", \"parameters\": "
	    "{\"k\": [1, 2]}},\n"
	    "   \"b\": {\"bundleName\": \"lib\", \"endowments\": {\"x\": 1},\n"
	    "     \"creationOptions\": {\"managerType\": \"testworker\", "
	    "\"critical\": true}}},\n"
	    " \"bundles\": {\"lib\": {\"bundleSpec\": \"b.json\"}},\n"
	    " \"devices\": {\"d\": {\"bundle\": {\"moduleFormat\": \"t\"}}},\n"
	    " \"daemon\": {\"stateDir\": \"st\", \"maxRetries\": 9,\n"
	    "   \"workers\": {\"local\": [\"./lw\", \"-q\"]}}}\n");
	assert_round_trip(cfg);
	d = config_dump(cfg);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "defaultManagerType")), "xsnap");
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "defaultReapGCKrefs")), "never");
	ck_assert_int_eq(json_integer_value(json_object_get(d,
	    "snapshotInterval")), 200);
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "bundleCachePath")), "cache");
	p = xasprintf("%s/a.js", dir);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(d, "vats"), "a"), "sourceSpec")), p);
	free(p);
	dm = json_object_get(d, "daemon");
	p = xasprintf("%s/st", dir);
	ck_assert_str_eq(json_string_value(json_object_get(dm, "stateDir")),
	    p);
	free(p);
	ck_assert_int_eq(json_integer_value(json_object_get(dm, "maxFrame")),
	    12000000);
	ck_assert_int_eq(json_integer_value(json_object_get(dm,
	    "maxRetries")), 9);
	ck_assert_str_eq(json_string_value(json_object_get(dm, "logLevel")),
	    "info");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(dm, "workers"),
	    "testworker"));
	json_decref(d);
	config_free(cfg);
}
END_TEST

START_TEST(t_dump_shipped)
{
	struct config_errors	 errs = { 0 };
	struct config		*cfg;

	cfg = config_load("conf/demo.json", &errs);
	ck_assert_ptr_nonnull(cfg);
	assert_round_trip(cfg);
	config_free(cfg);
	cfg = config_load("conf/example-swingset.json", &errs);
	ck_assert_ptr_nonnull(cfg);
	assert_round_trip(cfg);
	config_free(cfg);
	cfg = load_ok("{" VATS "}");
	assert_round_trip(cfg);
	config_free(cfg);
	config_errors_clear(&errs);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*ok = tcase_create("valid"), *bad = tcase_create("errors");
	TCase	*dump = tcase_create("dump");

	tcase_add_checked_fixture(ok, setup, teardown);
	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_checked_fixture(dump, setup, teardown);
	tcase_add_test(ok, t_swingset_config);
	tcase_add_test(ok, t_defaults);
	tcase_add_test(ok, t_relative_paths);
	tcase_add_test(ok, t_never_and_alias);
	tcase_add_test(ok, t_xsnap_needs_no_worker);
	tcase_add_test(ok, t_worker_configured);
	tcase_add_test(ok, t_daemon_settings);
	tcase_add_test(ok, t_unsupported);
	tcase_add_test(ok, t_parse_text);
	tcase_add_test(ok, t_shipped_configs);
	tcase_add_test(bad, t_unreadable_file);
	tcase_add_test(bad, t_json_syntax);
	tcase_add_test(bad, t_misspelt_top);
	tcase_add_test(bad, t_misspelt_vat_key);
	tcase_add_test(bad, t_misspelt_daemon_key);
	tcase_add_test(bad, t_spec_files);
	tcase_add_test(bad, t_unreadable_spec);
	tcase_add_test(bad, t_bootstrap_missing);
	tcase_add_test(bad, t_bundle_name);
	tcase_add_test(bad, t_sources);
	tcase_add_test(bad, t_entry_shapes);
	tcase_add_test(bad, t_creation_options);
	tcase_add_test(bad, t_top_values);
	tcase_add_test(bad, t_no_worker);
	tcase_add_test(bad, t_daemon_values);
	tcase_add_test(bad, t_daemon_workers);
	tcase_add_test(bad, t_socket_too_long);
	tcase_add_test(bad, t_multiple_errors);
	tcase_add_test(bad, t_errors_format);
	tcase_add_test(dump, t_dump_round_trip);
	tcase_add_test(dump, t_dump_shipped);
	suite_add_tcase(s, ok);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, dump);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
