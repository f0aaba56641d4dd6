/* Unit tests of the syslog sink: its framing (user/stream/syslog_fmt.c): RFC 5424 header from
 * the line and its kind, RFC 6587 octet counting; and the sink (syslog.c, syslog_tls.c) against
 * a local TCP listener. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "stream/spool.h"
#include "stream/syslog.h"

#define EVENT                                                                                      \
	"{\"@timestamp\":\"2024-05-01T10:20:30.123456789Z\",\"event\":{\"kind\":\"event\","        \
	"\"action\":\"exec\"},\"message\":\"a \\\"severity\\\":99 in a string\"}"
#define ALERT_HIGH                                                                                 \
	"{\"@timestamp\":\"2024-05-01T10:20:31.000000001Z\",\"message\":\"x\",\"event\":{"         \
	"\"kind\":\"alert\",\"category\":[\"intrusion_detection\"],\"action\":\"r\","              \
	"\"severity\":73},\"hopwatch\":{\"alert\":{\"severity\":\"high\"}}}"
#define ALERT_CRIT                                                                                 \
	"{\"@timestamp\":\"2024-05-01T10:20:32.500000000Z\",\"message\":\"\\\"severity\\\":1\","   \
	"\"event\":{\"kind\":\"alert\",\"type\":[\"}\"],\"id\":\"a]{\",\"severity\":99},"          \
	"\"hopwatch\":{\"alert\":{\"severity\":\"critical\"}}}"

/* Formats line and checks the whole frame: "LEN SP" + want_msg, LEN its length. */
static void check_frame(char kind, const char *line, const char *host, const char *want_hdr)
{
	char want[4096], out[4096], *msg;
	size_t n, mlen = strlen(want_hdr) + strlen(line);

	snprintf(want, sizeof(want), "%zu %s%s", mlen, want_hdr, line);
	n = hw_syslog__format(kind, line, strlen(line), host, 4242, out, sizeof(out));
	if (!CHECK_EQ(n, strlen(want)) || !CHECK_STREQ(out, want))
		return;
	msg = strchr(out, ' ') + 1;
	CHECK_EQ(strlen(msg), strtoul(out, NULL, 10));
}

TEST(syslog_format_event)
{
	check_frame('e', EVENT, "web-1",
		    "<30>1 2024-05-01T10:20:30.123456Z web-1 hopwatch 4242 event - ");
}

TEST(syslog_format_alerts)
{
	/* warning below 99; crit at 99, found past brackets and braces inside strings */
	check_frame('a', ALERT_HIGH, "web-1",
		    "<28>1 2024-05-01T10:20:31.000000Z web-1 hopwatch 4242 alert - ");
	check_frame('a', ALERT_CRIT, "web-1",
		    "<26>1 2024-05-01T10:20:32.500000Z web-1 hopwatch 4242 alert - ");
	/* the kind decides: an event line with severity 99 is still info */
	check_frame('e', ALERT_CRIT, "web-1",
		    "<30>1 2024-05-01T10:20:32.500000Z web-1 hopwatch 4242 event - ");
	/* an alert without event.severity: warning */
	check_frame('a', "{\"@timestamp\":\"2024-05-01T10:20:31Z\",\"event\":{\"kind\":\"alert\"}}",
		    "h", "<28>1 2024-05-01T10:20:31Z h hopwatch 4242 alert - ");
	check_frame('a', "{\"@timestamp\":\"2024-05-01T10:20:31Z\",\"event\":{\"severity\":100}}",
		    "h", "<26>1 2024-05-01T10:20:31Z h hopwatch 4242 alert - ");
	check_frame('a',
		    "{\"@timestamp\":\"2024-05-01T10:20:31Z\",\"event\":{\"x\":{\"severity\":"
		    "99}}}",
		    "h", "<28>1 2024-05-01T10:20:31Z h hopwatch 4242 alert - ");
}

