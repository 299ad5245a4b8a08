/*
 * cleanup.c — slow termination (kernel-semantics.md §10.3, SwingSet's
 * cleanupAfterTerminatedVat): a terminated vat's state is deleted by
 * cleanup cranks, the first vat of "vats.terminated" first, each crank
 * within a budget, in SwingSet's phases:
 *
 *   exports      each export (vN.c.o+…, key order) is orphaned: no
 *                owner, no entry; collected once nobody holds it
 *   imports      each import entry (vN.c.o-…) is deleted, as if the vat
 *                had dropped and retired it (its counts let go)
 *   promises     each promise entry (vN.c.p…) is deleted (the promises
 *                it decided were rejected at its termination)
 *   kv           every other key "vN.…" (vatstore, options, counters)
 *   snapshots    none left: a terminated vat's heap snapshot record goes
 *                at its termination (daemon/vats/snapshot.c); counted 0
 *   transcripts  its transcript entries
 *
 * A phase's budget (the run's cleanup budget: per phase, else its
 * "default"; unlimited when the run gives none) bounds the deletions of
 * one crank; the crank ends at the first phase that used its budget up,
 * and the next cleanup crank goes on from there (the phases are found
 * again from what is left).  When nothing is left the vat leaves
 * vats.terminated and the vat table.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"
#include "protocol/log.h"

const char *const kcleanup_phases[KCLEANUP_PHASES] = { "exports",
    "imports", "promises", "kv", "snapshots", "transcripts" };

/* The first key of table after cur with the given prefix (malloc'd), or
 * NULL (none; *rc a store failure, if that is why). */
static char *
next_with_prefix(struct kernel *k, enum store_table t, const char *cur,
    const char *prefix, int *rc)
{
	const void	*next;
	size_t		 nlen, plen = strlen(prefix);
	char		*key;

	*rc = store_next_key(k->st, t, cur, strlen(cur), &next, &nlen);
	if (*rc == STORE_NOTFOUND) {
		*rc = STORE_OK;		/* the table's end */
		return NULL;
	}
	if (*rc != STORE_OK || nlen < plen || memcmp(next, prefix, plen) != 0)
		return NULL;
	if ((key = strndup(next, nlen)) == NULL)
		*rc = STORE_ENOMEM;
	return key;
}

/* One c-list entry of the vat (key "vN.c.<vref>"), by phase. */
static int
clean_entry(struct kernel *k, const char *vid, const char *key,
    int phase)
{
	char	*kref = kv_get(k->st, key);
	int	 rc;

	if (kref == NULL)
		return store_crank_status(k->st) != STORE_OK ?
		    store_crank_status(k->st) : kv_del(k->st, key);
	rc = phase == KCLEANUP_EXPORTS ? kref_orphan(k, vid, kref) :
	    clist_forget_id(k, vid, kref);
	free(kref);
	return rc;
}

/* A phase's work on the keys of table with prefix, until *left (the
 * phase's budget) is used up: then *full.  *work counts what was done. */
static int
clean_prefix(struct kernel *k, const char *vid, int phase,
    enum store_table t, const char *prefix, int64_t left, uint64_t *work,
    bool *full)
{
	char	*key, *cur = strdup(prefix);
	int	 rc = cur ? STORE_OK : STORE_ENOMEM;

	while (rc == STORE_OK && !*full &&
	    (key = next_with_prefix(k, t, cur, prefix, &rc)) != NULL) {
		if (phase == KCLEANUP_KV || phase == KCLEANUP_TRANSCRIPTS)
			rc = store_del(k->st, t, key, strlen(key));
		else
			rc = clean_entry(k, vid, key, phase);
		free(cur);
		cur = key;
		(*work)++;
		*full = --left <= 0;
	}
	free(cur);
	return rc;
}

/* Each phase's keys: "vN." and this (kv: all that is left). */
static const char *const phase_prefix[KCLEANUP_PHASES] = { "c.o+", "c.o-",
    "c.p", "", "", "" };

