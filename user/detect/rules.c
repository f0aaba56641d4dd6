/* The rules (docs/rules.md). Each judges kernel facts the model holds — lineage, sessions,
 * sockets, descriptors — and fires once per entity (session, process, connection, source). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine_int.h"
#include "lib/attack.h"
#include "lib/mem.h"
#include "lib/str.h"

const char *hw_rules__pname(const struct hw_eproc *p)
{
	return p->name[0] ? p->name : p->exe[0] ? hw_str__base_name(p->exe) : "?";
}

void hw_rules__chain(struct hw_engine *e, struct hw_alert *a, struct hw_eproc *p, char *buf,
		     size_t len)
{
	struct hw_eproc *v[HW_ALERT_CHAIN];
	int n = 0;
	size_t off = 0;

	if (buf && len)
		buf[0] = 0;
	for (struct hw_eproc *q = p; q && n < HW_ALERT_CHAIN; q = hw_engine__proc(e, q->parent))
		v[n++] = q;
	a->nchain = n;
	for (int i = 0; i < n; i++) {
		a->chain[i] = hw_rules__pname(v[n - 1 - i]);
		a->chain_ids[i] = v[n - 1 - i]->node.key;
		if (buf && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " → " : "",
						a->chain[i]);
	}
	if (p) {
		a->entity_id = p->node.key;
		a->executable = p->exe;
		a->pid = p->pid;
	}
}

static void session_context(struct hw_alert *a, const struct hw_esession *s)
{
	if (!s)
		return;
	a->session_id = s->node.key;
	a->user = s->user;
	a->service = s->service;
	a->source_ip = s->client.ip;
	a->source_port = s->client.port;
}

/* --- what a program is, by its executable ------------------------------------------------ */

static int in_list(const char *name, const char *const *list)
{
	/* every exec is checked against these lists: the first byte first, no call */
	for (; *list; list++)
		if ((*list)[0] == name[0] && !strcmp(name, *list))
			return 1;
	return 0;
}

/* name followed only by digits and dots: python3.11, php8.2 */
static int versioned(const char *name, const char *stem)
{
	size_t n;

	if (name[0] != stem[0])
		return 0;
	n = strlen(stem);
	if (strncmp(name, stem, n))
		return 0;
	for (name += n; *name; name++)
		if ((*name < '0' || *name > '9') && *name != '.')
			return 0;
	return 1;
}

static const char *exe_name(const struct hw_eproc *p)
{
	return p->exe[0] ? hw_str__base_name(p->exe) : p->name;
}

/* A command shell (an interpreter is judged apart: the web application may be one) */
static int is_shell(const struct hw_eproc *p)
{
	static const char *const shells[] = {"sh",    "bash",	 "dash", "zsh",	 "ksh",
					     "mksh",  "ash",	 "fish", "tcsh", "csh",
					     "rbash", "busybox", "pwsh", NULL};

	return in_list(exe_name(p), shells);
}

static int is_interpreter(const struct hw_eproc *p)
{
	const char *n = exe_name(p);

	return versioned(n, "python") || versioned(n, "perl") || versioned(n, "ruby") ||
	       versioned(n, "php") || versioned(n, "lua") || versioned(n, "node") ||
	       versioned(n, "tclsh");
}

static int is_recon(const struct hw_eproc *p)
{
	static const char *const tools[] = {
	    "id",     "whoami", "uname", "hostname", "ifconfig", "ip",		"netstat",
	    "ss",     "ps",	"w",	 "who",	     "groups",	 "arp",		"route",
	    "getent", "last",	"users", "nslookup", "dig",	 "lsb_release", NULL};

	return in_list(p->exe[0] ? hw_str__base_name(p->exe) : p->name, tools);
}

/* A program dropped somewhere anyone can write, or one without a file (memfd, deleted). */
static int is_dropped(const struct hw_eproc *p)
{
	return (p->flags & EP_UNLINKED) || !strncmp(p->exe, "/tmp/", 5) ||
	       !strncmp(p->exe, "/var/tmp/", 9) || !strncmp(p->exe, "/dev/shm/", 9);
}

/* A remote-access service (detect.remote_services) by its trusted executable: a copy named
 * sshd anywhere a user can write is any other program. */
static int is_service_binary(const struct hw_engine *e, const struct hw_eproc *p)
{
	return p && hw_engine__match(&e->cfg->remote_services, p->exe, p->flags & EP_TRUSTED);
}