TEST(syslog_format_timestamps)
{
	static const struct {
		const char *line, *ts;
	} cases[] = {
	    {"{\"@timestamp\":\"2024-05-01T10:20:30Z\"}", "2024-05-01T10:20:30Z"},
	    {"{\"@timestamp\":\"2024-05-01T10:20:30.1Z\"}", "2024-05-01T10:20:30.1Z"},
	    {"{\"@timestamp\":\"2024-05-01T10:20:30.123+02:00\"}", "2024-05-01T10:20:30.123+02:00"},
	    {"{\"@timestamp\":\"2024-05-01t10:20:30.1234567-05:30\"}",
	     "2024-05-01T10:20:30.123456-05:30"},
	    {"{\"a\":1,\"@timestamp\":\"2024-05-01T10:20:30Z\"}", "2024-05-01T10:20:30Z"},
	    /* none, or not valid: NILVALUE */
	    {"{\"a\":1}", "-"},
	    {"{\"@timestamp\":\"2024-05-01 10:20:30Z\"}", "-"},
	    {"{\"@timestamp\":\"2024-05-01T10:20:30\"}", "-"},
	    {"{\"@timestamp\":\"2024-05-01T10:20:30.Z\"}", "-"},
	    {"{\"@timestamp\":\"2024-05-01T10:20:30Zjunk\"}", "-"},
	    {"{\"@timestamp\":\"2024-05-01T10:20", "-"},
	    {"{\"@timestamp\":1714558830}", "-"},
	    {"", "-"},
	};
	char want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "<30>1 %s h hopwatch 4242 event - ", cases[i].ts);
		check_frame('e', cases[i].line, "h", want);
	}
}

TEST(syslog_format_hostname)
{
	char longname[400];

	check_frame('e', "{}", "", "<30>1 - - hopwatch 4242 event - ");
	check_frame('e', "{}", NULL, "<30>1 - - hopwatch 4242 event - ");
	check_frame('e', "{}", "a b\tc\xc3\xa9", "<30>1 - a_b_c__ hopwatch 4242 event - ");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	{
		char want[400];

		snprintf(want, sizeof(want), "<30>1 - %.255s hopwatch 4242 event - ", longname);
		check_frame('e', "{}", longname, want);
	}
}

TEST(syslog_format_small_buffer)
{
	char out[64];
	size_t n, full;

	full = hw_syslog__format('e', EVENT, strlen(EVENT), "h", 1, NULL, 0);
	CHECK(full > strlen(EVENT));
	memset(out, 'z', sizeof(out));
	n = hw_syslog__format('e', EVENT, strlen(EVENT), "h", 1, out, sizeof(out));
	CHECK_EQ(n, full);
	CHECK_STREQ(out, "");
	/* exactly the frame without room for the NUL: refused too */
	{
		char *big = malloc(full + 1);

		if (!CHECK(big))
			return;
		CHECK_EQ(hw_syslog__format('e', EVENT, strlen(EVENT), "h", 1, big, full), full);
		CHECK_STREQ(big, "");
		CHECK_EQ(hw_syslog__format('e', EVENT, strlen(EVENT), "h", 1, big, full + 1), full);
		CHECK_EQ(strlen(big), full);
		free(big);
	}
}

