/*
 * log.c — the one logger: a line per event on stderr, prefixed with UTC
 * time, level and subsystem.  Lines are written with a single write(2) so
 * that concurrent writers (daemon and workers sharing a journal) do not
 * interleave within a line.
 *
 * Two modes.  Synchronous (the default, and for start-up and fatal
 * messages): the caller writes the line itself.  Queued, between
 * log_async_start() and log_async_stop(): a log call never waits on
 * stderr (a stalled journal, a pipe nobody reads).  When nothing is
 * queued, the caller writes the line at once, without blocking: through
 * a non-blocking description of stderr of its own (a pipe or terminal,
 * reopened through /proc/self/fd), send(MSG_DONTWAIT) (a socket, as
 * journald's), or a plain write for a regular file, which has no reader
 * to wait for.  So the log is as prompt as before, and in order.  What
 * stderr does not take at once goes to a bounded queue, which a writer
 * thread of this file writes out with blocking writes, and later lines
 * queue behind it.  When the queue is full a line is dropped and
 * counted (log_dropped()); the next line that fits is preceded by a
 * "log: N log lines dropped" warning, and so is the queue's end when no
 * line follows.
 *
 * The writer thread's rules: the queue (struct logq, under its mutex) is
 * all it shares with the callers.  It takes a line off the queue, writes
 * it and frees it; it formats nothing but the dropped-lines warning,
 * calls no one, and never logs.  All signals are blocked on it, so they
 * reach the daemon's loop thread, where libev expects them.  The callers
 * (the loop's thread: the daemon is single-threaded otherwise) only ever
 * append, under the mutex, and never wait for it, except
 * log_async_stop(), which waits (bounded) for the queue to drain.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/log.h"

/* One queued line; text holds len bytes, newline included. */
struct logq_line {
	struct logq_line *next;
	size_t		 len;
	char		 text[];
};

static struct logq {
	pthread_mutex_t	 mu;
	pthread_cond_t	 more;		/* a line was queued, or stop */
	pthread_cond_t	 drained;	/* the queue is empty, nothing in
					   the writer's hands */
	struct logq_line *head, *tail;
	size_t		 lines, bytes;	/* queued, and the one being written */
	bool		 running;	/* the writer thread is up: queue */
	bool		 stop;		/* it should end once drained */
	bool		 writing;	/* it holds a line */
	uint64_t	 dropped;	/* since the start */
	uint64_t	 unreported;	/* not yet said in a warning */
	pthread_t	 thread;
	/* the callers' own: how they write when nothing is queued */
	enum { LOGQ_FILE, LOGQ_SOCKET, LOGQ_NBFD, LOGQ_QUEUE } how;
	int		 nbfd;		/* LOGQ_NBFD: non-blocking stderr */
} logq = { .mu = PTHREAD_MUTEX_INITIALIZER, .nbfd = -1 };

static enum log_level	 log_min = LOG_LVL_INFO;
static const char	*log_prog = "swingsetd";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(enum log_level level, const char *progname)
{
	log_min = level;
	if (progname != NULL)
		log_prog = progname;
}

enum log_level
log_level_get(void)
{
	return log_min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	    i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* ---- writing -------------------------------------------------------------- */

/* One line, with as few write(2)s as stderr takes: false if it failed. */
static bool
write_line(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* "<time> warn log: N log lines dropped …\n" into buf; its length. */
static size_t
dropped_line(char *buf, size_t len, uint64_t n)
{
	char		 stamp[40];
	struct timespec	 ts;
	struct tm	 tm;
	int		 k;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(buf, len, "%s.%03ldZ warn log: %llu log lines dropped "
	    "(stderr did not keep up)\n", stamp, ts.tv_nsec / 1000000,
	    (unsigned long long)n);
	return k < 0 ? 0 : (size_t)k < len ? (size_t)k : len - 1;
}

/* A queue entry holding len bytes of text (not yet linked). */
static struct logq_line *
logq_new(const char *text, size_t len)
{
	struct logq_line *l = malloc(sizeof(*l) + len);

	if (l != NULL) {
		l->next = NULL;
		l->len = len;
		memcpy(l->text, text, len);
	}
	return l;
}

/* Link l at the tail (mutex held). */
static void
logq_link(struct logq_line *l)
{
	if (logq.tail != NULL)
		logq.tail->next = l;
	else
		logq.head = l;
	logq.tail = l;
	logq.lines++;
	logq.bytes += l->len;
}

/* The callers' way to stderr, chosen once at log_async_start(). */
static void
logq_choose(void)
{
	struct stat sb;

	logq.how = LOGQ_QUEUE;
	if (fstat(STDERR_FILENO, &sb) == -1)
		return;
	if (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode))
		logq.how = LOGQ_FILE;
	else if (S_ISSOCK(sb.st_mode))
		logq.how = LOGQ_SOCKET;
	else if ((logq.nbfd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY)) != -1)
		logq.how = LOGQ_NBFD;	/* a description of its own: fd 2's
					   flags stay as they are */
}