/* In the process's allowlist l: its trusted executable by path or name. */
static int allowed(const struct hw_str_list *l, const struct hw_eproc *p)
{
	return p && hw_engine__match(l, p->exe, p->flags & EP_TRUSTED);
}

/* p belongs to a login the kernel confirmed: only such a session exempts its processes (a
 * session an unprivileged program made up with libpam exempts nothing). */
static int in_verified_session(struct hw_engine *e, const char *session)
{
	struct hw_esession *s = session && session[0] ? hw_engine__session(e, session) : NULL;

	return s && s->verified;
}

/* A session the rules judge: one with a login (or found by the snapshot). */
static struct hw_esession *session_of(struct hw_engine *e, const struct hw_eproc *p,
				      const struct hw_fact *f)
{
	const char *id = f && f->session_id[0] ? f->session_id : p ? p->session : NULL;

	return hw_engine__session(e, id);
}

/* --- reverse-shell and service-shell: on exec (and processes found at start) ----------------- */

/* The far end of a shell on a connection into the alert: the destination of a shell that
 * connected out, the source of one that was connected to (a bind shell); " to ip:port" or
 * " from ip:port" into peer for the message. */
static void far_end(struct hw_alert *a, const struct hw_fact_ep *local,
		    const struct hw_fact_ep *remote, int ingress, const char *conn, char *peer,
		    size_t len)
{
	const struct hw_fact_ep *src = ingress ? remote : local, *dst = ingress ? local : remote;

	a->source_ip = src->ip;
	a->source_port = src->port;
	a->destination_ip = dst->ip;
	a->destination_port = dst->port;
	if (conn && conn[0]) {
		a->connection_id = conn;
		a->related_ids[a->nrelated++] = conn;
	}
	snprintf(peer, len, strchr(remote->ip, ':') ? " %s [%s]:%u" : " %s %s:%u",
		 ingress ? "from" : "to", remote->ip, remote->port);
}

static void reverse_shell(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_eproc *parent = hw_engine__proc(e, p->parent);
	int in0 = f->stdio[0], out1 = f->stdio[1];
	struct hw_alert a = {0};
	char ch[256], how[160], peer[HW_FACT_IP_LEN + 16];

	if (p->flags & EP_FIRED_REVERSE)
		return;
	/* a child sharing its parent's descriptors: the parent's alert covers it (the parent
	 * may be judged after it when both were found by the snapshot) */
	if (parent && ((parent->flags & EP_FIRED_REVERSE) ||
		       ((parent->flags & EP_JUDGE_LATER) && parent->stdio[0] == in0 &&
			parent->stdio[1] == out1))) {
		if (hw_stdio_is_socket(in0) || hw_stdio_is_socket(out1)) {
			p->flags |= EP_FIRED_REVERSE;
			return;
		}
	}
	if (in0 == HW_IO_TCP || out1 == HW_IO_TCP || in0 == HW_IO_UDP || out1 == HW_IO_UDP) {
		/* sshd's pre-login re-exec (and inetd-style services re-executing themselves) run
		 * with the accepted socket on stdin: a service binary started by a service */
		if (is_service_binary(e, p) && (p->flags & EP_ROOT) &&
		    (!parent || is_service_binary(e, parent)))
			return;
		/* an inetd-style service re-executing itself (not a shell or an interpreter a
		 * bind shell could be) */
		if (parent && (parent->flags & EP_LISTENER) && (p->flags & EP_TRUSTED) &&
		    !is_shell(p) && !is_interpreter(p) && !strcmp(parent->exe, p->exe))
			return;
		snprintf(how, sizeof(how), "its standard %s on a %s socket",
			 in0 == HW_IO_TCP || in0 == HW_IO_UDP ? "input" : "output",
			 in0 == HW_IO_TCP || out1 == HW_IO_TCP ? "TCP" : "UDP");
	} else if ((in0 == HW_IO_UNIX || in0 == HW_IO_PTY || out1 == HW_IO_UNIX ||
		    out1 == HW_IO_PTY) &&
		   parent && parent->open_conns && !(parent->flags & EP_EXITED)) {
		/* socat EXEC, python pty.spawn: the parent holds the connection and relays to the
		 * child over a socketpair or a pty. Remote-access services do exactly this for
		 * their logins: they are not reverse shells. */
		if (is_service_binary(e, parent) &&
		    ((parent->flags & EP_ROOT) || in_verified_session(e, parent->session)))
			return;
		snprintf(how, sizeof(how),
			 "its standard %s on a %s whose other end is %s (pid %u), which holds a "
			 "network connection",
			 in0 == HW_IO_UNIX || in0 == HW_IO_PTY ? "input" : "output",
			 (in0 == HW_IO_PTY || out1 == HW_IO_PTY) ? "pty" : "socketpair",
			 hw_rules__pname(parent), parent->pid);
	} else {
		return;
	}
	p->flags |= EP_FIRED_REVERSE;
	a.rule_id = "reverse-shell";
	a.rule_name = "Reverse shell";
	hw_alert__severity(&a, HW_SEV_CRITICAL);
	hw_alert__technique(&a, "T1059.004");
	hw_alert__technique(&a, "T1071");
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	session_context(&a, session_of(e, p, f));
	/* the other end: the socket on its stdio, or the connection its relaying parent holds */
	peer[0] = 0;
	if (f->stdio_remote.ip[0])
		far_end(&a, &f->stdio_local, &f->stdio_remote, f->stdio_ingress, f->stdio_conn,
			peer, sizeof(peer));
	else if (parent && parent->net && parent->net->last_remote.ip[0])
		far_end(&a, &parent->net->last_local, &parent->net->last_remote,
			parent->net->last_ingress, parent->net->last_conn, peer, sizeof(peer));
	snprintf(a.message, sizeof(a.message), "%s (pid %u) runs with %s: a reverse shell%s (%s)",
		 hw_rules__pname(p), p->pid, how, peer, ch);
	hw_engine__emit(e, &a, p->node.key);
}