static int
clean_phase(struct kernel *k, const char *vid, int phase, int64_t left,
    uint64_t *work, bool *full)
{
	char	prefix[48];

	if (phase == KCLEANUP_SNAPSHOTS)
		return STORE_OK;
	snprintf(prefix, sizeof(prefix), "%s.%s", vid, phase_prefix[phase]);
	return clean_prefix(k, vid, phase, phase == KCLEANUP_TRANSCRIPTS ?
	    STORE_TRANSCRIPTS : STORE_KV, prefix, left, work, full);
}

/* The vat is gone: out of vats.terminated (a static vat lost its name
 * at its termination). */
static int
forget_vat(struct kernel *k, const char *vid)
{
	return kst_list_edit(k, "vats.terminated", vid, false);
}

/*
 * One cleanup crank's work on vat vid within budget (NULL: unlimited),
 * inside the open crank; work[] says what it did, *done whether the vat
 * is now wholly gone.
 */
int
kcleanup_step(struct kernel *k, const char *vid,
    const struct kernel_cleanup_budget *budget, uint64_t work[], bool *done)
{
	bool	 full = false;
	int	 rc = STORE_OK;

	*done = false;
	for (int p = 0; p < KCLEANUP_PHASES; p++)
		work[p] = 0;
	for (int p = 0; rc == STORE_OK && p < KCLEANUP_PHASES; p++) {
		rc = clean_phase(k, vid, p, budget ? budget->limit[p] :
		    INT64_MAX, &work[p], &full);
		if (rc == STORE_OK && full)
			return STORE_OK;	/* maybe more: the next crank */
	}
	if (rc == STORE_OK && (rc = forget_vat(k, vid)) == STORE_OK)
		*done = true;
	return rc;
}

/* The log line of a cleanup crank: what it deleted. */
void
kcleanup_log(const char *vid, const uint64_t work[], bool done)
{
	log_info("kernel", "%s: cleanup: %" PRIu64 " exports, %" PRIu64
	    " imports, %" PRIu64 " promises, %" PRIu64 " keys, %" PRIu64
	    " transcript entries%s", vid, work[KCLEANUP_EXPORTS],
	    work[KCLEANUP_IMPORTS], work[KCLEANUP_PROMISES], work[KCLEANUP_KV],
	    work[KCLEANUP_TRANSCRIPTS], done ? "; done, the vat is gone" :
	    "; more to do");
}

/* The vat the next cleanup crank is for (malloc'd), or NULL. */
char *
kcleanup_next(struct kernel *k)
{
	json_t	*term = kv_get_json(k->st, "vats.terminated");
	char	*vid = NULL;

	if (json_is_string(json_array_get(term, 0)))
		vid = strdup(json_string_value(json_array_get(term, 0)));
	json_decref(term);
	return vid;
}

bool
kcleanup_pending(struct kernel *k)
{
	return kst_list_nonempty(k, "vats.terminated");
}

/* Keys of table with prefix, counted up to KCLEANUP_COUNT_CAP. */
static json_int_t
count_prefix(struct kernel *k, enum store_table t, const char *prefix)
{
	char		*key, *cur = strdup(prefix);
	json_int_t	 n = 0;
	int		 rc = STORE_OK;

	while (cur != NULL && n < KCLEANUP_COUNT_CAP &&
	    (key = next_with_prefix(k, t, cur, prefix, &rc)) != NULL) {
		free(cur);
		cur = key;
		n++;
	}
	free(cur);
	return n;
}

/*
 * What is left to clean of terminated vat vid, for status (new
 * reference): its exports, imports and promise entries, all its kv keys
 * (those included) and its transcript entries, each counted up to
 * KCLEANUP_COUNT_CAP (so that status stays quick: that figure means at
 * least as many).
 */
json_t *
kcleanup_remaining(struct kernel *k, const char *vid)
{
	json_t	*out = json_object();
	char	 prefix[48];

	for (int p = 0; out != NULL && p < KCLEANUP_PHASES; p++) {
		if (p == KCLEANUP_SNAPSHOTS)
			continue;
		snprintf(prefix, sizeof(prefix), "%s.%s", vid, phase_prefix[p]);
		json_object_set_new(out, kcleanup_phases[p], json_integer(
		    count_prefix(k, p == KCLEANUP_TRANSCRIPTS ?
		    STORE_TRANSCRIPTS : STORE_KV, prefix)));
	}
	return out;
}