TEST(syslog_new_rejects)
{
	struct hw_config cfg;
	char err[256] = "";

	if (!CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	cfg.syslog = strdup("127.0.0.1:6514");
	cfg.syslog_cert = strdup("/nonexistent/cert.pem");
	errno = 0;
	CHECK(!hw_syslog__new(&cfg, NULL, "h", err, sizeof(err)));
	CHECK_EQ(errno, EINVAL);
	CHECK_STREQ(err, "output.syslog_cert needs output.syslog_ca (TLS)");
	cfg.syslog_ca = strdup("/nonexistent/ca.pem");
	CHECK(!hw_syslog__new(&cfg, NULL, "h", err, sizeof(err)));
	CHECK_STREQ(err, "output.syslog_cert is set without output.syslog_key");
	cfg.syslog_key = strdup("/nonexistent/key.pem");
	CHECK(!hw_syslog__new(&cfg, NULL, "h", err, sizeof(err)));
	CHECK_EQ(errno, ENOENT);
	CHECK_STREQ(err, "output.syslog_ca '/nonexistent/ca.pem': No such file or directory");
	hw_config__free(&cfg);
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* Reads from fd into buf until want bytes or 5 s, pumping s meanwhile. */
static size_t read_pumping(struct hw_stream *s, int fd, char *buf, size_t want)
{
	unsigned long long until = now_ns() + 5000000000ULL;
	size_t got = 0;

	while (got < want && now_ns() < until) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		s->pump(s, now_ns(), 5);
		if (poll(&p, 1, 5) > 0) {
			ssize_t n = read(fd, buf + got, want - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	return got;
}

/* The sink end to end on loopback: 2000 records arrive framed and in order, leave the spool,
 * and a receiver that goes away is reconnected to with the rest. */
TEST(syslog_sink_delivers)
{
	char dir[] = "/tmp/hw-syslog-unit-XXXXXX", err[256], addr[64], rec[256], line[200];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	struct hw_stream *s = NULL;
	struct hw_spool *sp = NULL;
	struct hw_config cfg;
	size_t want = 0, got, n;
	char *buf = NULL, *p;
	int lfd = -1, cfd = -1, i, seq = 0;

	if (!CHECK(mkdtemp(dir)) || !CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd >= 0) || !CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0) ||
	    !CHECK_EQ(listen(lfd, 4), 0) ||
	    !CHECK_EQ(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0))
		goto out;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	cfg.syslog = strdup(addr);
	sp = hw_spool__open(dir, 1 << 20, err, sizeof(err));
	if (!CHECK(sp))
		goto out;
	s = hw_syslog__new(&cfg, sp, "unit", err, sizeof(err));
	if (!CHECK(s)) {
		printf("    %s\n", err);
		hw_spool__close(sp);
		goto out;
	}
	buf = malloc(1 << 20);
	if (!CHECK(buf))
		goto out;
	for (int round = 0; round < 2; round++) {
		want = 0;
		for (i = 0; i < 1000; i++, seq++) {
			int ll = snprintf(
			    line, sizeof(line),
			    "{\"@timestamp\":\"2024-05-01T00:00:00.000000001Z\",\"n\":%d}", seq);
			int rl = snprintf(rec, sizeof(rec), "e%d\n%s", seq, line);

			if (!CHECK_EQ(hw_spool__append(sp, rec, (size_t)rl), 0))
				goto out;
			want += hw_syslog__format('e', line, (size_t)ll, "unit", (unsigned)getpid(),
						  NULL, 0);
		}
		hw_spool__flush(sp);
		/* connects (in the second round past the backoff of the first's close) */
		s->pump(s, now_ns() + (round ? 2000000000ULL : 0), 5);
		{
			struct pollfd lp = {.fd = lfd, .events = POLLIN};

			if (!CHECK_EQ(poll(&lp, 1, 5000), 1))
				goto out;
		}
		cfd = accept(lfd, NULL, NULL);
		if (!CHECK(cfd >= 0))
			goto out;
		got = read_pumping(s, cfd, buf, want);
		if (!CHECK_EQ(got, want))
			goto out;
		/* every frame: LEN SP MSG, the records in order */
		p = buf;
		for (i = seq - 1000; p < buf + got; i++) {
			char *sp_ = memchr(p, ' ', 12), tail[64];

			if (!CHECK(sp_))
				goto out;
			n = strtoul(p, NULL, 10);
			snprintf(tail, sizeof(tail), ",\"n\":%d}", i);
			if (!CHECK(sp_ + 1 + n <= buf + got) ||
			    !CHECK(!memcmp(sp_ + 1 + n - strlen(tail), tail, strlen(tail))) ||
			    !CHECK(!memcmp(sp_ + 1,
					   "<30>1 2024-05-01T00:00:00.000000Z unit hopwatch ", 48)))
				goto out;
			p = sp_ + 1 + n;
		}
		CHECK_EQ(i, seq);
		CHECK_EQ(hw_spool__pending(sp), 0);
		CHECK_EQ(s->delivered, (unsigned long long)seq);
		CHECK_EQ(s->connected, 1);
		/* the receiver goes away: the sink notices and reconnects for the next round */
		close(cfd);
		cfd = -1;
		s->pump(s, now_ns(), 5);
		CHECK_EQ(s->connected, 0);
		CHECK_EQ(s->errors, (unsigned long long)round + 1);
		CHECK_STREQ(s->last_error, "connection closed by the receiver");
	}
out:
	if (s)
		s->close(s, 0);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	free(buf);
	hw_config__free(&cfg);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			printf("    cannot remove %s\n", dir);
	}
}

/* A receiver that reads slowly from a small buffer: frames of 64 KiB lines are written in
 * pieces over many pumps, arrive whole and in order, and a record leaves the spool only once
 * the receiver's TCP has its whole frame (read, or in its receive queue). */
TEST(syslog_sink_partial_writes)
{
	char dir[] = "/tmp/hw-syslog-unit-XXXXXX", err[256], addr[64];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	enum { NREC = 24, LINE = 64 << 10 };
	char *line = NULL, *rec = NULL, *want = NULL, *got = NULL;
	size_t wlen = 0, glen = 0, ends[NREC], whole = 0;
	struct hw_stream *s = NULL;
	struct hw_spool *sp = NULL;
	struct hw_config cfg;
	int lfd = -1, cfd = -1, small = 4096, partial = 0;
	unsigned long long until;

	if (!CHECK(mkdtemp(dir)) || !CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	line = malloc(LINE + 1);
	rec = malloc(LINE + 64);
	want = malloc(NREC * (LINE + HW_SYSLOG_OVERHEAD));
	got = malloc(NREC * (LINE + HW_SYSLOG_OVERHEAD));
	if (!CHECK(line && rec && want && got))
		goto out;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* the accepted socket inherits the small receive buffer */
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (!CHECK(lfd >= 0) || !CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0) ||
	    !CHECK_EQ(listen(lfd, 4), 0) ||
	    !CHECK_EQ(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0))
		goto out;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	cfg.syslog = strdup(addr);
	sp = hw_spool__open(dir, 16 << 20, err, sizeof(err));
	if (!CHECK(sp))
		goto out;
	s = hw_syslog__new(&cfg, sp, "unit", err, sizeof(err));
	if (!CHECK(s)) {
		hw_spool__close(sp);
		goto out;
	}
	for (int i = 0; i < NREC; i++) {
		int n = snprintf(line, LINE,
				 "{\"@timestamp\":\"2024-05-01T00:00:00Z\",\"n\":%d,\"x\":\"", i);
		size_t ll;

		memset(line + n, 'a' + i % 26, LINE - (size_t)n - 2);
		memcpy(line + LINE - 2, "\"}", 2);
		ll = LINE;
		rec[0] = 'e';
		memcpy(rec + 1, "id\n", 3);
		memcpy(rec + 4, line, ll);
		if (!CHECK_EQ(hw_spool__append(sp, rec, ll + 4), 0))
			goto out;
		wlen += hw_syslog__format('e', line, ll, "unit", (unsigned)getpid(), want + wlen,
					  LINE + HW_SYSLOG_OVERHEAD);
		ends[i] = wlen;
	}
	hw_spool__flush(sp);
	s->pump(s, now_ns(), 5);
	{
		struct pollfd lp = {.fd = lfd, .events = POLLIN};

		if (!CHECK_EQ(poll(&lp, 1, 5000), 1))
			goto out;
	}
	cfd = accept(lfd, NULL, NULL);
	if (!CHECK(cfd >= 0))
		goto out;
	until = now_ns() + 20000000000ULL;
	while (glen < wlen && now_ns() < until) {
		ssize_t n;

		int queued = 0;

		s->pump(s, now_ns(), 0);
		if (!CHECK_EQ(s->delivered + hw_spool__pending(sp), NREC) ||
		    !CHECK_EQ(ioctl(cfd, FIONREAD, &queued), 0))
			goto out;
		whole = 0;
		while (whole < NREC && ends[whole] <= glen + (size_t)queued)
			whole++;
		if (!CHECK(s->delivered <= whole))
			goto out;
		if (s->delivered > 0 && s->delivered < NREC)
			partial = 1;
		n = recv(cfd, got + glen, 2048, MSG_DONTWAIT);
		if (n > 0)
			glen += (size_t)n;
		else
			usleep(200);
	}
	CHECK(partial);
	if (CHECK_EQ(glen, wlen))
		CHECK(!memcmp(got, want, wlen));
	s->pump(s, now_ns(), 5);
	CHECK_EQ(s->delivered, NREC);
	CHECK_EQ(hw_spool__pending(sp), 0);
	CHECK_EQ(s->errors, 0);
out:
	if (s)
		s->close(s, 0);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	free(line);
	free(rec);
	free(want);
	free(got);
	hw_config__free(&cfg);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			printf("    cannot remove %s\n", dir);
	}
}