static void service_shell(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_eproc *q = hw_engine__proc(e, p->parent);
	struct hw_alert a = {0};
	char ch[256];
	const char *what;

	if (!is_shell(p) && !is_recon(p) && !is_dropped(p) && !is_interpreter(p))
		return;
	if (in_verified_session(e, p->session))
		return; /* a remote login's own processes */
	for (int depth = 0; q && depth < 12; depth++, q = hw_engine__proc(e, q->parent)) {
		if (in_verified_session(e, q->session) || q->pid == 1 || is_service_binary(e, q) ||
		    is_shell(q))
			return;
		if (!(q->flags & EP_LISTENER))
			continue;
		if (allowed(&e->cfg->allow_services, q) || (q->flags & EP_FIRED_SERVICE))
			return;
		/* an application server starting workers of its own interpreter */
		if (!is_shell(p) && !is_recon(p) && !is_dropped(p) && !strcmp(p->exe, q->exe))
			return;
		q->flags |= EP_FIRED_SERVICE;
		what = is_shell(p)     ? "a shell"
		       : is_recon(p)   ? "a reconnaissance tool"
		       : is_dropped(p) ? "a program from a writable or deleted file"
				       : "an interpreter";
		a.rule_id = "service-shell";
		a.rule_name = "Network service starts a shell";
		hw_alert__severity(&a, HW_SEV_HIGH);
		hw_alert__technique(&a, "T1505.003");
		hw_alert__technique(&a, "T1190");
		hw_rules__chain(e, &a, p, ch, sizeof(ch));
		a.related_ids[a.nrelated++] = q->node.key;
		snprintf(a.message, sizeof(a.message),
			 "network service %s (pid %u, listening) started %s, %s: a web shell or an "
			 "exploited service (%s)",
			 hw_rules__pname(q), q->pid, what,
			 f->executable[0] ? f->executable : hw_rules__pname(p), ch);
		hw_engine__emit(e, &a, q->node.key);
		return;
	}
}

void hw_rules__exec(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	reverse_shell(e, f, p);
	service_shell(e, f, p);
}

/* --- lateral-movement, admin-fanout, tunnel (relays, forwarding): on connect -------------- */

static void lateral(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p,
		    struct hw_esession *s)
{
	struct hw_alert a = {0};
	char dest[HW_FACT_IP_LEN + 8], ch[256];
	int via_service = is_service_binary(e, p);

