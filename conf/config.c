/*
 * config.c — swingsetd's configuration file as a whole: reading it
 * (config_load, config_parse), the walk of its top level and of the
 * "daemon" object, the "key.path: message" error records, the accessors
 * and config_free.  It does not own the key tables or the checks of
 * single values (config_keys.c), the vats, bundles and devices entries
 * (config_entry.c) or printing a config back (config_dump.c).  Nor does
 * it log, create directories or start workers: it reports problems and
 * the daemon acts on them.
 */
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "conf/config_impl.h"

#define CONF_MAX_FILE	(64 * 1024 * 1024)	/* larger files are refused */

/* ---- errors ----------------------------------------------------------- */

static int
conf_errors_add(struct config_errors *errs, const char *path, char *msg)
{
	struct config_error	*v;
	char			*p = strdup(path);

	v = reallocarray(errs->v, errs->n + 1, sizeof(*v));
	if (p == NULL || v == NULL) {
		free(p);
		free(msg);
		return -1;
	}
	errs->v = v;
	v[errs->n].path = p;
	v[errs->n].message = msg;
	errs->n++;
	return 0;
}

void
conf_error(struct conf_ctx *ctx, const char *path, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	ctx->nerr++;
	if (n < 0 || conf_errors_add(ctx->errs, path, msg) == -1)
		ctx->nomem = true;
}

void
config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].path);
		free(errs->v[i].message);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

char *
config_errors_format(const struct config_errors *errs)
{
	size_t	 len = 1, off = 0;
	char	*out;

	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->v[i].path) + strlen(errs->v[i].message) + 3;
	if ((out = malloc(len)) == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < errs->n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s%s\n",
		    errs->v[i].path, errs->v[i].path[0] ? ": " : "",
		    errs->v[i].message);
	return out;
}

/* ---- the daemon object ------------------------------------------------ */

/* One daemon.workers entry: a non-empty argv of non-empty strings. */
static json_t *
conf_worker_argv(struct conf_ctx *ctx, const char *path, json_t *v)
{
	json_t		*argv, *e;
	const char	*s;
	char		*abs;
	size_t		 i;

	json_array_foreach(v, i, e)
		if (json_string_value(e) == NULL || json_string_length(e) == 0)
			break;
	if (json_array_size(v) == 0 || i < json_array_size(v)) {
		conf_error(ctx, path, "must be a non-empty array of non-empty "
		    "strings (the worker's argv)");
		return NULL;
	}
	if ((argv = json_deep_copy(v)) == NULL) {
		ctx->nomem = true;
		return NULL;
	}
	/* A relative program path (with a slash) is from the config file. */
	s = json_string_value(json_array_get(v, 0));
	if (s[0] != '/' && strchr(s, '/') != NULL) {
		abs = conf_abspath(ctx, ctx->cfg->base_dir, s);
		if (abs == NULL || json_array_set_new(argv, 0,
		    json_string(abs)) == -1)
			ctx->nomem = true;
		free(abs);
	}
	return argv;
}

static void
conf_workers(struct conf_ctx *ctx, json_t *obj)
{
	json_t		*workers = ctx->cfg->daemon.workers, *v, *argv;
	const char	*key, *mt;
	char		*p;

	if (!json_is_object(obj)) {
		conf_error(ctx, "daemon.workers", "must be an object");
		return;
	}
	json_object_foreach(obj, key, v) {
		if ((p = conf_path(ctx, "daemon.workers", key)) == NULL)
			return;
		mt = conf_manager_canon(key);
		if (!conf_in_list(conf_managers, mt))
			conf_error(ctx, p, "unknown manager type '%s' (one of "
			    "xsnap, xs-worker, local, node-subprocess, "
			    "testworker)", key);
		else if (json_object_get(workers, mt) != NULL)
			conf_error(ctx, p, "given twice (xs-worker is an "
			    "alias of xsnap)");
		else if ((argv = conf_worker_argv(ctx, p, v)) != NULL &&
		    json_object_set_new(workers, mt, argv) == -1)
			ctx->nomem = true;
		free(p);
	}
}

static void
conf_daemon(struct conf_ctx *ctx, json_t *obj)
{
	const struct conf_key	*k;
	const char		*key;
	json_t			*v;
	char			*p;

	if (!json_is_object(obj)) {
		conf_error(ctx, "daemon", "must be an object");
		return;
	}
	json_object_foreach(obj, key, v) {
		if ((p = conf_path(ctx, "daemon", key)) == NULL)
			return;
		k = conf_find(conf_daemon_keys, NKEYS(conf_daemon_keys), key);
		if (k == NULL)
			conf_unknown(ctx, p, key, conf_daemon_keys,
			    NKEYS(conf_daemon_keys), 0);
		else if (k->type == CT_GROUP)
			conf_workers(ctx, v);
		else
			conf_set(ctx, &ctx->cfg->daemon, p, v, k);
		free(p);
	}
}