/* Write what stderr takes now, without waiting (a regular file: all of
 * it): the bytes written, or -1 with errno (not EAGAIN). */
static ssize_t
try_write(const char *p, size_t n)
{
	size_t	 off = 0;
	ssize_t	 w;

	while (off < n) {
		switch (logq.how) {
		case LOGQ_FILE:
			w = write(STDERR_FILENO, p + off, n - off);
			break;
		case LOGQ_SOCKET:
			w = send(STDERR_FILENO, p + off, n - off,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case LOGQ_NBFD:
			w = write(logq.nbfd, p + off, n - off);
			break;
		default:
			return 0;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return off > 0 ? (ssize_t)off : -1;
		off += (size_t)w;
	}
	return (ssize_t)off;
}

/*
 * Queue text (mutex held): false when it does not fit (with the warning
 * for lines dropped before it, which goes first so the log says where
 * the gap was).  must: fit or not (the rest of a line begun at once).
 */
static bool
logq_queue(const char *text, size_t len, bool must)
{
	char			 note[160];
	size_t			 nlen = 0;
	struct logq_line	*l = NULL, *nl = NULL;

	if (logq.unreported > 0)
		nlen = dropped_line(note, sizeof(note), logq.unreported);
	if ((must || (logq.lines + (nlen > 0) + 1 <= LOG_QUEUE_LINES &&
	    logq.bytes + len + nlen <= LOG_QUEUE_BYTES)) &&
	    (l = logq_new(text, len)) != NULL &&
	    (nlen == 0 || (nl = logq_new(note, nlen)) != NULL)) {
		if (nl != NULL) {
			logq_link(nl);
			logq.unreported = 0;
		}
		logq_link(l);
		pthread_cond_signal(&logq.more);
		return true;
	}
	free(l);
	return false;
}

/*
 * A line in queued mode: written at once if nothing is queued and stderr
 * takes it, else (the rest of it) queued, else dropped and counted.
 * false in synchronous mode: the caller writes it.
 */
static bool
logq_put(const char *text, size_t len)
{
	ssize_t	 w = 0;
	bool	 idle;

	pthread_mutex_lock(&logq.mu);
	if (!logq.running) {
		pthread_mutex_unlock(&logq.mu);
		return false;
	}
	idle = logq.head == NULL && !logq.writing && logq.unreported == 0;
	pthread_mutex_unlock(&logq.mu);
	/* idle: the thread has nothing to write and only this thread (the
	 * one caller) can give it some, so writing here keeps the order */
	if (idle && (w = try_write(text, len)) == (ssize_t)len)
		return true;
	pthread_mutex_lock(&logq.mu);
	if (w == -1 || !logq_queue(text + (w > 0 ? w : 0), len - (size_t)(w > 0 ?
	    w : 0), w > 0)) {
		logq.dropped++;		/* stderr failed, or no room */
		if (w != -1)
			logq.unreported++;
	}
	pthread_mutex_unlock(&logq.mu);
	return true;
}

static void *
logq_main(void *arg)
{
	struct logq_line	*l;
	char			 note[160];
	size_t			 nlen;
	bool			 ok;

	(void)arg;
	pthread_mutex_lock(&logq.mu);
	for (;;) {
		while (logq.head == NULL && logq.unreported == 0 &&
		    !logq.stop)
			pthread_cond_wait(&logq.more, &logq.mu);
		if ((l = logq.head) != NULL) {
			if ((logq.head = l->next) == NULL)
				logq.tail = NULL;
			logq.writing = true;
			pthread_mutex_unlock(&logq.mu);
			ok = write_line(l->text, l->len);
			pthread_mutex_lock(&logq.mu);
			logq.writing = false;
			logq.lines--;
			logq.bytes -= l->len;
			free(l);
			if (!ok)
				logq.dropped++;	/* lost all the same */
		} else if (logq.unreported > 0) {
			/* nothing follows the gap: say so now */
			nlen = dropped_line(note, sizeof(note),
			    logq.unreported);
			logq.unreported = 0;
			logq.writing = true;
			pthread_mutex_unlock(&logq.mu);
			ok = write_line(note, nlen);
			pthread_mutex_lock(&logq.mu);
			logq.writing = false;
			if (!ok)
				logq.dropped++;
		} else
			break;		/* stop, and nothing left */
		if (logq.head == NULL && logq.unreported == 0)
			pthread_cond_broadcast(&logq.drained);
	}
	pthread_cond_broadcast(&logq.drained);
	pthread_mutex_unlock(&logq.mu);
	return NULL;
}

static void
logq_at_exit(void)
{
	log_async_stop(LOG_EXIT_WAIT);
}

int
log_async_start(void)
{
	static bool		 registered;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	int			 rc;

	pthread_mutex_lock(&logq.mu);
	rc = logq.running ? EALREADY : 0;
	pthread_mutex_unlock(&logq.mu);
	if (rc != 0)
		goto fail;
	if ((rc = pthread_condattr_init(&ca)) != 0)
		goto fail;
	if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (rc = pthread_cond_init(&logq.drained, &ca)) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail;
	}
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_cond_init(&logq.more, NULL)) != 0)
		goto fail_drained;
	logq.stop = false;
	logq_choose();
	sigfillset(&all);
	if ((rc = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0)
		goto fail_more;
	rc = pthread_create(&logq.thread, NULL, logq_main, NULL);
	if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0 && rc == 0)
		abort();	/* can't happen: the mask we had is valid */
	if (rc != 0)
		goto fail_more;
	pthread_mutex_lock(&logq.mu);
	logq.running = true;
	pthread_mutex_unlock(&logq.mu);
	if (!registered && atexit(logq_at_exit) == 0)
		registered = true;	/* exit() paths flush the queue */
	return 0;
