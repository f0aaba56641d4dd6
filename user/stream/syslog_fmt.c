/* RFC 5424 formatting and RFC 6587 octet-counting framing of a hopwatch line for the syslog
 * sink (see syslog_fmt.h): the header's PRI, TIMESTAMP and HOSTNAME from the line, its kind and
 * the host. Pure: no I/O, no clock, no OpenSSL (the fuzz builds link it). */
#include <stdio.h>
#include <string.h>

#include "stream/syslog_fmt.h"

static int digits(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* The @timestamp of line as an RFC 5424 TIMESTAMP into out (at least 33 bytes): RFC 3339 with
 * at most 6 fraction digits. Returns its length, or 0 when the line has no valid one. */
static size_t timestamp(const char *line, size_t len, char *out)
{
	static const char key[] = "\"@timestamp\":\"", ocsf[] = "\"time_dt\":\"";
	const size_t klen = sizeof(key) - 1;
	const char *p = NULL, *end = line + len;
	size_t n, frac = 0;

	/* always the first member; searched for when it is not (a key, never a string's
	 * content: a quote inside a JSON string is escaped); an OCSF line's is time_dt */
	if (len > 1 + klen && !memcmp(line + 1, key, klen))
		p = line + 1 + klen;
	else if ((p = memmem(line, len, key, klen)))
		p += klen;
	else if ((p = memmem(line, len, ocsf, sizeof(ocsf) - 1)))
		p += sizeof(ocsf) - 1;
	if (!p || end - p < 20)
		return 0;
	/* YYYY-MM-DDTHH:MM:SS */
	if (!digits(p, 4) || p[4] != '-' || !digits(p + 5, 2) || p[7] != '-' || !digits(p + 8, 2) ||
	    (p[10] != 'T' && p[10] != 't') || !digits(p + 11, 2) || p[13] != ':' ||
	    !digits(p + 14, 2) || p[16] != ':' || !digits(p + 17, 2))
		return 0;
	memcpy(out, p, 19);
	out[10] = 'T';
	n = 19;
	p += 19;
	if (p < end && *p == '.') {
		const char *f = ++p;

		while (p < end && *p >= '0' && *p <= '9')
			p++;
		frac = (size_t)(p - f);
		if (!frac || frac > 9)
			return 0;
		out[n++] = '.';
		memcpy(out + n, f, frac > 6 ? 6 : frac);
		n += frac > 6 ? 6 : frac;
	}
	if (p < end && (*p == 'Z' || *p == 'z')) {
		out[n++] = 'Z';
		p++;
	} else if (end - p >= 6 && (*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' &&
		   digits(p + 4, 2)) {
		memcpy(out + n, p, 6);
		n += 6;
		p += 6;
	} else {
		return 0;
	}
	if (p >= end || *p != '"')
		return 0;
	out[n] = 0;
	return n;
}

/* event.severity of an alert line, or -1: the top-level "event" object's member "severity"
 * (a key: a quote inside a string is escaped, so the pattern matches keys only). */
static long alert_severity(const char *line, size_t len)
{
	static const char key[] = "\"event\":{";
	const char *p = memmem(line, len, key, sizeof(key) - 1), *end = line + len;
	int depth = 0;

	if (!p) {
		/* an OCSF Detection Finding: its severity_id (the first: the line's own), 5
		 * Critical and 6 Fatal as ECS 99 */
		p = memmem(line, len, "\"severity_id\":", 14);
		return p && p + 14 < end && p[14] >= '5' && p[14] <= '6' ? 99 : -1;
	}
	p += sizeof(key) - 1;
	while (p < end) {
		char c = *p;

		if (c == '"') {
			const char *k = p;

			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\' && p + 1 < end)
					p++;
			p++;
			if (!depth && p - k == 10 && !memcmp(k, "\"severity\"", 10) && p < end &&
			    *p == ':') {
				long v = 0;

				p++;
				if (p >= end || *p < '0' || *p > '9')
					return -1;
				while (p < end && *p >= '0' && *p <= '9' && v < 1000000)
					v = v * 10 + (*p++ - '0');
				return v;
			}
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (!depth)
				return -1; /* the end of "event" */
			depth--;
		}
		p++;
	}
	return -1;
}

size_t hw_syslog__format(char kind, const char *line, size_t linelen, const char *host,
			 unsigned int pid, char *out, size_t outlen)
{
	char hdr[HW_SYSLOG_OVERHEAD], ts[40], hn[256], pre[24];
	int sev = 6, hlen, plen;
	size_t i, total;

	if (kind == 'a')
		sev = alert_severity(line, linelen) >= 99 ? 2 : 4;
	if (!timestamp(line, linelen, ts))
		snprintf(ts, sizeof(ts), "-");
	for (i = 0; host && host[i] && i < sizeof(hn) - 1; i++)
		hn[i] = host[i] > 32 && host[i] < 127 ? host[i] : '_';
	hn[i] = 0;
	if (!i)
		snprintf(hn, sizeof(hn), "-");
	hlen = snprintf(hdr, sizeof(hdr), "<%d>1 %s %s hopwatch %u %s - ",
			HW_SYSLOG_FACILITY * 8 + sev, ts, hn, pid, kind == 'a' ? "alert" : "event");
	plen = snprintf(pre, sizeof(pre), "%zu ", (size_t)hlen + linelen);
	total = (size_t)plen + (size_t)hlen + linelen;
	if (outlen <= total) {
		if (outlen)
			out[0] = 0;
		return total;
	}
	memcpy(out, pre, (size_t)plen);
	memcpy(out + plen, hdr, (size_t)hlen);
	memcpy(out + plen + hlen, line, linelen);
	out[total] = 0;
	return total;
}