	if (!s || s->allowed)
		return;
	snprintf(dest, sizeof(dest), "%s:%u", f->dst.ip, f->dst.port);
	for (int i = 0; i < s->nlateral; i++)
		if (!strcmp(s->lateral[i], dest))
			return;
	/* beyond HW_LATERAL_MAX destinations the session has said enough (admin-fanout too) */
	if (hw_engine__grow(e, (void **)&s->lateral, &s->cap_lateral, s->nlateral,
			    sizeof(s->lateral[0]), HW_LATERAL_MAX))
		return;
	snprintf(s->lateral[s->nlateral++], sizeof(s->lateral[0]), "%s", dest);
	a.rule_id = "lateral-movement";
	a.rule_name = "Lateral movement from a remote session";
	hw_alert__severity(&a, HW_SEV_HIGH);
	hw_alert__technique(&a, "T1021");
	hw_alert__technique(&a, hw_attack__port_technique(f->dst.port));
	if (via_service) {
		hw_alert__technique(&a, "T1572");
		hw_alert__technique(&a, "T1090.001");
	}
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	session_context(&a, s);
	a.destination_ip = f->dst.ip;
	a.destination_port = f->dst.port;
	a.connection_id = f->conn_id;
	snprintf(a.message, sizeof(a.message), "%s, logged in over %s from %s, %s %s:%u%s%s (%s)",
		 s->user[0] ? s->user : "a user", s->service[0] ? s->service : "a remote session",
		 s->client.ip, f->failure ? "tried to connect to" : "connected to", f->dst.ip,
		 f->dst.port,
		 via_service ? " through the session's own service process (ssh -W / ProxyJump)"
			     : " from this host",
		 f->failure ? " (it failed)" : "", ch);
	{
		char key[HW_SMAP_KEY_LEN + sizeof(dest)];

		snprintf(key, sizeof(key), "%s/%s", s->node.key, dest);
		hw_engine__emit(e, &a, key);
	}
}

static void fanout(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p,
		   struct hw_esession *s)
{
	const char *key = s ? s->node.key : p ? p->node.key : NULL;
	unsigned long long from =
	    e->now > e->cfg->fanout_window_ns ? e->now - e->cfg->fanout_window_ns : 0;
	struct hw_efanout *fo;
	struct hw_alert a = {0};
	char ch[256];
	int distinct = 0, k = 0;

	if (!key || (s && s->allowed))
		return;
	fo = (struct hw_efanout *)hw_smap__get(&e->fanout, key);
	if (!fo) {
		if (hw_smap__count(&e->fanout) >= HW_TABLE_MAX) {
			e->table_full++;
			return;
		}
		fo = hw_zalloc(sizeof(*fo));
		if (!fo || hw_smap__put(&e->fanout, &fo->node, key)) {
			free(fo);
			return;
		}
	}
	/* drop what left the window, then add this host (once: a host already seen only
	 * refreshes its time) */
	for (int i = 0; i < fo->n; i++)
		if (fo->hosts[i].ts >= from && strcmp(fo->hosts[i].ip, f->dst.ip))
			fo->hosts[k++] = fo->hosts[i];
	fo->n = k;
	if (hw_engine__grow(e, (void **)&fo->hosts, &fo->cap, fo->n, sizeof(fo->hosts[0]),
			    HW_FANOUT_MAX)) {
		if (!fo->n)
			return; /* out of memory */
		/* full (or out of memory): the oldest goes */
		memmove(fo->hosts, fo->hosts + 1, sizeof(fo->hosts[0]) * (size_t)(fo->n - 1));
		fo->n--;
	}
	fo->hosts[fo->n].ts = f->ts;
	snprintf(fo->hosts[fo->n].ip, sizeof(fo->hosts[0].ip), "%s", f->dst.ip);
	fo->n++;
	if (f->failure)
		fo->failures++;
	distinct = fo->n;
	if (fo->fired || (unsigned int)distinct < e->cfg->fanout_hosts)
		return;
	fo->fired = 1;
	a.rule_id = "admin-fanout";
	a.rule_name = "Fan-out to admin ports of many hosts";
	hw_alert__severity(&a, HW_SEV_HIGH);
	hw_alert__technique(&a, "T1046");
	hw_alert__technique(&a, "T1021");
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	session_context(&a, s);
	a.count = (unsigned int)distinct;
	for (int i = 0; i < fo->n && a.nhosts < 16; i++)
		a.hosts[a.nhosts++] = fo->hosts[i].ip;
	a.destination_ip = f->dst.ip;
	a.destination_port = f->dst.port;
	snprintf(a.message, sizeof(a.message),
		 "%s%s%s reached admin ports of %d internal hosts within %llus (%d connects "
		 "failed): a scan or credential spraying (%s)",
		 s ? "the remote session of " : "", s ? (s->user[0] ? s->user : "a user") : "",
		 s   ? ""
		 : p ? hw_rules__pname(p)
		     : "a process",
		 distinct, e->cfg->fanout_window_ns / NS_PER_SEC, fo->failures, ch);
	hw_engine__emit(e, &a, key);
}

