/* The syslog sink (see syslog.h): the hw_stream, its batch of spooled records and the state
 * machine of its non-blocking TCP (or TLS) connection (idle, connecting, handshake, up), driven
 * by pump(). Frames come from syslog_fmt.c; OpenSSL is syslog_tls.c's, called from here.
 *
 * pump() peeks a batch of records from the spool, formats their frames into one buffer and
 * writes it as the socket takes it; a write that would block is resumed at the next pump.
 * Syslog over TCP has no acknowledgements of its own (RFC 6587), so a record leaves the spool
 * once the receiver's TCP has acknowledged its whole frame (what is written less what the
 * socket still holds, SIOCOUTQ; over TLS, once the socket holds nothing): a receiver that
 * dies with megabytes in the sink's socket buffer loses none of them; what its TCP took but
 * the program never read is lost (rsyslog stopped with unread input), and a record can come
 * twice when an acknowledgement is lost with the connection. The next batch waits until the
 * current one is acknowledged. On an error the connection is closed, the rest of the batch is
 * formatted again for the next connection (a frame is never split across two), and the next
 * attempt waits 1 s, doubling to 30 s. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "parse.h"
#include "stream/spool.h"
#include "stream/syslog.h"
#include "stream/syslog_tls.h"

#define BATCH		   256		/* records per batch */
#define BATCH_BYTES	   (256u << 10) /* spooled bytes per batch (at least one record) */
#define CONNECT_TIMEOUT_NS (10ULL * HW_NSEC_PER_SEC) /* TCP connect and TLS handshake */
#define BACKOFF_MIN_NS	   (1ULL * HW_NSEC_PER_SEC)
#define BACKOFF_MAX_NS	   (30ULL * HW_NSEC_PER_SEC)

enum state {
	ST_IDLE,       /* no connection; the next attempt at next_try_ns */
	ST_CONNECTING, /* TCP connect in progress */
	ST_HANDSHAKE,  /* TLS handshake in progress */
	ST_UP,
};

struct syslog_sink {
	struct hw_stream s; /* first: the agent holds a struct hw_stream * */
	char host[256];	    /* of output.syslog: where to connect, the name TLS checks */
	char port[8];
	char app_host[256];
	unsigned int pid;
	struct hw_syslog_tls *ctx;	/* NULL: plain TCP */
	struct hw_syslog_tls_conn *tls; /* the session over fd, when ctx is set */
	int fd;
	enum state state;
	int write_pending; /* the TLS write wants to be called again with the same bytes */
	unsigned long long next_try_ns, backoff_ns, attempt_ns;
	unsigned int addr_index; /* which address of the host the next attempt uses */
	/* the batch: frames of the first nrec peeked records, written up to off; ends[i] is
	 * where record i's frame ends; done records are consumed already */
	char *buf;
	size_t cap, len, off, acked;
	size_t ends[BATCH];
	size_t nrec, done;
};

static void set_error(struct syslog_sink *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(struct syslog_sink *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->s.last_error, sizeof(x->s.last_error), fmt, ap);
	va_end(ap);
}

static void disconnect(struct syslog_sink *x)
{
	hw_syslog_tls_conn__free(x->tls); /* a broken connection gets no close_notify */
	x->tls = NULL;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	x->write_pending = 0;
	x->state = ST_IDLE;
	x->s.connected = 0;
}

/* Moves acked on to what the receiver's TCP has acknowledged of the batch: what is written
 * less what the socket still holds (SIOCOUTQ: sent but not acknowledged, still right after a
 * reset, which frees the queue but keeps the sequence numbers). Over TLS that count is of
 * encrypted bytes, so only an empty queue says the written part is acknowledged. */
static void update_acked(struct syslog_sink *x)
{
	size_t a = x->off;
	int q;

	if (x->fd >= 0 && !ioctl(x->fd, SIOCOUTQ, &q) && q > 0)
		a = x->tls ? x->acked : (size_t)q < x->off ? x->off - (size_t)q : 0;
	if (a > x->acked)
		x->acked = a;
}

/* Consumes the records whose frames the receiver has acknowledged; query: ask the socket
 * first (see update_acked). */
static void settle(struct syslog_sink *x, int query)
{
	size_t n = x->done;

	if (query)
		update_acked(x);
	while (n < x->nrec && x->ends[n] <= x->acked)
		n++;
	if (n == x->done)
		return;
	/* -EINVAL when the spool dropped the batch's segment meanwhile (spool_max): those
	 * records are counted as dropped there */
	hw_spool__consume(x->s.spool, n - x->done);
	x->s.delivered += n - x->done;
	x->done = n;
}

