/*
 * genesis.c — the first cranks' work, done once per state (when
 * kernel.started is absent), in SwingSet's order: every static vat's
 * startVat queued, in ID order, the vat-admin vat's root exported and
 * pinned; every root exported, by name; then bootstrap(vats, devices)
 * queued to the bootstrap vat's root with a result promise the kernel
 * keeps (and pins the bootstrap root with pinBootstrapRoot).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

static int
cmp_vat_name(const void *a, const void *b)
{
	return strcmp((*(struct kvat *const *)a)->name,
	    (*(struct kvat *const *)b)->name);
}

/* The static vats by name (malloc'd), or NULL when memory ran out. */
static struct kvat **
vats_by_name(struct kernel *k)
{
	struct kvat **v = calloc(k->vats.n + 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	memcpy(v, k->vats.v, k->vats.n * sizeof(*v));
	qsort(v, k->vats.n, sizeof(*v), cmp_vat_name);
	return v;
}

/* kernel.pinBootstrapRoot: the bootstrap vat's root is kept for ever */
static bool
pin_root(struct kernel *k)
{
	char	*v = kv_get(k->st, "kernel.pinBootstrapRoot");
	bool	 pin = v != NULL && strcmp(v, "true") == 0;

	free(v);
	return pin;
}

/*
 * Export each static vat's root (o+0) and queue its startVat, in ID
 * order (the vatAdmin vat's root is kept as vatAdminRootKref); then queue
 * bootstrap(vats, devices) to the bootstrap vat's root, with a result
 * promise the kernel keeps ("kernel.bootstrapResult").
 */
static int
genesis(struct kernel *k)
{
	json_t	*names = json_array(), *krefs = json_array(), *item, *ma;
	json_t	*dnames = json_array(), *dkrefs = json_array();
	struct kvat **sorted = NULL;
	size_t	 boot_at = 0;
	char	*root = NULL, *kpid = NULL, *boot = kv_get(k->st,
		    "kernel.bootstrapVat");
	int	 rc = STORE_OK;

	/* the static vats, counted as SwingSet allocates their IDs */
	kstat_add(k, KS_VATS, (int64_t)k->vats.n);
	/* in ID order: startVat, and the vat-admin vat's root exported
	 * (first of all) and pinned, the kernel's to keep */
	for (size_t i = 0; rc == STORE_OK && i < k->vats.n; i++) {
		struct kvat *v = k->vats.v[i];

		if (strcmp(v->name, "vatAdmin") == 0 &&
		    (rc = clist_to_kref(k, v, "o+0", true, &root)) == STORE_OK &&
		    (rc = kv_put(k->st, "vatAdminRootKref", root)) == STORE_OK)
			rc = kref_pin(k, root);
		free(root);
		root = NULL;
		item = json_pack("{s:s, s:s}", "type", "startVat", "vatID",
		    v->id);
		if (rc == STORE_OK)
			rc = item ? kst_enqueue(k, item) : STORE_ENOMEM;
		json_decref(item);
	}
	/* then every root, in name order (SwingSet's enqueueBootstrap),
	 * when there is a bootstrap vat to give them to */
	if (rc == STORE_OK && boot != NULL &&
	    (sorted = vats_by_name(k)) == NULL)
		rc = STORE_ENOMEM;
	for (size_t i = 0; rc == STORE_OK && sorted != NULL &&
	    i < k->vats.n; i++) {
		rc = clist_to_kref(k, sorted[i], "o+0", true, &root);
		if (boot != NULL && strcmp(sorted[i]->id, boot) == 0)
			boot_at = i;
		json_array_append_new(names, json_string(sorted[i]->name));
		json_array_append_new(krefs, json_string(root ? root : ""));
		free(root);
		root = NULL;
	}
	free(sorted);
	if (rc == STORE_OK && boot != NULL)	/* their roots, for bootstrap */
		rc = devices_genesis(&k->dk, dnames, dkrefs);
	if (rc == STORE_OK && boot != NULL && vats_find(&k->vats, boot) != NULL) {
		ma = capdata_bootstrap_args(names, krefs, dnames, dkrefs);
		rc = ma ? kp_new(k, NULL, &kpid) : STORE_ENOMEM;
		item = rc == STORE_OK ? json_pack("{s:s, s:O, s:{s:O, s:s}}",
		    "type", "send", "target", json_array_get(krefs,
		    boot_at), "msg", "methargs", ma,
		    "result", kpid) : NULL;
		rc = rc != STORE_OK ? rc : item ? kst_enqueue(k, item) :
		    STORE_ENOMEM;
		kstat_syscall(k, "send");	/* SwingSet's queueToKref */
		if (rc == STORE_OK)
			rc = kv_put(k->st, "kernel.bootstrapResult", kpid);
		/* the host's interest in the result ("external") */
		if (rc == STORE_OK)
			rc = kp_host_hold(k, kpid);
		if (rc == STORE_OK && pin_root(k))
			rc = kref_pin(k, json_string_value(json_array_get(krefs,
			    boot_at)));
		json_decref(item);
		json_decref(ma);
	}
	if (rc == STORE_OK)
		rc = kv_put(k->st, "kernel.started", "1");
	free(kpid);
	free(boot);
	json_decref(names);
	json_decref(krefs);
	json_decref(dnames);
	json_decref(dkrefs);
	return rc;
}

int
genesis_crank(struct kernel *k, char *errbuf, size_t errlen)
{
	char	*started = kv_get(k->st, "kernel.started"), *boot;
	int	 rc;

	free(started);
	if (started != NULL)
		return 0;
	if ((rc = store_crank_begin(k->st)) == STORE_OK) {
		if ((rc = genesis(k)) == STORE_OK)
			rc = kcommit(k);
		else
			kabort(k);
		kst_forget_queue(k);
	}
	if (rc != STORE_OK) {
		snprintf(errbuf, errlen, "first cranks: %s: %s",
		    store_strerror(rc), store_errmsg(k->st));
		return -1;
	}
	boot = kv_get(k->st, "kernel.bootstrapVat");
	log_info("kernel", "queued startVat for %zu vats%s", k->vats.n,
	    boot != NULL ? " and bootstrap()" : "");
	free(boot);
	return 0;
}