static void tunnel_alert(struct hw_engine *e, struct hw_eproc *p, struct hw_esession *s,
			 const char *how, const struct hw_fact *f, const char *related, int relay)
{
	struct hw_alert a = {0};
	char ch[256];

	a.rule_id = "tunnel";
	a.rule_name = relay ? "Connection relay" : "Port forwarding in a remote session";
	hw_alert__severity(&a, HW_SEV_HIGH);
	hw_alert__technique(&a, "T1572");
	hw_alert__technique(&a, relay ? "T1090.001" : "T1090");
	hw_rules__chain(e, &a, p, ch, sizeof(ch));
	session_context(&a, s);
	if (f->dst.ip[0] && f->kind == HW_F_CONNECT) {
		a.destination_ip = f->dst.ip;
		a.destination_port = f->dst.port;
		a.connection_id = f->conn_id;
	}
	if (related && related[0])
		a.related_ids[a.nrelated++] = related;
	snprintf(a.message, sizeof(a.message), "%s (%s)", how, ch);
	hw_engine__emit(e, &a, p->node.key);
}

static void relay(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p,
		  struct hw_esession *s)
{
	struct hw_eproc *q = p, *parent = hw_engine__proc(e, p->parent);
	char how[400];

	/* the acceptor itself, or the child it forked for the connection (socat fork) */
	if (!hw_eproc__accepted_ts(q) && parent && hw_eproc__accepted_ts(parent))
		q = parent;
	/* accepted_ts set: q->net is there */
	if (!hw_eproc__accepted_ts(q) || f->ts < q->net->accepted_ts ||
	    f->ts - q->net->accepted_ts > HW_RELAY_WINDOW_NS || (q->flags & EP_FIRED_RELAY) ||
	    !strcmp(q->net->accepted_peer, f->dst.ip) || is_service_binary(e, q) || q->pid == 1 ||
	    allowed(&e->cfg->allow_relays, q) || allowed(&e->cfg->allow_relays, p))
		return;
	q->flags |= EP_FIRED_RELAY;
	snprintf(how, sizeof(how),
		 "%s (pid %u) accepted a connection from %s and %s connected on to %s:%u within a "
		 "second: a relay or tunnel",
		 hw_rules__pname(q), q->pid, q->net->accepted_peer, q == p ? "then" : "its child",
		 f->dst.ip, f->dst.port);
	tunnel_alert(e, p, s, how, f, q->net->accepted_conn, 1);
}

void hw_rules__connect(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_esession *s = session_of(e, p, f);
	int other_host = !hw_engine__loopback(f->dst.ip) && strcmp(f->dst.ip, f->src.ip) &&
			 (!s || strcmp(f->dst.ip, s->server.ip));

	if (!other_host || !f->egress)
		return;
	if (hw_engine__internal(e, f->dst.ip) && hw_engine__admin_port(e, f->dst.port)) {
		lateral(e, f, p, s);
		fanout(e, f, p, s);
	}
	if (!p || f->failure)
		return;
	/* a logged-in session's service process connecting out forwards for its client
	 * (ssh -L / -D / -W on the server side) */
	if (s && !s->allowed && is_service_binary(e, p) && !(p->flags & EP_FIRED_TUNNEL)) {
		char how[400];

		p->flags |= EP_FIRED_TUNNEL;
		snprintf(how, sizeof(how),
			 "the %s session of %s from %s forwards a connection to %s:%u through its "
			 "service process (ssh -L/-D/-W)",
			 s->service, s->user[0] ? s->user : "a user", s->client.ip, f->dst.ip,
			 f->dst.port);
		tunnel_alert(e, p, s, how, f, NULL, 0);
	}
	relay(e, f, p, s);
}

/* --- tunnel: a forwarding listener inside a session ------------------------------------ */