static void drop_batch(struct syslog_sink *x)
{
	x->len = x->off = x->acked = 0;
	x->nrec = x->done = 0;
}

/* Ends the connection after an error: what the receiver acknowledged is consumed, the rest
 * of the batch goes again on the next connection, which waits for the backoff. */
static void fail(struct syslog_sink *x, unsigned long long now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct syslog_sink *x, unsigned long long now, const char *fmt, ...)
{
	va_list ap;

	settle(x, 1);
	drop_batch(x);
	disconnect(x);
	va_start(ap, fmt);
	vsnprintf(x->s.last_error, sizeof(x->s.last_error), fmt, ap);
	va_end(ap);
	x->s.errors++;
	x->addr_index++;
	x->next_try_ns = now + x->backoff_ns;
	x->backoff_ns = x->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : x->backoff_ns * 2;
}

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0 not yet. */
static int wait_fd(int fd, short events, unsigned long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		unsigned long long now = hw_clock__mono_ns();
		int ms = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
		int r = poll(&p, 1, ms);

		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return 1; /* let the caller's next call report the error */
	}
}

static void start_connect(struct syslog_sink *x, unsigned long long now)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res, *ai;
	unsigned int n = 0;
	int r, one = 1;

	/* an address needs no resolver; a name is resolved at each attempt (blocking) */
	hints.ai_flags |= AI_NUMERICHOST;
	r = getaddrinfo(x->host, x->port, &hints, &res);
	if (r == EAI_NONAME) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		r = getaddrinfo(x->host, x->port, &hints, &res);
	}
	if (r) {
		fail(x, now, "cannot resolve '%s': %s", x->host,
		     r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return;
	}
	for (ai = res; ai; ai = ai->ai_next)
		n++;
	ai = res;
	for (unsigned int i = 0; i < x->addr_index % n; i++)
		ai = ai->ai_next;
	x->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		freeaddrinfo(res);
		fail(x, now, "cannot create a socket: %s", strerror(errno));
		return;
	}
	setsockopt(x->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	r = connect(x->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	if (r && errno != EINPROGRESS) {
		fail(x, now, "cannot connect to '%s:%s': %s", x->host, x->port, strerror(errno));
		return;
	}
	x->attempt_ns = now;
	x->state = ST_CONNECTING;
}

static int start_tls(struct syslog_sink *x, unsigned long long now)
{
	char why[300];

	x->tls = hw_syslog_tls_conn__new(x->ctx, x->fd, x->host, why, sizeof(why));
	if (!x->tls) {
		fail(x, now, "%s", why);
		return -1;
	}
	x->state = ST_HANDSHAKE;
	return 0;
}

static void up(struct syslog_sink *x)
{
	x->state = ST_UP;
	x->s.connected = 1;
	x->backoff_ns = BACKOFF_MIN_NS;
	x->addr_index = 0;
}

enum peer { PEER_UP, PEER_CLOSED, PEER_FAILED };

/* Whether the receiver closed the connection (PEER_CLOSED: its FIN; what it acknowledged
 * before still counts) or it failed (a reset, an error). A receiver sends nothing in syslog
 * but a TLS session ticket, read and ignored here. */
static enum peer peer_state(struct syslog_sink *x)
{
	struct pollfd p = {.fd = x->fd, .events = POLLIN | POLLRDHUP};
	char scratch[4096];

	if (poll(&p, 1, 0) <= 0)
		return PEER_UP;
	if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
		return PEER_FAILED;
	if (p.revents & POLLRDHUP)
		return PEER_CLOSED;
	if (!(p.revents & POLLIN))
		return PEER_UP;
	if (!x->tls) {
		for (;;) {
			ssize_t n = recv(x->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

			if (n == 0)
				return PEER_CLOSED;
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
					   ? PEER_UP
					   : PEER_FAILED;
		}
	}
	if (x->write_pending)
		return PEER_UP;
	switch (hw_syslog_tls_conn__drain(x->tls)) {
	case 0:
		return PEER_UP;
	case 1:
		return PEER_CLOSED;
	default:
		return PEER_FAILED;
	}
}

/* Formats the next batch from the spool. Returns how many records, 0 when none is pending,
 * -1 on an error (set). */
static int fill(struct syslog_sink *x)
{
	const char *rec[BATCH];
	size_t rlen[BATCH];
	int n;

	drop_batch(x);
	n = hw_spool__peek(x->s.spool, BATCH, BATCH_BYTES, rec, rlen);
	if (n < 0) {
		set_error(x, "cannot read the spool: %s", strerror(-n));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *id, *line;
		size_t idlen, linelen, need;
		char kind;

		if (hw_stream__split(rec[i], rlen[i], &kind, &id, &idlen, &line, &linelen)) {
			set_error(x, "malformed spool record of %zu bytes, skipped", rlen[i]);
			x->ends[x->nrec++] = x->len; /* an empty frame: consumed with the rest */
			continue;
		}
		need = x->len + linelen + HW_SYSLOG_OVERHEAD + 1;
		if (need > x->cap) {
			size_t cap = need * 2 > BATCH_BYTES * 2 ? need * 2 : BATCH_BYTES * 2;
			char *b = realloc(x->buf, cap);

			if (!b) {
				set_error(x, "out of memory");
				if (!x->nrec)
					return -1;
				break; /* the rest in the next batch */
			}
			x->buf = b;
			x->cap = cap;
		}
		x->len += hw_syslog__format(kind, line, linelen, x->app_host, x->pid,
					    x->buf + x->len, x->cap - x->len);
		x->ends[x->nrec++] = x->len;
	}
	return (int)x->nrec;
}

/* Writes some of the batch: bytes written, 0 when the socket is full (*want: what to wait
 * for), or -1 with the reason in why. */
static ssize_t write_some(struct syslog_sink *x, short *want, char *why, size_t whylen)
{
	size_t n = x->len - x->off;

	if (!x->tls) {
		ssize_t w = send(x->fd, x->buf + x->off, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w >= 0)
			return w;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*want = POLLOUT;
			return 0;
		}
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	return hw_syslog_tls_conn__write(x->tls, x->buf + x->off, n, &x->write_pending, want, why,
					 whylen);
}

/* Writes batches until the spool is empty, the socket is full past the deadline, or an
 * error. */
static void send_some(struct syslog_sink *x, unsigned long long deadline)
{
	enum peer ps = peer_state(x);
	char why[200];

	if (ps != PEER_FAILED)
		settle(x, 1);
	if (ps != PEER_UP) {
		fail(x, hw_clock__mono_ns(), "connection %s by the receiver",
		     ps == PEER_CLOSED ? "closed" : "reset");
		return;
	}
	for (;;) {
		short want = POLLOUT;
		ssize_t w;

		if (x->off == x->len) {
			settle(x, 1);
			if (x->done < x->nrec) {
				/* written, not all acknowledged: the next batch waits for it */
				struct pollfd p = {.fd = x->fd, .events = POLLRDHUP};

				if (hw_clock__mono_ns() >= deadline)
					return;
				poll(&p, 1, 1);
				if (p.revents) {
					send_some(x, deadline); /* reports how it ended */
					return;
				}
				continue;
			}
			if (fill(x) <= 0)
				return;
		}
		w = write_some(x, &want, why, sizeof(why));
		if (w < 0) {
			fail(x, hw_clock__mono_ns(), "cannot send to '%s:%s': %s", x->host, x->port,
			     why);
			return;
		}
		x->off += (size_t)w;
		if (w == 0 && !wait_fd(x->fd, want, deadline))
			break;
		if (hw_clock__mono_ns() >= deadline)
			break;
	}
	settle(x, 1);
}

/* Moves the connection on for as long as the deadline allows. */
static void run(struct syslog_sink *x, unsigned long long now, unsigned long long deadline)
{
	for (;;) {
		switch (x->state) {
		case ST_IDLE:
			if (now < x->next_try_ns)
				return;
			if (!x->len && !hw_spool__pending(x->s.spool))
				return; /* connect when there is something to send */
			start_connect(x, now);
			if (x->state == ST_IDLE)
				return;
			break;
		case ST_CONNECTING: {
			int e = 0;
			socklen_t el = sizeof(e);

			if (!wait_fd(x->fd, POLLOUT, deadline)) {
				if (hw_clock__mono_ns() - x->attempt_ns > CONNECT_TIMEOUT_NS)
					fail(x, hw_clock__mono_ns(),
					     "cannot connect to '%s:%s': timed out", x->host,
					     x->port);
				return;
			}
			if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &e, &el) || e) {
				fail(x, hw_clock__mono_ns(), "cannot connect to '%s:%s': %s",
				     x->host, x->port, strerror(e ? e : errno));
				return;
			}
			if (!x->ctx)
				up(x);
			else if (start_tls(x, hw_clock__mono_ns()))
				return;
			break;
		}
		case ST_HANDSHAKE: {
			char why[200];
			short want;
			int r = hw_syslog_tls_conn__handshake(x->tls, &want, why, sizeof(why));

			if (r == 1) {
				up(x);
				break;
			}
			if (!r) {
				if (wait_fd(x->fd, want, deadline))
					break;
				if (hw_clock__mono_ns() - x->attempt_ns > CONNECT_TIMEOUT_NS)
					fail(x, hw_clock__mono_ns(),
					     "TLS handshake with '%s:%s': timed out", x->host,
					     x->port);
				return;
			}
			fail(x, hw_clock__mono_ns(), "TLS handshake with '%s:%s': %s", x->host,
			     x->port, why);
			return;
		}
		case ST_UP:
			send_some(x, deadline);
			return;
		}
	}
}

