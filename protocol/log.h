/*
 * log.h — one line per event on stderr: "<UTC time> <level> <subsystem>:
 * <message>".  Shared by the daemon and its worker code.  log_warn()
 * appends strerror(errno) and preserves errno; log_warnx() does not.
 * fatal()/fatalx() log and exit(EXIT_SYSTEM) — for start-up and broken
 * invariants only, never for a peer's bytes.
 *
 * Lines are written by the caller (synchronous mode), or, between
 * log_async_start() and log_async_stop(), queued for a writer thread so
 * that no log call waits on stderr.  Not for use from several threads
 * at once other than that writer (the daemon logs from its loop thread).
 */
#ifndef PROTOCOL_LOG_H
#define PROTOCOL_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Exit codes of swingsetd (documented in README). */
#define EXIT_OK		0	/* clean shutdown */
#define EXIT_USAGE	64	/* bad command line */
#define EXIT_CONFIG	78	/* configuration invalid */
#define EXIT_INUSE	75	/* state dir locked or socket answered */
#define EXIT_SYSTEM	71	/* a system call or the store failed */

/* The queue's bounds: past either, a line is dropped and counted. */
#define LOG_QUEUE_LINES		4096
#define LOG_QUEUE_BYTES		(1024 * 1024)
#define LOG_EXIT_WAIT		2.0	/* seconds exit() waits for it */

void	log_init(enum log_level level, const char *progname);

/*
 * From now on a log call only queues its line (at most LOG_QUEUE_LINES
 * lines and LOG_QUEUE_BYTES bytes wait; past that lines are dropped and
 * counted, and a "log: N log lines dropped" warning follows once lines
 * are written again); a thread writes them out.  exit() and fatal()
 * first write what is queued (waiting at most LOG_EXIT_WAIT).  -1 with
 * errno when the thread cannot start: logging stays synchronous.
 */
int	log_async_start(void);
/* Write what is queued, waiting at most timeout seconds (a stuck stderr
 * is left behind), and go back to synchronous logging. */
void	log_async_stop(double timeout);
/* Lines dropped since the start of the process (queue full, or stderr
 * failing). */
uint64_t log_dropped(void);
int	log_level_parse(const char *s, enum log_level *out);
enum log_level log_level_get(void);

void	log_debug(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_info(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warn(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_error(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatalx(const char *sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