void hw_rules__listen(struct hw_engine *e, const struct hw_fact *f, struct hw_eproc *p)
{
	struct hw_esession *s = session_of(e, p, f);
	char how[400];
	const char *kind;

	if (!s || s->allowed || (p->flags & EP_FIRED_TUNNEL))
		return;
	if (is_service_binary(e, p))
		kind = "its service process listens for a remote forward (ssh -R)";
	else if (p->open_egress)
		kind = "a program with a connection to another host listens for a local "
		       "forward (ssh -L/-D)";
	else
		return;
	p->flags |= EP_FIRED_TUNNEL;
	snprintf(how, sizeof(how), "in the %s session of %s from %s, %s on %s:%u", s->service,
		 s->user[0] ? s->user : "a user", s->client.ip, kind,
		 f->src.ip[0] ? f->src.ip : "*", f->src.port);
	tunnel_alert(e, p, s, how, f, NULL, 0);
}

/* --- brute-force: failed logins from one source --------------------------------------- */

/* Is name one of the ", "-separated items of list? */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *s = list; *s;) {
		const char *end = strstr(s, ", ");
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (len == n && !memcmp(s, name, n))
			return 1;
		if (!end)
			break;
		s = end + 2;
	}
	return 0;
}

void hw_rules__login(struct hw_engine *e, const struct hw_fact *f)
{
	unsigned long long from =
	    e->now > e->cfg->bruteforce_window_ns ? e->now - e->cfg->bruteforce_window_ns : 0;
	struct hw_ebrute *b;
	struct hw_alert a = {0};
	int k = 0;

	if (!f->src.ip[0])
		return;
	b = (struct hw_ebrute *)hw_smap__get(&e->brute, f->src.ip);
	if (!f->failure) {
		/* a success after the alert: the guessing worked */
		if (!b || !b->fired || b->fired_success)
			return;
		b->fired_success = 1;
		a.rule_id = "brute-force";
		a.rule_name = "Brute force, then a successful login";
		hw_alert__severity(&a, HW_SEV_CRITICAL);
		hw_alert__technique(&a, "T1110.001");
		hw_alert__technique(&a, "T1078");
		a.session_id = f->session_id;
		a.user = f->user;
		a.service = f->service;
		a.source_ip = f->src.ip;
		a.count = (unsigned int)b->n;
		snprintf(
		    a.message, sizeof(a.message),
		    "after %d failed logins from %s (users tried: %s), %s logged in from there "
		    "over %s",
		    b->n, f->src.ip, b->users[0] ? b->users : "unknown",
		    f->user[0] ? f->user : "a user", f->service[0] ? f->service : "a service");
		hw_engine__emit(e, &a, f->session_id);
		return;
	}
	if (!b) {
		if (hw_smap__count(&e->brute) >= HW_TABLE_MAX) {
			e->table_full++;
			return;
		}
		b = hw_zalloc(sizeof(*b));
		if (!b || hw_smap__put(&e->brute, &b->node, f->src.ip)) {
			free(b);
			return;
		}
	}
	for (int i = 0; i < b->n; i++)
		if (b->ts[i] >= from)
			b->ts[k++] = b->ts[i];
	b->n = k;
	if (b->n == HW_BRUTE_MAX) {
		memmove(b->ts, b->ts + 1, sizeof(b->ts[0]) * (HW_BRUTE_MAX - 1));
		b->n--;
	}
	b->ts[b->n++] = f->ts;
	b->last = f->ts;
	if (f->user[0] && !listed(b->users, f->user) &&
	    strlen(b->users) + strlen(f->user) + 3 < sizeof(b->users))
		snprintf(b->users + strlen(b->users), sizeof(b->users) - strlen(b->users), "%s%s",
			 b->users[0] ? ", " : "", f->user);
	if (b->fired || (unsigned int)b->n < e->cfg->bruteforce_failures)
		return;
	b->fired = 1;
	a.rule_id = "brute-force";
	a.rule_name = "Brute force of a login service";
	hw_alert__severity(&a, HW_SEV_MEDIUM);
	hw_alert__technique(&a, "T1110.001");
	a.source_ip = f->src.ip;
	a.service = f->service;
	a.count = (unsigned int)b->n;
	snprintf(a.message, sizeof(a.message),
		 "%d failed logins from %s within %llus over %s (users tried: %s)", b->n, f->src.ip,
		 e->cfg->bruteforce_window_ns / NS_PER_SEC,
		 f->service[0] ? f->service : "a service", b->users[0] ? b->users : "unknown");
	hw_engine__emit(e, &a, f->src.ip);
}