/* Checks across daemon keys, and the built-in worker default. */
static void
conf_daemon_finish(struct conf_ctx *ctx)
{
	struct config_daemon	*d = &ctx->cfg->daemon;
	struct sockaddr_un	 sun;
	json_t			*argv;

	if (d->max_map_size != 0 && d->max_map_size < d->map_size)
		conf_error(ctx, "daemon.maxMapSize", "must be 0 or >= mapSize "
		    "(%zu)", d->map_size);
	if (d->client_buffer_budget <= d->max_request_line)
		conf_error(ctx, "daemon.clientBufferBudget", "must be greater "
		    "than maxRequestLine (%zu): one request that long must fit",
		    d->max_request_line);
	if (d->allowed_uids.n + d->allowed_gids.n + d->producer_uids.n == 0)
		conf_error(ctx, "daemon.allowedUids", "allowedUids, allowedGids "
		    "and producerUids are all empty: no client could connect");
	if (d->socket_path != NULL &&
	    strlen(d->socket_path) >= sizeof(sun.sun_path))
		conf_error(ctx, "daemon.socket", "too long for a unix socket "
		    "(%zu bytes, at most %zu): %s", strlen(d->socket_path),
		    sizeof(sun.sun_path) - 1, d->socket_path);
	if (json_object_get(d->workers, "testworker") != NULL)
		return;
	/* a bare name: the daemon looks beside itself, then on PATH */
	argv = json_pack("[s]", "testworker");
	if (argv == NULL || json_object_set_new(d->workers, "testworker",
	    argv) == -1)
		ctx->nomem = true;
}

/* ---- the whole file --------------------------------------------------- */

static void
conf_defaults(struct conf_ctx *ctx)
{
	for (size_t i = 0; i < NKEYS(conf_top_keys); i++)
		conf_set_default(ctx, ctx->cfg, &conf_top_keys[i]);
	for (size_t i = 0; i < NKEYS(conf_daemon_keys); i++)
		conf_set_default(ctx, &ctx->cfg->daemon, &conf_daemon_keys[i]);
	if ((ctx->cfg->daemon.workers = json_object()) == NULL)
		ctx->nomem = true;
}

/* Scalars and daemon in file order; then the groups, which need both. */
static void
conf_top(struct conf_ctx *ctx, json_t *root)
{
	struct config		*cfg = ctx->cfg;
	const struct conf_key	*k;
	const char		*key;
	json_t			*v;

	json_object_foreach(root, key, v) {
		k = conf_find(conf_top_keys, NKEYS(conf_top_keys), key);
		if (k == NULL)
			conf_unknown(ctx, key, key, conf_top_keys,
			    NKEYS(conf_top_keys), 0);
		else if (strcmp(key, "daemon") == 0)
			conf_daemon(ctx, v);
		else if (k->type != CT_GROUP)
			conf_set(ctx, cfg, key, v, k);
		if (k != NULL && (k->flags & CK_UNSUPPORTED))
			conf_note_unsupported(ctx, key);
	}
	conf_daemon_finish(ctx);
	conf_group(ctx, root, CK_BUNDLES, &cfg->bundles, &cfg->nbundles);
	conf_group(ctx, root, CK_VATS, &cfg->vats, &cfg->nvats);
	conf_group(ctx, root, CK_DEVICES, &cfg->devices, &cfg->ndevices);
	v = json_object_get(root, "vats");
	if (cfg->bootstrap != NULL && json_is_object(v) &&
	    json_object_get(v, cfg->bootstrap) == NULL)
		conf_error(ctx, "bootstrap", "no vat named '%s' in \"vats\"",
		    cfg->bootstrap);
}

/*
 * Parse text; name is what JSON syntax errors are reported against, file
 * the absolute path of the file (or NULL).
 */