fail_more:
	if (logq.nbfd != -1)
		close(logq.nbfd);
	logq.nbfd = -1;
	pthread_cond_destroy(&logq.more);
fail_drained:
	pthread_cond_destroy(&logq.drained);
fail:
	errno = rc;
	return -1;
}

void
log_async_stop(double timeout)
{
	struct timespec	 deadline;
	bool		 drained;
	int		 rc = 0;

	pthread_mutex_lock(&logq.mu);
	if (!logq.running) {
		pthread_mutex_unlock(&logq.mu);
		return;
	}
	logq.stop = true;
	pthread_cond_signal(&logq.more);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while ((logq.head != NULL || logq.writing || logq.unreported > 0) &&
	    rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&logq.drained, &logq.mu,
		    &deadline);
	drained = logq.head == NULL && !logq.writing &&
	    logq.unreported == 0;
	logq.running = false;		/* callers write for themselves now */
	pthread_mutex_unlock(&logq.mu);
	if (logq.nbfd != -1)
		close(logq.nbfd);	/* a second description of stderr:
					   nothing is pending on it */
	logq.nbfd = -1;
	if (!drained) {
		/* stderr is stuck: leave the thread, and what it holds, to
		 * the process's end rather than wait for ever */
		if (pthread_detach(logq.thread) != 0)
			abort();	/* can't happen: a thread of ours */
		return;
	}
	if (pthread_join(logq.thread, NULL) != 0)
		abort();		/* can't happen: a thread of ours */
	pthread_cond_destroy(&logq.more);
	pthread_cond_destroy(&logq.drained);
}

uint64_t
log_dropped(void)
{
	uint64_t n;

	pthread_mutex_lock(&logq.mu);
	n = logq.dropped;
	pthread_mutex_unlock(&logq.mu);
	return n;
}

/* ---- formatting ------------------------------------------------------------ */

/*
 * Control characters in a message become \xNN: messages quote peers'
 * bytes (field names, worker output), which must not forge log lines or
 * drive a terminal.  Returns a malloc'd copy, or NULL.
 */
static char *
escape_controls(const char *msg)
{
	size_t	 n = 0;
	char	*out, *p;

	for (const char *s = msg; *s != '\0'; s++)
		n += ((unsigned char)*s < 0x20 || *s == 0x7f) ? 4 : 1;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (p = out; *msg != '\0'; msg++) {
		unsigned char c = (unsigned char)*msg;

		if (c < 0x20 || c == 0x7f)
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = (char)c;
	}
	*p = '\0';
	return out;
}

static void
vlog(enum log_level lvl, const char *sub, const char *suffix,
    const char *fmt, va_list ap)
{
	char		 stamp[40];
	struct timespec	 ts;
	struct tm	 tm;
	char		*raw = NULL, *msg = NULL, *line = NULL;
	int		 saved = errno, n;

	if (lvl < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (vasprintf(&raw, fmt, ap) < 0)
		raw = NULL;
	msg = raw != NULL ? escape_controls(raw) : NULL;
	free(raw);
	n = asprintf(&line, "%s.%03ldZ %s %s: %s%s%s\n", stamp,
	    ts.tv_nsec / 1000000, level_names[lvl], sub,
	    msg != NULL ? msg : fmt, suffix != NULL ? ": " : "",
	    suffix != NULL ? suffix : "");
	if (n > 0 && !logq_put(line, (size_t)n))
		write_line(line, (size_t)n);
	free(line);
	free(msg);
	errno = saved;
}

#define LOG_BODY(lvl, suffix) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	vlog((lvl), sub, (suffix), fmt, ap);	\
	va_end(ap);				\
} while (0)

void
log_debug(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
log_info(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_warn(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, strerror(errno));
}

void
log_warnx(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, NULL);
}

void
log_error(const char *sub, const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, NULL);
}

/* fatal: what is queued first, then this line, written by the caller */
void
fatal(const char *sub, const char *fmt, ...)
{
	int e = errno;

	log_async_stop(LOG_EXIT_WAIT);
	errno = e;
	LOG_BODY(LOG_LVL_ERROR, strerror(errno));
	exit(EXIT_SYSTEM);
}

void
fatalx(const char *sub, const char *fmt, ...)
{
	log_async_stop(LOG_EXIT_WAIT);
	LOG_BODY(LOG_LVL_ERROR, NULL);
	exit(EXIT_SYSTEM);
}