/* --- timed rules: long-session, long-connection ---------------------------------------- */

void hw_rules__format_age(unsigned long long ns, char *buf, size_t len)
{
	unsigned long long s = ns / NS_PER_SEC;

	if (s >= 86400)
		snprintf(buf, len, "%llud %lluh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lluh %llum", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%llum %llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%llus", s);
}

static void long_session(struct hw_snode *n, void *ctx)
{
	struct hw_engine *e = ctx;
	struct hw_esession *s = (struct hw_esession *)n;
	struct hw_alert a = {0};
	char age[32], idle[32];

	if (s->fired_long || e->now < s->start || e->now - s->start < e->cfg->long_session_ns)
		return;
	s->fired_long = 1;
	a.rule_id = "long-session";
	a.rule_name = "Long remote session";
	hw_alert__severity(&a, HW_SEV_MEDIUM);
	hw_alert__technique(&a, "T1133");
	hw_alert__technique(&a, "T1078");
	session_context(&a, s);
	a.destination_ip = s->server.ip;
	a.destination_port = s->server.port;
	a.age_ns = e->now - s->start;
	a.idle_ns = e->now > s->last_activity ? e->now - s->last_activity : 0;
	a.have_age = 1;
	a.bytes_in = s->bytes_in;
	a.bytes_out = s->bytes_out;
	a.have_bytes = s->have_bytes;
	if (s->handler[0])
		a.related_ids[a.nrelated++] = s->handler;
	hw_rules__format_age(a.age_ns, age, sizeof(age));
	hw_rules__format_age(a.idle_ns, idle, sizeof(idle));
	snprintf(a.message, sizeof(a.message),
		 "%s has been logged in over %s from %s for %s and is still connected (idle %s)",
		 s->user[0] ? s->user : "a user", s->service[0] ? s->service : "a remote session",
		 s->client.ip, age, idle);
	hw_engine__emit(e, &a, s->node.key);
}

static void long_connection(struct hw_snode *n, void *ctx)
{
	struct hw_engine *e = ctx;
	struct hw_econn *c = (struct hw_econn *)n;
	struct hw_eproc *p;
	struct hw_alert a = {0};
	char age[32], ch[256];

	if (c->fired_long || !c->egress || !c->remote_host || e->now < c->start ||
	    e->now - c->start < e->cfg->long_connection_ns)
		return;
	c->fired_long = 1;
	if (hw_engine__match(&e->cfg->allow_programs, c->exe, c->exe_trusted))
		return;
	p = hw_engine__proc(e, c->owner);
	a.rule_id = "long-connection";
	a.rule_name = "Long-lived outbound connection";
	hw_alert__severity(&a, HW_SEV_MEDIUM);
	hw_alert__technique(&a, "T1572");
	hw_alert__technique(&a, "T1071");
	ch[0] = 0;
	if (p)
		hw_rules__chain(e, &a, p, ch, sizeof(ch));
	a.entity_id = c->owner;
	a.executable = c->exe;
	a.pid = c->pid;
	session_context(&a, hw_engine__session(e, c->session));
	a.destination_ip = c->remote.ip;
	a.destination_port = c->remote.port;
	a.connection_id = c->node.key;
	a.age_ns = e->now - c->start;
	a.have_age = 1;
	a.idle_ns = e->now > c->last_seen ? e->now - c->last_seen : 0;
	a.bytes_out = c->local.bytes;
	a.bytes_in = c->remote.bytes;
	a.have_bytes = c->remote.have_bytes;
	hw_rules__format_age(a.age_ns, age, sizeof(age));
	snprintf(a.message, sizeof(a.message),
		 "%s (pid %u) has held a connection to %s:%u open for %s: a tunnel, VPN bridge or "
		 "implant channel unless the program is expected to%s%s%s",
		 c->exe[0] ? c->exe : "a process", c->pid, c->remote.ip, c->remote.port, age,
		 ch[0] ? " (" : "", ch, ch[0] ? ")" : "");
	hw_engine__emit(e, &a, c->node.key);
}

void hw_rules__tick(struct hw_engine *e)
{
	hw_smap__each(&e->sessions, long_session, e);
	hw_smap__each(&e->conns, long_connection, e);
}