static void pump(struct hw_stream *s, unsigned long long now_ns, int budget_ms)
{
	struct syslog_sink *x = (struct syslog_sink *)s;

	run(x, now_ns,
	    hw_clock__mono_ns() +
		(unsigned long long)(budget_ms > 0 ? budget_ms : 0) * HW_NSEC_PER_MSEC);
	s->behind = s->connected && hw_spool__pending(s->spool);
}

static void free_sink(struct syslog_sink *x)
{
	disconnect(x);
	hw_syslog_tls__free(x->ctx);
	free(x->buf);
	free(x);
}

/* Ends the connection so that what is written reaches the receiver: close_notify (TLS), our
 * FIN, then what the receiver still sends read until its FIN or the deadline (a close() with
 * unread bytes would reset the connection and lose what is still unsent). */
static void finish(struct syslog_sink *x, unsigned long long deadline)
{
	char scratch[4096];

	if (peer_state(x) == PEER_FAILED) {
		fail(x, hw_clock__mono_ns(), "connection reset by the receiver");
		return;
	}
	settle(x, 1);
	if (x->tls && !x->write_pending)
		hw_syslog_tls_conn__shutdown(x->tls);
	shutdown(x->fd, SHUT_WR);
	while (wait_fd(x->fd, POLLIN, deadline)) {
		ssize_t n = recv(x->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n == 0) {
			/* the receiver read to our end before closing: it has all we wrote */
			x->acked = x->off;
			settle(x, 0);
			break;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break;
	}
	disconnect(x);
}

/* Delivers until the spool is empty or the budget is spent, reconnecting at once (no
 * backoff) as long as the budget allows. */
static void close_sink(struct hw_stream *s, int budget_ms)
{
	struct syslog_sink *x = (struct syslog_sink *)s;
	unsigned long long deadline =
	    hw_clock__mono_ns() +
	    (unsigned long long)(budget_ms > 0 ? budget_ms : 0) * HW_NSEC_PER_MSEC;

	for (;;) {
		unsigned long long now = hw_clock__mono_ns();

		if (x->len == x->off && !hw_spool__pending(s->spool))
			break;
		if (now >= deadline)
			break;
		if (x->state == ST_IDLE && x->next_try_ns > now) {
			/* wait out the backoff when the budget allows, else give up */
			if (x->next_try_ns >= deadline)
				break;
			unsigned long long wait = x->next_try_ns - now;
			struct timespec ts = {(time_t)(wait / HW_NSEC_PER_SEC),
					      (long)(wait % HW_NSEC_PER_SEC)};

			nanosleep(&ts, NULL);
			continue;
		}
		run(x, hw_clock__mono_ns(), deadline);
		if (x->state == ST_UP && !x->nrec && hw_spool__pending(s->spool))
			break; /* the spool cannot be read */
	}
	if (x->state == ST_UP)
		finish(x, deadline);
	hw_spool__close(s->spool);
	free_sink(x);
}

struct hw_stream *hw_syslog__new(const struct hw_config *cfg, struct hw_spool *spool,
				 const char *app_host, char *err, size_t errlen)
{
	struct syslog_sink *x;
	unsigned short port;
	int e;

	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	x->fd = -1;
	e = hw_parse_host_port(cfg->syslog, x->host, sizeof(x->host), &port);
	if (e) {
		snprintf(err, errlen, "output.syslog: invalid address '%s' (use host:port)",
			 cfg->syslog ? cfg->syslog : "");
		goto fail;
	}
	snprintf(x->port, sizeof(x->port), "%u", port);
	snprintf(x->app_host, sizeof(x->app_host), "%s", app_host ? app_host : "");
	x->pid = (unsigned int)getpid();
	e = hw_syslog_tls__new(cfg, &x->ctx, err, errlen);
	if (e)
		goto fail;
	x->backoff_ns = BACKOFF_MIN_NS;
	x->s.name = "syslog";
	x->s.spool = spool;
	x->s.pump = pump;
	x->s.close = close_sink;
	return &x->s;
fail:
	free_sink(x);
	errno = -e;
	return NULL;
}
