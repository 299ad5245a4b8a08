/*
 * state.c — the kernel's persisted queues, over the kv table (the typed
 * accessors are the store's, kv.c).
 *
 * Queues: "runQueue" = JSON [head, tail]; items at "runQueue.<i>" for
 * head <= i < tail, each a JSON object.  The acceptance queue, where
 * every new event enters (kernel-semantics §6.1), has the same shape
 * under "acceptanceQueue"; routing cranks move its items to the
 * run-queue.  The vat-creation queue has it under "createQueue", its
 * items the vat IDs (JSON strings) in allocation order.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel/kernel_impl.h"

/*
 * A queue's bounds are read from the store once and then kept in memory:
 * every change goes through queue_set_bounds().  A crank abort rolls the
 * store back under them, so crank.c forgets them there
 * (kst_forget_queue).
 */
/*
 * Read q's bounds: absent means empty ([1, 1]).  A value that cannot be
 * read or is not [head, tail] with 1 <= head <= tail is a machine fault,
 * never an empty queue (the kernel would report idle with work queued):
 * the kernel halts, and q reads as empty until the restart.  -1 then.
 */
static int
queue_load(struct kernel *k, struct kqueue *q)
{
	const void	*v;
	size_t		 len;
	json_t		*b = NULL;
	int		 rc = store_get(k->st, STORE_KV, q->key, strlen(q->key),
			    &v, &len);
	bool		 ok = rc == STORE_NOTFOUND;

	q->head = q->tail = 1;
	if (rc == STORE_OK && (b = json_loadb(v, len, 0, NULL)) != NULL &&
	    json_array_size(b) == 2 &&
	    json_integer_value(json_array_get(b, 0)) >= 1 &&
	    json_integer_value(json_array_get(b, 1)) >= 1) {
		q->head = (uint64_t)json_integer_value(json_array_get(b, 0));
		q->tail = (uint64_t)json_integer_value(json_array_get(b, 1));
		ok = q->head <= q->tail;
	}
	json_decref(b);
	if (ok)
		return 0;
	q->head = q->tail = 1;
	/* the crank that met it can only be aborted: nothing built on a
	 * misread queue is committed */
	store_crank_fail(k->st, STORE_ESTATE);
	kernel_store_halt(k, rc != STORE_OK && rc != STORE_NOTFOUND ?
	    store_errmsg(k->st) : q == &k->runq ? "the run-queue's bounds "
	    "are damaged" : q == &k->accq ? "the acceptance queue's bounds "
	    "are damaged" : "the creation queue's bounds are damaged");
	return -1;
}

static void
queue_bounds(struct kernel *k, struct kqueue *q, uint64_t *head,
    uint64_t *tail)
{
	if (!q->known && queue_load(k, q) == 0)
		q->known = true;
	*head = q->head;
	*tail = q->tail;
}

static int
queue_set_bounds(struct kernel *k, struct kqueue *q, uint64_t head,
    uint64_t tail)
{
	int rc = kv_putf(k->st, q->key, "[%" PRIu64 ",%" PRIu64 "]", head, tail);

	if (rc == STORE_OK) {
		q->head = head;
		q->tail = tail;
	} else
		q->known = false;
	return rc;
}

void
kst_forget_queue(struct kernel *k)
{
	k->runq.known = false;
	k->accq.known = false;
	k->createq.known = false;
}

/* Append item (borrowed) to queue q. */
int
kst_push(struct kernel *k, struct kqueue *q, const json_t *item)
{
	uint64_t	head, tail;
	char		key[64];
	int		rc;

	queue_bounds(k, q, &head, &tail);
	snprintf(key, sizeof(key), "%s.%" PRIu64, q->key, tail);
	if ((rc = kv_put_json(k->st, key, item)) != STORE_OK ||
	    (rc = queue_set_bounds(k, q, head, tail + 1)) != STORE_OK)
		return rc;
	kstat_queue(k, q, 1);
	return STORE_OK;
}