/* The receiver resets the connection in the middle of a frame, with megabytes written into
 * the sink's socket but not taken: the sink notices, has consumed only the records the
 * receiver's TCP acknowledged, and on the next connection starts at a frame boundary with the
 * first record the receiver did not get, then the rest in order: nothing is lost. */
TEST(syslog_sink_resends_after_cut)
{
	char dir[] = "/tmp/hw-syslog-unit-XXXXXX", err[256], addr[64];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	enum { NREC = 160, LINE = 64 << 10 }; /* more than the socket buffers hold (4 MiB) */
	char *line = NULL, *rec = NULL, *got = NULL, *p;
	size_t glen = 0;
	struct hw_stream *s = NULL;
	struct hw_spool *sp = NULL;
	struct hw_config cfg;
	int lfd = -1, cfd = -1, small = 4096, next;
	unsigned long long until, first_delivered;

	if (!CHECK(mkdtemp(dir)) || !CHECK_EQ(hw_config__init(&cfg), 0))
		return;
	line = malloc(LINE + 1);
	rec = malloc(LINE + 64);
	got = malloc(NREC * (LINE + HW_SYSLOG_OVERHEAD));
	if (!CHECK(line && rec && got))
		goto out;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (!CHECK(lfd >= 0) || !CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0) ||
	    !CHECK_EQ(listen(lfd, 4), 0) ||
	    !CHECK_EQ(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0))
		goto out;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	cfg.syslog = strdup(addr);
	sp = hw_spool__open(dir, 64 << 20, err, sizeof(err));
	if (!CHECK(sp))
		goto out;
	s = hw_syslog__new(&cfg, sp, "unit", err, sizeof(err));
	if (!CHECK(s)) {
		hw_spool__close(sp);
		goto out;
	}
	for (int i = 0; i < NREC; i++) {
		int n =
		    snprintf(rec, LINE,
			     "eid\n{\"@timestamp\":\"2024-05-01T00:00:00Z\",\"n\":%d,\"x\":\"", i);

		memset(rec + n, 'x', LINE - (size_t)n - 2);
		memcpy(rec + LINE - 2, "\"}", 2);
		if (!CHECK_EQ(hw_spool__append(sp, rec, LINE), 0))
			goto out;
	}
	hw_spool__flush(sp);
	for (int conn = 0; conn < 2; conn++) {
		struct pollfd lp = {.fd = lfd, .events = POLLIN};

		/* the second connection after the backoff */
		s->pump(s, now_ns() + (conn ? 2000000000ULL : 0), 5);
		if (!CHECK_EQ(poll(&lp, 1, 5000), 1))
			goto out;
		cfd = accept(lfd, NULL, NULL);
		if (!CHECK(cfd >= 0))
			goto out;
		glen = 0;
		until = now_ns() + 10000000000ULL;
		/* the first connection: cut after 5.5 frames' worth */
		while (now_ns() < until && (conn || glen < 5 * LINE + LINE / 2)) {
			ssize_t n;

			s->pump(s, now_ns(), 0);
			n = recv(cfd, got + glen, conn ? 65536 : 1024, MSG_DONTWAIT);
			if (n > 0)
				glen += (size_t)n;
			else if (conn && s->delivered == NREC && n == -1)
				break;
			else
				usleep(200);
		}
		if (conn)
			break;
		close(cfd);
		cfd = -1;
		until = now_ns() + 5000000000ULL;
		while (!s->errors && now_ns() < until) {
			s->pump(s, now_ns(), 1);
			usleep(1000);
		}
		if (!CHECK_EQ(s->errors, 1))
			goto out;
		first_delivered = s->delivered;
		/* 5.5 frames read, a few KiB in the receive queue: 5, or 6 */
		if (!CHECK(first_delivered >= 5 && first_delivered <= 6))
			printf("    %llu records consumed\n", first_delivered);
		CHECK_EQ(hw_spool__pending(sp), NREC - first_delivered);
	}
	/* the second connection's stream: whole frames from record first_delivered on */
	next = (int)first_delivered;
	for (p = got; p < got + glen; next++) {
		char *sp_ = memchr(p, ' ', 12), want[64];
		size_t n;

		if (!CHECK(sp_))
			goto out;
		n = strtoul(p, NULL, 10);
		snprintf(want, sizeof(want), ",\"n\":%d,", next);
		if (!CHECK(sp_ + 1 + n <= got + glen) ||
		    !CHECK(memmem(sp_ + 1, 120, want, strlen(want))))
			goto out;
		p = sp_ + 1 + n;
	}
	CHECK_EQ(next, NREC);
	CHECK_EQ(hw_spool__pending(sp), 0);
	CHECK_EQ(s->delivered, NREC);
out:
	if (s)
		s->close(s, 0);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	free(line);
	free(rec);
	free(got);
	hw_config__free(&cfg);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			printf("    cannot remove %s\n", dir);
	}
}
