/*
 * kstate.c — typed access to the kernel's kv keys: strings, JSON values,
 * ID counters, and the run-queue.  Every write goes through the store's
 * open crank (and so into the crank hash); reads see the crank's writes.
 * JSON is written compact with keys in insertion order, always by the same
 * code, so equal inputs give equal bytes.
 *
 * Queues: "runQueue" = JSON [head, tail]; items at "runQueue.<i>" for
 * head <= i < tail, each a JSON object.  The vat-creation queue has the
 * same shape under "createQueue", its items the vat IDs (JSON strings)
 * in allocation order.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kernel.h"

/* A value as a malloc'd NUL-terminated string, or NULL when absent. */
char *
kst_get(struct kernel *k, const char *key)
{
	const void	*v;
	size_t		 len;
	char		*s;

	if (store_get(k->st, STORE_KV, key, strlen(key), &v, &len) != STORE_OK)
		return NULL;
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

int
kst_put(struct kernel *k, const char *key, const char *val)
{
	return store_put(k->st, STORE_KV, key, strlen(key), val, strlen(val));
}

int
kst_putf(struct kernel *k, const char *key, const char *fmt, ...)
{
	va_list	 ap;
	char	*val = NULL;
	int	 n, rc;

	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return STORE_ENOMEM;
	rc = kst_put(k, key, val);
	free(val);
	return rc;
}

int
kst_del(struct kernel *k, const char *key)
{
	return store_del(k->st, STORE_KV, key, strlen(key));
}

json_t *
kst_get_json(struct kernel *k, const char *key)
{
	const void *v;
	size_t	    len;

	if (store_get(k->st, STORE_KV, key, strlen(key), &v, &len) != STORE_OK)
		return NULL;
	return json_loadb(v, len, JSON_DECODE_ANY, NULL);
}

int
kst_put_json(struct kernel *k, const char *key, const json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENCODE_ANY);
	int	 rc;

	if (s == NULL)
		return STORE_ENOMEM;
	rc = kst_put(k, key, s);
	free(s);
	return rc;
}

/* Take the next ID from counter (starting at first); writes it back. */
int
kst_alloc(struct kernel *k, const char *counter, uint64_t first,
    uint64_t *out)
{
	char		*s = kst_get(k, counter);
	uint64_t	 n = s != NULL ? strtoull(s, NULL, 10) : first;

	free(s);
	*out = n;
	return kst_putf(k, counter, "%" PRIu64, n + 1);
}

/*
 * A queue's bounds are read from the store once and then kept in memory:
 * every change goes through queue_set_bounds().  A crank abort rolls the
 * store back under them, so kernel.c forgets them there
 * (kst_forget_queue).
 */
static void
queue_bounds(struct kernel *k, struct kqueue *q, uint64_t *head,
    uint64_t *tail)
{
	json_t *b;

	if (!q->known) {
		b = kst_get_json(k, q->key);
		q->head = q->tail = 1;
		if (b != NULL) {
			q->head = (uint64_t)json_integer_value(
			    json_array_get(b, 0));
			q->tail = (uint64_t)json_integer_value(
			    json_array_get(b, 1));
		}
		json_decref(b);
		q->known = true;
	}
	*head = q->head;
	*tail = q->tail;
}

static int
queue_set_bounds(struct kernel *k, struct kqueue *q, uint64_t head,
    uint64_t tail)
{
	int rc = kst_putf(k, q->key, "[%" PRIu64 ",%" PRIu64 "]", head, tail);

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
	if ((rc = kst_put_json(k, key, item)) != STORE_OK)
		return rc;
	return queue_set_bounds(k, q, head, tail + 1);
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
	if ((item = kst_get_json(k, key)) == NULL)
		return NULL;
	if (kst_del(k, key) != STORE_OK || queue_set_bounds(k, q, head + 1,
	    tail) != STORE_OK) {
		json_decref(item);
		return NULL;
	}
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
	return kst_get_json(k, key);
}

uint64_t
kst_length(struct kernel *k, struct kqueue *q)
{
	uint64_t head, tail;

	queue_bounds(k, q, &head, &tail);
	return tail - head;
}

/* The run-queue. */
int
kst_enqueue(struct kernel *k, json_t *item)
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