/* Take q's head item (new reference), or NULL when empty. */
json_t *
kst_shift(struct kernel *k, struct kqueue *q)
{
	uint64_t	 head, tail;
	char		 key[64];
	json_t		*item;

	queue_bounds(k, q, &head, &tail);
	if (head >= tail)
		return NULL;
	snprintf(key, sizeof(key), "%s.%" PRIu64, q->key, head);
	if ((item = kv_get_json(k->st, key)) == NULL)
		return NULL;
	if (kv_del(k->st, key) != STORE_OK || queue_set_bounds(k, q, head + 1,
	    tail) != STORE_OK) {
		json_decref(item);
		return NULL;
	}
	kstat_queue(k, q, -1);
	return item;
}

/* Item i (0 = head) of q, without taking it (new reference), or NULL. */
json_t *
kst_peek(struct kernel *k, struct kqueue *q, uint64_t i)
{
	uint64_t	head, tail;
	char		key[64];

	queue_bounds(k, q, &head, &tail);
	if (head + i >= tail)
		return NULL;
	snprintf(key, sizeof(key), "%s.%" PRIu64, q->key, head + i);
	return kv_get_json(k->st, key);
}

uint64_t
kst_length(struct kernel *k, struct kqueue *q)
{
	uint64_t head, tail;

	queue_bounds(k, q, &head, &tail);
	return tail - head;
}

/* A new event: it enters the acceptance queue (a routing crank moves it
 * on), holding a count on every kref it names.  Every send, notify and
 * kernel message is queued here.  (Messages a settled promise sends
 * back move with the counts they hold: kp_requeue.) */
int
kst_enqueue(struct kernel *k, json_t *item)
{
	int rc = kref_incref_event(k, item);

	return rc == STORE_OK ? kst_push(k, &k->accq, item) : rc;
}

/* The run-queue, fed only by routing cranks. */
int
kst_run_append(struct kernel *k, const json_t *item)
{
	return kst_push(k, &k->runq, item);
}

json_t *
kst_dequeue(struct kernel *k)
{
	return kst_shift(k, &k->runq);
}

uint64_t
kst_queue_length(struct kernel *k)
{
	return kst_length(k, &k->runq);
}

/* Add vid to (add) or remove it from a JSON list of vat IDs. */
int
kst_list_edit(struct kernel *k, const char *key, const char *vid,
    bool add)
{
	json_t	*arr = kv_get_json(k->st, key), *x, *out = json_array();
	size_t	 i;
	int	 rc;

	json_array_foreach(arr, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), vid) != 0)
			json_array_append(out, x);
	if (add)
		json_array_append_new(out, json_string(vid));
	rc = out ? kv_put_json(k->st, key, out) : STORE_ENOMEM;
	json_decref(arr);
	json_decref(out);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A comma-joined sorted set ("a,b,c"; list may be NULL or "", and is
 * split in place) with item in it (malloc'd; NULL when memory ran out);
 * *had says whether it was there already.  Promise subscribers and
 * pinnedObjects are kept so.
 */
char *
kst_csv_with(char *list, const char *item, bool *had)
{
	size_t	  n = 1, len = strlen(item) + 2, m = 0;
	char	**v, *p, *save = NULL, *out;

	*had = false;
	for (p = list; p != NULL && *p; p++)
		n += *p == ',';
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (p = list ? strtok_r(list, ",", &save) : NULL; p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, item) == 0) {
			*had = true;
			continue;
		}
		v[m++] = p;
		len += strlen(p) + 1;
	}
	v[m++] = (char *)(uintptr_t)item;
	qsort(v, m, sizeof(*v), cmp_str);
	if ((out = calloc(1, len)) != NULL)
		for (size_t i = 0; i < m; i++) {
			if (i > 0)
				strcat(out, ",");
			strcat(out, v[i]);
		}
	free(v);
	return out;
}

/* Whether the JSON list at key (written "[]" when empty) has an item:
 * the stored text is looked at, not parsed (checked before every crank). */
bool
kst_list_nonempty(struct kernel *k, const char *key)
{
	const void	*v;
	size_t		 len;

	return store_get(k->st, STORE_KV, key, strlen(key), &v, &len) ==
	    STORE_OK && !(len == 2 && memcmp(v, "[]", 2) == 0);
}

/* The number of items of the JSON list at key (0 when absent). */
uint64_t
kst_list_length(struct kernel *k, const char *key)
{
	json_t		*a = kv_get_json(k->st, key);
	uint64_t	 n = json_array_size(a);

	json_decref(a);
	return n;
}