static struct config *
conf_parse(const char *text, size_t len, const char *base_dir,
    const char *name, const char *file, struct config_errors *errs)
{
	struct conf_ctx	 ctx = { .errs = errs };
	json_error_t	 jerr;
	json_t		*root = NULL;
	char		*where;

	if ((ctx.cwd = get_current_dir_name()) == NULL) {
		conf_error(&ctx, "", "cannot get the current directory: %s",
		    strerror(errno));
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (asprintf(&where, "%s:%d:%d", name, jerr.line,
		    jerr.column) < 0) {
			ctx.nomem = true;
			goto out;
		}
		conf_error(&ctx, where, "%s", jerr.text);
		free(where);
		goto out;
	}
	if (!json_is_object(root)) {
		conf_error(&ctx, "", "%s: the top level must be a JSON object",
		    name);
		goto out;
	}
	if ((ctx.cfg = calloc(1, sizeof(*ctx.cfg))) == NULL) {
		ctx.nomem = true;
		goto out;
	}
	ctx.cfg->raw = json_incref(root);
	ctx.cfg->base_dir = conf_abspath(&ctx, ctx.cwd,
	    base_dir != NULL ? base_dir : ".");
	if (file != NULL)
		ctx.cfg->path = conf_strdup(&ctx, file);
	if (ctx.cfg->base_dir == NULL)
		goto out;
	conf_defaults(&ctx);
	if (!ctx.nomem)
		conf_top(&ctx, root);
out:
	if (ctx.nomem && conf_errors_add(errs, "", strdup("out of memory"))
	    == -1)
		ctx.nerr++;
	if ((ctx.nerr > 0 || ctx.nomem) && ctx.cfg != NULL) {
		config_free(ctx.cfg);
		ctx.cfg = NULL;
	}
	json_decref(root);
	free(ctx.cwd);
	return ctx.cfg;
}

struct config *
config_parse(const char *text, size_t len, const char *base_dir,
    struct config_errors *errs)
{
	return conf_parse(text, len, base_dir, "<string>", NULL, errs);
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *
conf_read(const char *path, size_t *lenp)
{
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > CONF_MAX_FILE + 1) {
				errno = EFBIG;
				goto fail;
			}
			if ((nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	saved = errno;
	free(buf);
	(void)close(fd);
	errno = saved;
	return NULL;
}

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct config	*cfg = NULL;
	char		*text = NULL, *real = NULL, *base = NULL, *slash;
	size_t		 len;

	if ((text = conf_read(path, &len)) == NULL ||
	    (real = realpath(path, NULL)) == NULL) {
		if (conf_errors_add(errs, path, strdup(strerror(errno))) == -1)
			(void)conf_errors_add(errs, "", strdup("out of memory"));
		goto out;
	}
	if ((base = strdup(real)) == NULL) {
		(void)conf_errors_add(errs, "", strdup("out of memory"));
		goto out;
	}
	slash = strrchr(base, '/');
	slash[slash == base] = '\0';	/* "/a/b.json" -> "/a"; "/b" -> "/" */
	cfg = conf_parse(text, len, base, path, real, errs);
out:
	free(text);
	free(real);
	free(base);
	return cfg;
}

/* ---- accessors -------------------------------------------------------- */

const char *const *
config_unsupported(const struct config *cfg)
{
	static const char *const none[] = { NULL };

	if (cfg->unsupported == NULL)
		return none;
	return (const char *const *)cfg->unsupported;
}

const json_t *
config_worker_argv(const struct config *cfg, const char *manager_type)
{
	return json_object_get(cfg->daemon.workers,
	    conf_manager_canon(manager_type));
}

const char *
config_vat_manager_type(const struct config *cfg,
    const struct config_vat *vat)
{
	const char *mt = json_string_value(json_object_get(
	    vat->creation_options, "managerType"));

	if (mt == NULL)
		mt = cfg->default_manager_type;
	return mt != NULL ? conf_manager_canon(mt) : NULL;
}

static void
conf_free_vats(struct config_vat *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
		free(v[i].bundle_name);
		json_decref(v[i].bundle);
		json_decref(v[i].creation_options);
		json_decref(v[i].parameters);
	}
	free(v);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->base_dir);
	free(cfg->bootstrap);
	free(cfg->default_manager_type);
	conf_free_vats(cfg->vats, cfg->nvats);
	conf_free_vats(cfg->bundles, cfg->nbundles);
	conf_free_vats(cfg->devices, cfg->ndevices);
	free(cfg->daemon.socket_path);
	free(cfg->daemon.state_dir);
	free(cfg->daemon.xsnap_dir);
	free(cfg->daemon.log_level);
	free(cfg->daemon.allowed_uids.v);
	free(cfg->daemon.allowed_gids.v);
	free(cfg->daemon.producer_uids.v);
	json_decref(cfg->daemon.workers);
	json_decref(cfg->raw);
	for (size_t i = 0; i < cfg->nunsupported; i++)
		free(cfg->unsupported[i]);
	free(cfg->unsupported);
	free(cfg);
}
