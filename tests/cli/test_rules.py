"""The detection rules, unit tier: small hand-written event streams in the agent's exact ECS
shapes (the Stream builder below follows user/output/ecs.c) replayed with `hopwatch replay`,
no root and no kernel. For each rule: a stream where it fires, once per entity however often
the trigger repeats, with its fields checked; and benign twins, the same stream with one thing
changed, where it does not. Then replay's own contract: malformed lines, missing files, stdin, alert
lines in the input, several hosts in one file."""
import base64
import calendar
import hashlib
import json
import os
import re
import time

import hw
from hw import check, check_eq, hopwatch

T0 = calendar.timegm((2026, 11, 27, 10, 0, 0)) * 10**9  # ns since the epoch
SEC = 10**9
SEVERITY = {21: "low", 47: "medium", 73: "high", 99: "critical"}

LOCAL_IP = "10.0.0.5"        # this host
CLIENT_IP = "203.0.113.5"    # a remote-login client (not internal)
ATTACKER_IP = "198.51.100.66"


# --- the event builder: the agent's ECS shapes (user/output/ecs.c), member order included ---

def rfc3339(ns):
    s, frac = divmod(ns, SEC)
    return "%s.%09dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)), frac)


def ident(*parts):
    """A 22-character id like the agent's entity, session and connection ids."""
    h = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return base64.urlsafe_b64encode(h).decode()[:22]


def ns_at(t):
    """Seconds after T0 (negative: before) to ns since the epoch."""
    return T0 + int(round(t * SEC))


SYSTEM_DIRS = ("/usr/", "/bin/", "/sbin/", "/lib/", "/opt/")


class Proc:
    """trusted: the agent's hopwatch.exe.trusted (a root-owned file in root-owned directories);
    by default true for the system directories, false elsewhere (/tmp, home directories)."""

    def __init__(self, stream, pid, exe, args, parent=None, user="root", uid=0, session=None,
                 start=0.0, trusted=None):
        self.pid, self.exe, self.args = pid, exe, list(args)
        self.trusted_override = trusted
        self.parent, self.user, self.uid, self.session = parent, user, uid, session
        self.eid = ident(stream.id_scope, "proc", pid, exe, start)
        self.start = ns_at(start)

    @property
    def name(self):
        return os.path.basename(self.exe)

    @property
    def trusted(self):
        if self.trusted_override is not None:
            return self.trusted_override
        return self.exe.startswith(SYSTEM_DIRS)


class Conn:
    def __init__(self, stream, local, remote, egress, start):
        self.local, self.remote, self.egress = local, remote, egress
        self.id = ident(stream.host_id, "conn", local, remote, start)
        self.start = ns_at(start)


class Session:
    def __init__(self, stream, user, client, server, handler, start, uid=1000, service="sshd",
                 verified=True):
        self.verified = verified  # hopwatch.login.verified
        self.user, self.uid, self.client, self.server = user, uid, client, server
        self.handler, self.service = handler, service
        self.id = ident(stream.host_id, "session", client, start)
        self.start = ns_at(start)


class Stream:
    """One host's events, each method appending one line exactly as the agent writes it."""

    def __init__(self, host_name="web-1", id_scope=None):
        self.host_name = host_name
        self.host_id = hashlib.md5(host_name.encode()).hexdigest()
        self.id_scope = id_scope or self.host_id  # entity ids are made from it
        self.boot_id = "40f3336f-ad2b-4ced-802e-6563d08179ed"
        self.lines = []
        self.pids = 4000

    # plumbing
    def add(self, obj):
        self.lines.append(json.dumps(obj, separators=(",", ":")))
        return obj

    def next_pid(self):
        self.pids += 1
        return self.pids

    def header(self, t, kind, category, type_, action, dataset, outcome=None, duration=None,
               boot=True, reason=None):
        ev = {"kind": kind, "category": [category], "type": [type_], "action": action,
              "dataset": dataset, "module": "hopwatch"}
        if outcome:
            ev["outcome"] = outcome
        if reason:
            ev["reason"] = reason
        if duration is not None:
            ev["duration"] = duration
        host = {"name": self.host_name, "id": self.host_id}
        if boot:
            host["boot"] = {"id": self.boot_id}
        return {"@timestamp": rfc3339(ns_at(t)), "event": ev, "host": host}

    def process_obj(self, p, exited=None):
        o = {"pid": p.pid, "entity_id": p.eid, "name": p.name, "executable": p.exe,
             "args": p.args, "args_count": len(p.args), "working_directory": "/",
             "start": rfc3339(p.start), "thread": {"id": p.pid}}
        if p.parent:
            o["parent"] = {"pid": p.parent.pid, "entity_id": p.parent.eid}
        if exited is not None:
            o["exit_code"] = 0
            o["end"] = rfc3339(ns_at(exited))
        return o

    def proc_members(self, ev, p, exited=None):
        ev["process"] = self.process_obj(p, exited)
        ev["user"] = {"id": str(p.uid), "name": p.user,
                      "effective": {"id": str(p.uid), "name": p.user}}
        ev["group"] = {"id": str(p.uid)}

    # agent
    def agent_started(self, t=0.0):
        ev = self.header(t, "state", "host", "info", "agent-started", "hopwatch.agent")
        ev["agent"] = {"type": "hopwatch", "version": "test"}
        ev["hopwatch"] = {"agent": {"pid": 99, "snapshot": {"processes": 1, "sockets": 0,
                                                             "sessions": 0}}}
        return self.add(ev)

    def tick(self, t):
        return self.add({"@timestamp": rfc3339(ns_at(t)),
                         "event": {"kind": "state", "action": "tick", "dataset": "hopwatch.agent",
                                   "module": "hopwatch"},
                         "host": {"name": self.host_name, "id": self.host_id}})

    def ticks(self, *times):
        for t in times:
            self.tick(t)

    # processes
    def proc_event(self, t, action, p, stdio=None, unlinked=False, exited=None,
                   stdio_socket=None):
        snapshot = action == "existing_process"
        ev = self.header(t, "state" if snapshot else "event", "process",
                         "info" if snapshot else "end" if action == "exit" else "start", action,
                         "hopwatch.process")
        self.proc_members(ev, p, exited)
        hwm = {"comm": p.name[:15]}
        if p.session:
            hwm["session"] = {"id": p.session.id}
        hwm["netns"] = 4026531833
        hwm["cgroup_id"] = 1
        if unlinked:
            hwm["exe_unlinked"] = True
        hwm["exe"] = {"uid": 0 if p.trusted else p.uid, "mode": "0755", "trusted": p.trusted}
        if stdio is not None and action in ("exec", "existing_process"):
            hwm["stdio"] = list(stdio)
        if stdio_socket is not None:
            hwm["stdio_socket"] = stdio_socket
        ev["hopwatch"] = hwm
        return self.add(ev)

    def existing(self, t, pid, exe, args=None, parent=None, **kw):
        p = Proc(self, pid, exe, args or [exe], parent, start=t - 100, **kw)
        self.proc_event(t, "existing_process", p, stdio=["unknown"] * 3)
        return p

    def fork(self, t, parent, pid=None):
        p = Proc(self, pid or self.next_pid(), parent.exe, parent.args, parent, parent.user,
                 parent.uid, parent.session, start=t, trusted=parent.trusted_override)
        self.proc_event(t, "fork", p)
        return p

    def exec(self, t, p, exe, args=None, stdio=("char", "pipe", "file"), unlinked=False,
             trusted=None, stdio_socket=None):
        p.exe, p.args = exe, list(args or [os.path.basename(exe)])
        p.trusted_override = trusted
        return self.proc_event(t, "exec", p, stdio=stdio, unlinked=unlinked,
                               stdio_socket=stdio_socket)

    def spawn(self, t, parent, exe, args=None, stdio=("char", "pipe", "file"), pid=None, **kw):
        """fork then exec, 1 ms apart"""
        p = self.fork(t, parent, pid)
        self.exec(t + 0.001, p, exe, args, stdio, **kw)
        return p

    def exit(self, t, p):
        return self.proc_event(t, "exit", p, exited=t)

    # network
    def net_event(self, t, action, p, src, dst, direction, conn=None, outcome=None, error=None,
                  bytes_=None, duration=None, closed_by=None):
        listen = action in ("listen", "existing_listener")
        state = action.startswith("existing_") or action == "connection_open"
        type_ = "info" if listen or state else "end" if action == "disconnect" else "start"
        ev = self.header(t, "state" if state else "event", "network", type_, action,
                         "hopwatch.network", outcome=outcome, duration=duration)
        ev["source"] = {"ip": src[0], "port": src[1]}
        if not listen:
            ev["destination"] = {"ip": dst[0], "port": dst[1]}
            if bytes_ is not None:
                ev["source"]["bytes"] = bytes_[0]
                ev["destination"]["bytes"] = bytes_[1]
        net = {"transport": "tcp", "type": "ipv6" if ":" in src[0] else "ipv4"}
        if not listen:
            net["direction"] = direction
        if bytes_ is not None:
            net["bytes"] = bytes_[0] + bytes_[1]
        ev["network"] = net
        if error:
            ev["error"] = {"code": error, "message": "Connection refused"}
        if p is not None:
            self.proc_members(ev, p)
        hwm = {}
        if p is not None and p.session:
            hwm["session"] = {"id": p.session.id}
        if conn is not None:
            c = {"id": conn.id, "start": rfc3339(conn.start)}
            if closed_by:
                c["closed_by"] = closed_by
            hwm["connection"] = c
        hwm["netns"] = 4026531833
        ev["hopwatch"] = hwm
        return self.add(ev)

    def connect(self, t, p, dst, ok=True, src=None):
        """connection_attempted; returns the connection (None for a failure)"""
        src = src or (LOCAL_IP if ":" not in dst[0] else "fd00::5", 40000 + len(self.lines))
        conn = Conn(self, src, dst, True, t) if ok else None
        self.net_event(t, "connection_attempted", p, src, dst, "egress", conn,
                       outcome="success" if ok else "failure",
                       error=None if ok else "ECONNREFUSED")
        return conn

    def accept(self, t, p, client, server):
        conn = Conn(self, server, client, False, t)
        self.net_event(t, "connection_accepted", p, client, server, "ingress", conn)
        return conn

    def _ends(self, conn):
        """source and destination of a connection's events: by direction"""
        return (conn.local, conn.remote) if conn.egress else (conn.remote, conn.local)

    def disconnect(self, t, p, conn, sent=100, received=200):
        src, dst = self._ends(conn)
        b = (sent, received) if conn.egress else (received, sent)
        return self.net_event(t, "disconnect", p, src, dst,
                              "egress" if conn.egress else "ingress", conn, bytes_=b,
                              duration=ns_at(t) - conn.start, closed_by="local")

    def conn_report(self, t, p, conn, sent, received, action="connection_open"):
        src, dst = self._ends(conn)
        b = (sent, received) if conn.egress else (received, sent)
        return self.net_event(t, action, p, src, dst, "egress" if conn.egress else "ingress",
                              conn, bytes_=b,
                              duration=ns_at(t) - conn.start if action == "connection_open"
                              else None)

    def existing_connection(self, t, p, local, remote, egress, start):
        conn = Conn(self, local, remote, egress, start)
        src, dst = self._ends(conn)
        self.net_event(t, "existing_connection", p, src, dst,
                       "egress" if egress else "ingress", conn)
        return conn

    def listen(self, t, p, ip="0.0.0.0", port=80):
        return self.net_event(t, "listen", p, (ip, port), None, None)

    # sessions (hw_ecs__session_event)
    def session_event(self, t, action, s, outcome=None, reason=None, auth_method=None,
                      user=True, failures=None):
        logout, state = action == "user_logout", action == "existing_session"
        ev = self.header(t, "state" if state else "event",
                         "session" if logout or state else "authentication",
                         "info" if state else "end" if logout else "start", action,
                         "hopwatch.session", outcome=outcome, reason=reason,
                         duration=ns_at(t) - s.start if logout else None)
        ev["user"] = {"id": str(s.uid), "name": s.user} if user else {}
        ev["source"] = {"ip": s.client[0], "port": s.client[1]}
        ev["destination"] = {"ip": s.server[0], "port": s.server[1]}
        ev["network"] = {"transport": "tcp", "type": "ipv6" if ":" in s.client[0] else "ipv4",
                         "direction": "ingress"}
        if s.handler:
            h = s.handler
            ev["process"] = {"pid": h.pid, "entity_id": h.eid, "name": h.name,
                             "executable": h.exe}
        sess = {"id": s.id, "service": s.service}
        if auth_method:
            sess["auth_method"] = auth_method
        sess["start"] = rfc3339(s.start)
        if action == "user_login" and outcome == "success":
            sess["login"] = rfc3339(ns_at(t))
        if failures:
            sess["auth_failures"] = failures
        ev["hopwatch"] = {"session": sess}
        if (action == "user_login" and outcome != "failure") or state:
            ev["hopwatch"]["login"] = {"verified": s.verified}
        return self.add(ev)

    def login(self, t, s):
        return self.session_event(t, "user_login", s, "success", auth_method="publickey")

    def login_failure(self, t, s, n=1):
        return self.session_event(t, "user_login", s, "failure", "authentication failed",
                                  auth_method="password", failures=n)

    def logout(self, t, s):
        return self.session_event(t, "user_logout", s, "success")

    def existing_session(self, t, s):
        return self.session_event(t, "existing_session", s)

    # common set-ups
    def sshd(self, t=0.0):
        """systemd and an sshd listening on :22, found by the start-up snapshot"""
        self.systemd = self.existing(t, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
        self.sshd_master = self.existing(t, 800, "/usr/sbin/sshd", ["sshd: /usr/sbin/sshd -D"],
                                         self.systemd)
        self.listen(t, self.sshd_master, "0.0.0.0", 22)
        return self.sshd_master

    def ssh_session(self, t, user="alice", client=(CLIENT_IP, 50022), server=(LOCAL_IP, 22),
                    login=True):
        """A remote login the way the agent reports it: sshd accepts, forks the connection's
        handler (in the session from its fork), which re-executes itself with the socket on
        stdin, logs the user in, and runs a login shell on a pty."""
        master = self.sshd_master
        self.accept(t, master, client, server)
        handler = Proc(self, self.next_pid(), master.exe, master.args, master, start=t)
        s = Session(self, user, client, server, handler, t)
        handler.session = s
        self.proc_event(t + 0.001, "fork", handler)
        self.exec(t + 0.002, handler, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D", "-R"],
                  stdio=("tcp", "tcp", "char"))
        if login:
            self.login(t + 0.5, s)
        user_proc = self.fork(t + 0.6, handler)
        user_proc.user, user_proc.uid = user, 1000
        shell = self.spawn(t + 0.7, user_proc, "/usr/bin/bash", ["-bash"],
                           stdio=("pty", "pty", "pty"))
        s.shell = shell
        return s


# --- running replay and reading its alerts ---

class Replay:
    def __init__(self, p):
        self.rc, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        self.alerts = [hw.parse_event(line) for line in p.stdout.splitlines()]
        self.errors = [line for line in p.stderr.splitlines()
                       if not line.startswith("hopwatch: replayed ")]

    def of(self, rule):
        return [a for a in self.alerts if hw.get(a, "rule.id") == rule]

    def rules(self):
        return [hw.get(a, "rule.id") for a in self.alerts]


def write_lines(lines, name="events.ndjson"):
    path = os.path.join(hw.tempdir("rules"), name)
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")
    return path


def replay(lines_or_stream, *sets, files=None, stdin=None):
    lines = getattr(lines_or_stream, "lines", lines_or_stream)
    args = ["replay", "-o", "json"]
    for s in sets:
        args += ["--set", s]
    if stdin is not None:
        args.append("-")
    else:
        args += files or [write_lines(lines)]
    return Replay(hopwatch(*args, input=stdin))


def run(stream, *sets):
    """Replays a well-formed stream: exit 0, no message but the summary; every alert checked
    for the fields all alerts carry."""
    r = replay(stream, *sets)
    check_eq(r.errors, [], "replay's messages on stderr")
    check_eq(r.rc, 0, "replay's exit status")
    check(re.search(r"^hopwatch: replayed %d lines: " % len(stream.lines), r.stderr, re.M),
          "summary line names %d lines: %r" % (len(stream.lines), r.stderr))
    for a in r.alerts:
        check_alert_common(a, stream)
    return r


def check_alert_common(a, stream):
    rid = hw.get(a, "rule.id")
    check_eq(hw.get(a, "event.kind"), "alert", "event.kind of an alert")
    check_eq(hw.get(a, "event.action"), rid, "event.action of %s" % rid)
    check_eq(hw.get(a, "event.category"), ["intrusion_detection"], "event.category")
    check_eq(hw.get(a, "rule.ruleset"), "hopwatch", "rule.ruleset")
    check_eq(hw.get(a, "threat.framework"), "MITRE ATT&CK", "threat.framework")
    check_eq(hw.get(a, "host.name"), stream.host_name, "host.name of %s" % rid)
    check_eq(hw.get(a, "host.id"), stream.host_id, "host.id of %s" % rid)
    sev = hw.get(a, "event.severity")
    check(sev in SEVERITY, "event.severity %r of %s" % (sev, rid))
    check_eq(hw.get(a, "hopwatch.alert.severity"), SEVERITY[sev], "severity name of %s" % rid)
    check(re.fullmatch(r"[0-9a-f]{16}", hw.get(a, "event.id", "")), "event.id %r" %
          hw.get(a, "event.id"))
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", a["@timestamp"]),
          "@timestamp %r" % a["@timestamp"])
    check(hw.get(a, "message"), "a message")


def only(alerts, what):
    check_eq(len(alerts), 1, "number of %s alerts (%s)" % (what, [a.get("message")
                                                                  for a in alerts]))
    return alerts[0]


def expect(a, fields):
    for k, v in fields.items():
        check_eq(hw.get(a, k), v, "%s of the %s alert" % (k, hw.get(a, "rule.id")))


def none_of(r, rule, why):
    check_eq([a.get("message") for a in r.of(rule)], [], "%s alerts when %s" % (rule, why))


# --- lateral-movement ---

def lateral_stream(dst=("10.0.0.7", 22), client_ip=CLIENT_IP, in_session=True, repeat=3):
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10, client=(client_ip, 50022))
    shell = sess.shell
    if not in_session:
        # the same programs, started by cron instead
        cron = s.existing(1, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"], s.systemd)
        shell = s.spawn(11, cron, "/usr/bin/bash", ["/bin/sh", "-c", "backup"])
    ssh = s.spawn(20, shell, "/usr/bin/ssh", ["ssh", "root@" + dst[0]])
    conns = [s.connect(21 + i, ssh, dst) for i in range(repeat)]
    return s, sess, shell, ssh, conns


def test_lateral_movement_fires_once_per_destination():
    s, sess, shell, ssh, conns = lateral_stream()
    # a second destination, on another admin port, from another process of the session
    rdp = s.spawn(30, shell, "/usr/bin/xfreerdp", ["xfreerdp", "/v:10.0.0.8"])
    c2 = s.connect(31, rdp, ("10.0.0.8", 3389))
    s.connect(32, rdp, ("10.0.0.8", 3389))
    r = run(s)
    alerts = r.of("lateral-movement")
    check_eq(len(alerts), 2, "lateral-movement alerts: one per destination (%s)" %
             [a["message"] for a in alerts])
    check_eq(r.rules(), ["lateral-movement"] * 2, "nothing else fires")
    a = alerts[0]
    expect(a, {
        "rule.name": "Lateral movement from a remote session",
        "event.severity": 73,
        "threat.technique.id": ["T1021", "T1021.004"],
        "message": "alice, logged in over sshd from 203.0.113.5, connected to 10.0.0.7:22 from "
                   "this host (systemd → sshd → sshd → sshd → bash → ssh)",
        "@timestamp": rfc3339(ns_at(21)),
        "hopwatch.session.id": sess.id,
        "hopwatch.session.service": "sshd",
        "user.name": "alice",
        "source.ip": CLIENT_IP,
        "source.port": 50022,
        "destination.ip": "10.0.0.7",
        "destination.port": 22,
        "hopwatch.connection.id": conns[0].id,
        "process.entity_id": ssh.eid,
        "process.pid": ssh.pid,
        "process.executable": "/usr/bin/ssh",
        "hopwatch.alert.process_chain": ["systemd", "sshd", "sshd", "sshd", "bash", "ssh"],
        "hopwatch.alert.process_chain_ids": [s.systemd.eid, s.sshd_master.eid,
                                             sess.handler.eid, shell.parent.eid, shell.eid,
                                             ssh.eid],
    })
    b = alerts[1]
    expect(b, {
        "threat.technique.id": ["T1021", "T1021.001"],
        "destination.ip": "10.0.0.8",
        "destination.port": 3389,
        "hopwatch.connection.id": c2.id,
        "process.entity_id": rdp.eid,
        "hopwatch.session.id": sess.id,
    })


def test_lateral_movement_failed_connect_says_so():
    s, _, _, ssh, _ = lateral_stream(repeat=0)
    s.connect(21, ssh, ("10.0.0.7", 22), ok=False)
    s.connect(22, ssh, ("10.0.0.7", 22), ok=False)
    a = only(run(s).of("lateral-movement"), "lateral-movement")
    check(a["message"].startswith("alice, logged in over sshd from 203.0.113.5, tried to "
                                  "connect to 10.0.0.7:22 from this host (it failed) ("),
          "message of a failed attempt: %r" % a["message"])
    check(hw.get(a, "hopwatch.connection.id") is None, "a failed attempt has no connection id")


def test_lateral_movement_through_the_session_service_process():
    """ssh -W / ProxyJump: the session's own sshd connects on to an admin port: lateral
    movement and port forwarding at once."""
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    c = s.connect(20, sess.handler, ("10.0.0.7", 22))
    r = run(s)
    check_eq(sorted(r.rules()), ["lateral-movement", "tunnel"], "alerts of a ProxyJump hop")
    a = only(r.of("lateral-movement"), "lateral-movement")
    expect(a, {
        "threat.technique.id": ["T1021", "T1021.004", "T1572", "T1090.001"],
        "message": "alice, logged in over sshd from 203.0.113.5, connected to 10.0.0.7:22 "
                   "through the session's own service process (ssh -W / ProxyJump) (systemd → "
                   "sshd → sshd)",
        "process.entity_id": sess.handler.eid,
        "hopwatch.connection.id": c.id,
    })
    t = only(r.of("tunnel"), "tunnel")
    expect(t, {"process.entity_id": sess.handler.eid, "hopwatch.connection.id": c.id})


def test_lateral_movement_many_destinations_once_each():
    """However many hosts a session reaches, each destination alerts once: a retry of the
    17th must not alert again."""
    s, _, _, ssh, _ = lateral_stream(repeat=0)
    dests = ["10.3.0.%d" % i for i in range(1, 21)]
    for rnd in range(3):
        for i, d in enumerate(dests):
            s.connect(100 + 100 * rnd + i, ssh, (d, 22))
    r = run(s, "detect.fanout_hosts=256")
    got = [hw.get(a, "destination.ip") for a in r.of("lateral-movement")]
    repeated = sorted(set(d for d in got if got.count(d) > 1))
    check_eq(repeated, [], "destinations alerted more than once (%d alerts for %d destinations "
             "reached 3 times each)" % (len(got), len(dests)))
    check(set(got) <= set(dests) and len(got) >= 16,
          "one alert for each destination remembered: %r" % got)


def test_alert_ids_are_unique():
    """event.id names one alert: two alerts of one session (two destinations; a burst and its
    successful login) must not share one, or a store keyed by it keeps only the last."""
    s, _, _, ssh, _ = lateral_stream(repeat=1)
    s.connect(40, ssh, ("10.0.0.8", 22))
    failures(s, 50, 5, src=CLIENT_IP)
    success_from(s, 70, src=CLIENT_IP)
    r = run(s)
    check_eq(sorted(r.rules()), ["brute-force", "brute-force", "lateral-movement",
                                 "lateral-movement"], "alerts")
    ids = [a["event"]["id"] for a in r.alerts]
    check_eq(len(set(ids)), len(ids), "distinct event.id values among %s" %
             [(hw.get(a, "rule.id"), hw.get(a, "destination.ip"), a["event"]["id"])
              for a in r.alerts])


def test_lateral_movement_benign_twins():
    cases = [
        ("the client is an allowed jump host", lateral_stream(),
         ["detect.allow_sources=203.0.113.0/24"]),
        ("the destination is loopback", lateral_stream(dst=("127.0.0.1", 22)), []),
        ("the destination is not internal", lateral_stream(dst=("198.51.100.7", 22)), []),
        ("the port is not an admin port", lateral_stream(dst=("10.0.0.7", 8080)), []),
        ("the destination is this host's own address",
         lateral_stream(dst=(LOCAL_IP, 22)), []),
        ("the process is not in a remote session", lateral_stream(in_session=False), []),
        ("port 22 is not in detect.admin_ports", lateral_stream(),
         ["detect.admin_ports=3389"]),
        ("the destination is outside detect.internal_nets", lateral_stream(),
         ["detect.internal_nets=192.168.0.0/16"]),
    ]
    for why, (s, *_), sets in cases:
        r = run(s, *sets)
        check_eq(r.rules(), [], "alerts when %s" % why)


# --- admin-fanout ---

def fanout_stream(hosts, port=22, gap=10.0, session=False, fail_first=False):
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    if session:
        sess = s.ssh_session(5)
        parent = sess.shell
    else:
        sess = None
        cron = s.existing(1, 600, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"], s.systemd)
        parent = s.spawn(2, cron, "/usr/bin/bash", ["/bin/sh", "-c", "sweep"])
    procs = []
    tool = None if session else s.spawn(9, parent, "/usr/bin/nc", ["nc", "-z"])
    for i, h in enumerate(hosts):
        t = 10 + gap * i
        p = tool or s.spawn(t - 1, parent, "/usr/bin/ssh", ["ssh", h])
        procs.append(p)
        s.connect(t, p, (h, port), ok=not (fail_first and i == 0))
    return s, sess, procs


def test_admin_fanout_process_fires_once():
    hosts = ["10.1.0.1", "10.1.0.2", "10.1.0.1", "10.1.0.3", "10.1.0.4", "10.1.0.5",
             "10.1.0.6"]
    s, _, procs = fanout_stream(hosts, port=445, fail_first=True)
    r = run(s, "detect.fanout_hosts=4")
    a = only(r.of("admin-fanout"), "admin-fanout")
    check_eq(r.rules(), ["admin-fanout"], "nothing else fires")
    nc = procs[0]
    expect(a, {
        "rule.name": "Fan-out to admin ports of many hosts",
        "event.severity": 73,
        "threat.technique.id": ["T1046", "T1021"],
        "message": "nc reached admin ports of 4 internal hosts within 600s (1 connects failed): "
                   "a scan or credential spraying (systemd → cron → bash → nc)",
        "@timestamp": rfc3339(ns_at(10 + 10 * 4)),  # the 4th distinct host (a repeat before)
        "hopwatch.alert.count": 4,
        "process.entity_id": nc.eid,
        "process.pid": nc.pid,
        "destination.ip": "10.1.0.4",
        "destination.port": 445,
        "hopwatch.alert.process_chain_ids": [s.systemd.eid, nc.parent.parent.eid,
                                             nc.parent.eid, nc.eid],
    })
    check_eq(sorted(hw.get(a, "hopwatch.alert.hosts")),
             ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"], "hosts of the alert")
    check(hw.get(a, "hopwatch.session") is None, "no session outside one")


def test_admin_fanout_session_counts_all_its_processes():
    hosts = ["10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4"]
    s, sess, procs = fanout_stream(hosts, port=22, session=True)
    r = run(s, "detect.fanout_hosts=3")
    a = only(r.of("admin-fanout"), "admin-fanout")
    check_eq(len(set(p.eid for p in procs)), 4, "one ssh process per host")
    expect(a, {
        "hopwatch.alert.count": 3,
        "hopwatch.session.id": sess.id,
        "user.name": "alice",
        "source.ip": CLIENT_IP,
        "process.entity_id": procs[2].eid,
        "destination.ip": "10.2.0.3",
    })
    check(a["message"].startswith("the remote session of alice reached admin ports of 3 "
                                  "internal hosts within 600s (0 connects failed)"),
          "message: %r" % a["message"])
    check_eq(len(r.of("lateral-movement")), 4, "lateral-movement alerts, one per host")


def test_admin_fanout_benign_twins():
    five = ["10.1.0.%d" % i for i in range(1, 6)]
    cases = [
        ("fanout_hosts - 1 hosts", fanout_stream(five[:4]), []),
        ("one host, again and again", fanout_stream(["10.1.0.1"] * 8), []),
        ("the hosts are spread wider than the window", fanout_stream(five, gap=20.0),
         ["detect.fanout_window=1m"]),
        ("the port is not an admin port", fanout_stream(five, port=80), []),
        ("the hosts are not internal", fanout_stream(["198.51.100.%d" % i
                                                      for i in range(1, 6)]), []),
        ("the hosts are loopback", fanout_stream(["127.0.0.%d" % i for i in range(1, 6)]), []),
        ("the session comes from an allowed jump host", fanout_stream(five, session=True),
         ["detect.allow_sources=203.0.113.5/32"]),
    ]
    for why, (s, *_), sets in cases:
        r = run(s, *sets)
        none_of(r, "admin-fanout", why)
    # the control: the spread-out hosts do alert within a wider window
    s, *_ = fanout_stream(five, gap=20.0)
    only(run(s, "detect.fanout_window=2m").of("admin-fanout"), "admin-fanout in a 2m window")


def threshold_beyond_memory(key, value):
    """A threshold above what the engine remembers (64 hosts, 64 failures) must either be
    refused, or be reached. Returns True when it is accepted."""
    p = hopwatch("replay", "--set", "%s=%d" % (key, value), "/dev/null")
    if p.returncode == 2:
        check(key in p.stderr, "the refusal names %s: %r" % (key, p.stderr))
        return False
    check_eq(p.returncode, 0, "replay of nothing with %s=%d" % (key, value))
    return True


def test_admin_fanout_threshold_above_64_hosts():
    if not threshold_beyond_memory("detect.fanout_hosts", 70):
        return
    s, *_ = fanout_stream(["10.4.%d.%d" % (i // 200, 1 + i % 200) for i in range(80)],
                                gap=1.0)
    only(run(s, "detect.fanout_hosts=60").of("admin-fanout"), "admin-fanout at 60 (control)")
    a = only(run(s, "detect.fanout_hosts=70").of("admin-fanout"),
             "admin-fanout when 80 hosts are reached and fanout_hosts is 70")
    check_eq(hw.get(a, "hopwatch.alert.count"), 70, "hosts counted")


# --- long-session ---

def session_stream():
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.spawn(600, sess.shell, "/usr/bin/vim", ["vim", "notes"])  # activity at 600 s
    return s, sess


def test_long_session_fires_once_while_open():
    s, sess = session_stream()
    s.ticks(1800, 3609.9, 3610, 3610.5, 7200)  # sshd accepted the session at 10
    r = run(s, "detect.long_session=1h")
    a = only(r.of("long-session"), "long-session")
    check_eq(r.rules(), ["long-session"], "nothing else fires")
    expect(a, {
        "rule.name": "Long remote session",
        "event.severity": 47,
        "threat.technique.id": ["T1133", "T1078"],
        "@timestamp": rfc3339(ns_at(3610)),  # the first tick at or after 1 h
        "message": "alice has been logged in over sshd from 203.0.113.5 for 1h 0m and is still "
                   "connected (idle 50m 9s)",
        "hopwatch.session.id": sess.id,
        "user.name": "alice",
        "source.ip": CLIENT_IP,
        "destination.ip": LOCAL_IP,
        "destination.port": 22,
        "hopwatch.alert.related_ids": [sess.handler.eid],
        "hopwatch.alert.idle": ns_at(3610) - ns_at(600.001),  # the last exec in it
    })
    # the session starts when sshd accepted it (hopwatch.session.start), not at the login
    check_eq(hw.get(a, "hopwatch.alert.age"), 3600 * SEC, "hopwatch.alert.age")


def test_long_session_benign_twins():
    s, sess = session_stream()
    s.logout(3000, sess)
    s.ticks(1800, 3000.5, 3611, 7200, 20000)
    none_of(run(s, "detect.long_session=1h"), "long-session", "the session ended before")
    s, sess = session_stream()
    s.ticks(1800, 3609)
    none_of(run(s, "detect.long_session=1h"), "long-session", "the stream ends before 1 h")
    s, sess = session_stream()
    s.ticks(1800, 3611, 7200)
    none_of(run(s), "long-session", "below the default of 8h")


def test_long_session_found_by_the_snapshot_fires_at_the_first_tick():
    s = Stream()
    s.agent_started(0)
    s.tick(0)
    s.sshd(0.001)
    handler = s.existing(0.002, 900, "/usr/sbin/sshd", ["sshd: bob [priv]"], s.sshd_master)
    sess = Session(s, "bob", ("198.51.100.4", 40404), (LOCAL_IP, 22), handler, -10 * 3600)
    s.existing_session(0.003, sess)
    s.ticks(1, 2, 3)
    r = run(s)  # the default 8h
    a = only(r.of("long-session"), "long-session")
    expect(a, {
        "@timestamp": rfc3339(ns_at(1)),
        "hopwatch.session.id": sess.id,
        "hopwatch.alert.age": (10 * 3600 + 1) * SEC,
        "hopwatch.alert.related_ids": [handler.eid],
        "message": "bob has been logged in over sshd from 198.51.100.4 for 10h 0m and is still "
                   "connected (idle 0s)",
    })


def test_timed_rules_fire_without_tick_lines():
    """An output file has no ticks: replay ticks at each event's own time."""
    s = Stream()
    s.sshd()
    sess = s.ssh_session(10)
    other = s.existing(11, 700, "/usr/sbin/cron", ["cron"], s.systemd)
    s.spawn(3000, other, "/usr/bin/true")
    s.spawn(3700, other, "/usr/bin/true")  # the first event past 1 h
    s.spawn(3800, other, "/usr/bin/true")
    check(not any('"tick"' in line for line in s.lines), "no tick lines in this stream")
    a = only(run(s, "detect.long_session=1h").of("long-session"), "long-session")
    expect(a, {"@timestamp": rfc3339(ns_at(3700)), "hopwatch.session.id": sess.id})


# --- long-connection ---

def conn_stream(dst=("198.51.100.20", 443), exe="/usr/bin/curl", close_at=None, ok=True):
    s = Stream()
    s.agent_started()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    sh = s.existing(0, 500, "/usr/bin/bash", ["bash"], init)
    p = s.spawn(10, sh, exe, [os.path.basename(exe), "https://" + dst[0]])
    conn = s.connect(11, p, dst, ok=ok)
    if conn:
        s.conn_report(611, p, conn, 1500, 90000)
    if close_at:
        s.disconnect(close_at, p, conn)
    return s, p, conn


def test_long_connection_fires_once():
    s, p, conn = conn_stream()
    s.ticks(1800, 3610, 3611, 3612, 9000)
    r = run(s, "detect.long_connection=1h")
    a = only(r.of("long-connection"), "long-connection")
    check_eq(r.rules(), ["long-connection"], "nothing else fires")
    expect(a, {
        "rule.name": "Long-lived outbound connection",
        "event.severity": 47,
        "threat.technique.id": ["T1572", "T1071"],
        "@timestamp": rfc3339(ns_at(3611)),
        "message": "/usr/bin/curl (pid %d) has held a connection to 198.51.100.20:443 open for "
                   "1h 0m: a tunnel, VPN bridge or implant channel unless the program is "
                   "expected to (systemd → bash → curl)" % p.pid,
        "hopwatch.connection.id": conn.id,
        "destination.ip": "198.51.100.20",
        "destination.port": 443,
        "process.entity_id": p.eid,
        "process.pid": p.pid,
        "process.executable": "/usr/bin/curl",
        "hopwatch.alert.age": 3600 * SEC,
        "hopwatch.alert.idle": 3000 * SEC,  # last reported at 611
        "hopwatch.alert.bytes_out": 1500,
        "hopwatch.alert.bytes_in": 90000,
        "hopwatch.alert.process_chain": ["systemd", "bash", "curl"],
    })


def test_long_connection_found_by_the_snapshot():
    s = Stream()
    s.agent_started()
    s.tick(0)
    agent = s.existing(0, 321, "/opt/implant/agent", ["agent"])
    conn = s.existing_connection(0.1, agent, (LOCAL_IP, 51000), ("198.51.100.99", 8443), True,
                                 -5 * 3600)
    s.ticks(1, 2)
    a = only(run(s).of("long-connection"), "long-connection")  # the default 4h
    expect(a, {"@timestamp": rfc3339(ns_at(1)), "hopwatch.connection.id": conn.id,
               "hopwatch.alert.age": (5 * 3600 + 1) * SEC})


def test_long_connection_benign_twins():
    cases = [
        ("the connection closed before", conn_stream(close_at=3599), []),
        ("the program is allowed by name", conn_stream(), ["detect.allow_programs=curl"]),
        ("the program is allowed by path", conn_stream(),
         ["detect.allow_programs=/usr/sbin/openvpn,/usr/bin/curl"]),
        ("the peer is loopback", conn_stream(dst=("127.0.0.1", 5432)), []),
        ("the connect failed", conn_stream(ok=False), []),
    ]
    for why, (s, *_), sets in cases:
        s.ticks(1800, 3611, 7200)
        none_of(run(s, "detect.long_connection=1h", *sets), "long-connection", why)
    # another path with the same base name is not the allowed program
    s, *_ = conn_stream(exe="/tmp/curl")
    s.ticks(3611)
    only(run(s, "detect.long_connection=1h", "detect.allow_programs=/usr/bin/curl")
         .of("long-connection"), "long-connection of /tmp/curl")
    # an inbound connection held long is not an outbound one
    s = Stream()
    s.tick(0)
    srv = s.existing(0, 700, "/usr/sbin/nginx", ["nginx"])
    s.listen(0, srv, "0.0.0.0", 443)
    s.accept(5, srv, ("198.51.100.3", 55555), (LOCAL_IP, 443))
    s.ticks(3611, 7200)
    none_of(run(s, "detect.long_connection=1h"), "long-connection", "the connection is inbound")


# --- reverse-shell ---

def test_reverse_shell_socket_on_stdin_fires_once():
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    web = s.existing(0, 700, "/usr/sbin/apache2", ["apache2"], init, user="www-data", uid=33)
    sh = s.spawn(10, web, "/usr/bin/bash", ["bash", "-i"], stdio=("tcp", "tcp", "tcp"))
    s.exec(11, sh, "/usr/bin/python3.11", ["python3"], stdio=("tcp", "tcp", "tcp"))
    kid = s.spawn(12, sh, "/usr/bin/id", ["id"], stdio=("tcp", "tcp", "tcp"))
    s.spawn(13, kid, "/usr/bin/uname", ["uname", "-a"], stdio=("tcp", "tcp", "tcp"))
    r = run(s)
    a = only(r.of("reverse-shell"), "reverse-shell")
    expect(a, {
        "rule.name": "Reverse shell",
        "event.severity": 99,
        "threat.technique.id": ["T1059.004", "T1071"],
        "@timestamp": rfc3339(ns_at(10.001)),
        "message": "bash (pid %d) runs with its standard input on a TCP socket: a reverse shell "
                   "(systemd → apache2 → bash)" % sh.pid,
        "process.entity_id": sh.eid,
        "process.pid": sh.pid,
        "process.executable": "/usr/bin/bash",
        "hopwatch.alert.process_chain": ["systemd", "apache2", "bash"],
        "hopwatch.alert.process_chain_ids": [init.eid, web.eid, sh.eid],
    })


def test_reverse_shell_udp_stdout():
    s = Stream()
    s.tick(0)
    cron = s.existing(0, 600, "/usr/sbin/cron", ["cron"])
    sh = s.spawn(10, cron, "/usr/bin/dash", ["sh"], stdio=("pipe", "udp", "udp"))
    a = only(run(s).of("reverse-shell"), "reverse-shell")
    check(a["message"].startswith("dash (pid %d) runs with its standard output on a UDP "
                                  "socket" % sh.pid), "message: %r" % a["message"])


def test_reverse_shell_found_by_the_snapshot():
    s = Stream()
    s.agent_started()
    s.tick(0)
    cron = s.existing(0, 600, "/usr/sbin/cron", ["cron"])
    sh = Proc(s, 3333, "/usr/bin/bash", ["bash", "-i"], cron, start=-50)
    s.proc_event(0.1, "existing_process", sh, stdio=["tcp", "tcp", "tcp"])
    s.tick(1)
    a = only(run(s).of("reverse-shell"), "reverse-shell")
    # judged at the tick after the snapshot, once what surrounds it is known
    expect(a, {"@timestamp": rfc3339(ns_at(1)), "process.entity_id": sh.eid,
               "process.pid": 3333})


def test_service_shell_and_pty_shell_found_by_the_snapshot():
    """Both need what the snapshot reports after the processes (listeners, connections):
    judged at the tick after the snapshot. A child of the snapshot's reverse shell, reported
    before it, adds no alert."""
    s = Stream()
    s.agent_started()
    s.tick(0)
    init = s.existing(0, 1, "/sbin/init", ["init"])
    web = s.existing(0, 700, "/usr/sbin/nginx", ["nginx"], parent=init)
    sh = s.existing(0, 701, "/usr/bin/dash", ["sh", "-c", "id"], parent=web)
    py = s.existing(0, 800, "/usr/bin/python3.11", ["python3"], parent=init)
    pty_sh = Proc(s, 801, "/usr/bin/bash", ["bash"], py, start=-30)
    s.proc_event(0, "existing_process", pty_sh, stdio=["pty", "pty", "pty"])
    rs = Proc(s, 900, "/usr/bin/bash", ["bash", "-i"], init, start=-50)
    child = Proc(s, 901, "/usr/bin/sleep", ["sleep", "99"], rs, start=-40)
    s.proc_event(0.1, "existing_process", child, stdio=["tcp", "tcp", "tcp"])
    s.proc_event(0.1, "existing_process", rs, stdio=["tcp", "tcp", "tcp"])
    s.listen(0.2, web, port=80)
    s.existing_connection(0.3, py, ("10.0.0.5", 40001), ("198.51.100.9", 4444), True, -20)
    s.tick(1)
    r = run(s)
    check_eq([hw.get(a, "process.entity_id") for a in r.of("service-shell")], [sh.eid],
             "service-shell of the shell under the listening nginx")
    got = sorted(hw.get(a, "process.entity_id") for a in r.of("reverse-shell"))
    check_eq(got, sorted([pty_sh.eid, rs.eid]), "reverse shells (not the child)")


def pty_stream(parent_exe="/usr/bin/python3.11", close=False):
    s = Stream()
    s.tick(0)
    cron = s.existing(0, 600, "/usr/sbin/cron", ["cron"])
    py = s.spawn(10, cron, parent_exe, [os.path.basename(parent_exe)])
    conn = s.connect(11, py, ("198.51.100.9", 4444))
    s.pty_conn = conn
    if close:
        s.disconnect(11.5, py, conn)
    sh = s.spawn(12, py, "/usr/bin/bash", ["bash"], stdio=("pty", "pty", "pty"))
    return s, py, sh


def test_reverse_shell_behind_a_pty():
    s, py, sh = pty_stream()
    a = only(run(s).of("reverse-shell"), "reverse-shell")
    expect(a, {
        "message": "bash (pid %d) runs with its standard input on a pty whose other end is "
                   "python3.11 (pid %d), which holds a network connection: a reverse shell "
                   "to 198.51.100.9:4444 (cron → python3.11 → bash)" % (sh.pid, py.pid),
        "process.entity_id": sh.eid,
        # the far end: the connection the relaying parent holds
        "destination.ip": "198.51.100.9",
        "destination.port": 4444,
        "source.ip": s.pty_conn.local[0],
        "source.port": s.pty_conn.local[1],
        "hopwatch.connection.id": s.pty_conn.id,
        "hopwatch.alert.related_ids": [s.pty_conn.id],
    })


def test_reverse_shell_benign_twins():
    # sshd's pre-login re-exec: the accepted socket on stdin, sshd started by sshd
    s = Stream()
    s.tick(0)
    s.sshd()
    s.ssh_session(10, login=False)
    s.ssh_session(20)  # and a full login, whose shell runs on a pty held by sshd
    r = run(s)
    check_eq(r.rules(), [], "alerts for sshd's re-exec and login shells")
    # the same re-exec without sshd as its parent is not excused
    s = Stream()
    s.tick(0)
    other = s.existing(0, 300, "/usr/bin/socat", ["socat"])
    s.spawn(10, other, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-R"], stdio=("tcp", "tcp", "char"))
    only(run(s).of("reverse-shell"), "reverse-shell of an sshd not started by sshd")
    # an inetd-style service re-executing itself for each connection
    s = Stream()
    s.tick(0)
    d = s.existing(0, 300, "/usr/sbin/mydaemon", ["mydaemon"])
    s.listen(1, d, "0.0.0.0", 7777)
    s.spawn(10, d, "/usr/sbin/mydaemon", ["mydaemon", "--child"], stdio=("tcp", "tcp", "char"))
    none_of(run(s), "reverse-shell", "a listener re-executes itself with the socket")
    # ordinary descriptors
    s = Stream()
    s.tick(0)
    cron = s.existing(0, 600, "/usr/sbin/cron", ["cron"])
    s.spawn(10, cron, "/usr/bin/bash", ["bash"], stdio=("char", "pipe", "file"))
    s.spawn(11, cron, "/usr/bin/bash", ["bash"], stdio=("unix", "unix", "unix"))
    check_eq(run(s).rules(), [], "alerts for shells on pipes, files and a unix socket")
    # the pty's other end holds no connection (any more)
    s, *_ = pty_stream(close=True)
    none_of(run(s), "reverse-shell", "the pty's holder closed its connection")
    # the pty's other end is a remote-access service
    s, *_ = pty_stream(parent_exe="/usr/sbin/sshd")
    none_of(run(s), "reverse-shell", "the pty is held by sshd")


# --- service-shell ---

def service_stream(service_exe="/usr/sbin/nginx", child_exe="/bin/sh", in_session=False,
                   unlinked=False, port=80):
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    if in_session:
        sess = s.ssh_session(5)
        master = s.spawn(6, sess.shell, service_exe, [os.path.basename(service_exe)])
    else:
        master = s.existing(0, 700, service_exe, [os.path.basename(service_exe)], s.systemd,
                            user="www-data", uid=33)
    s.listen(7, master, "0.0.0.0", port)
    worker = s.fork(8, master)
    sh = s.spawn(10, worker, child_exe, [os.path.basename(child_exe), "-c", "id"],
                 unlinked=unlinked)
    return s, master, worker, sh


def test_service_shell_fires_once_per_service():
    s, master, worker, sh = service_stream()
    worker2 = s.fork(20, master)
    s.spawn(21, worker2, "/bin/sh", ["sh", "-c", "uname -a"])
    s.spawn(22, worker, "/usr/bin/whoami")
    r = run(s)
    a = only(r.of("service-shell"), "service-shell")
    check_eq(r.rules(), ["service-shell"], "nothing else fires")
    expect(a, {
        "rule.name": "Network service starts a shell",
        "event.severity": 73,
        "threat.technique.id": ["T1505.003", "T1190"],
        "@timestamp": rfc3339(ns_at(10.001)),
        "message": "network service nginx (pid 700, listening) started a shell, /bin/sh: a web "
                   "shell or an exploited service (systemd → nginx → nginx → sh)",
        "process.entity_id": sh.eid,
        "process.pid": sh.pid,
        "process.executable": "/bin/sh",
        "hopwatch.alert.related_ids": [master.eid],
        "hopwatch.alert.process_chain_ids": [s.systemd.eid, master.eid, worker.eid, sh.eid],
    })


def test_service_shell_recon_and_dropped_programs():
    s, *_ = service_stream(service_exe="/opt/shop/server", child_exe="/usr/bin/id")
    a = only(run(s).of("service-shell"), "service-shell")
    check(a["message"].startswith("network service server (pid 700, listening) started a "
                                  "reconnaissance tool, /usr/bin/id: "), a["message"])
    s, *_ = service_stream(child_exe="/tmp/.x/kworker")
    a = only(run(s).of("service-shell"), "service-shell")
    check("started a program from a writable or deleted file, /tmp/.x/kworker:" in a["message"],
          a["message"])
    s, *_ = service_stream(child_exe="/usr/lib/cgi-bin/helper", unlinked=True)
    a = only(run(s).of("service-shell"), "service-shell")
    check("a program from a writable or deleted file" in a["message"], a["message"])


def test_service_shell_interpreter_service():
    """A Node.js or Python web application is a network service too: an exploited one that
    starts a shell is the rule's own case."""
    for exe in ("/usr/bin/node", "/usr/bin/python3.11"):
        s, master, _, sh = service_stream(service_exe=exe, port=3000)
        a = only(run(s).of("service-shell"), "service-shell of a listening %s" % exe)
        expect(a, {"process.entity_id": sh.eid, "hopwatch.alert.related_ids": [master.eid]})


def test_service_shell_starts_an_interpreter():
    s, master, _, py = service_stream(child_exe="/usr/bin/python3.11")
    a = only(run(s).of("service-shell"), "service-shell")
    expect(a, {
        "message": "network service nginx (pid 700, listening) started an interpreter, "
                   "/usr/bin/python3.11: a web shell or an exploited service (systemd → nginx → "
                   "nginx → python3.11)",
        "process.entity_id": py.eid,
    })
    # an application server starting workers of its own interpreter is not
    s, *_ = service_stream(service_exe="/usr/bin/python3.11", child_exe="/usr/bin/python3.11",
                           port=8000)
    none_of(run(s), "service-shell", "a Python server starts Python workers")
    # ... but its worker starting a shell is
    s, master, worker, _ = service_stream(service_exe="/usr/bin/python3.11",
                                          child_exe="/usr/bin/python3.11", port=8000)
    sh = s.spawn(30, worker, "/bin/sh", ["sh", "-c", "id"])
    a = only(run(s).of("service-shell"), "service-shell")
    expect(a, {"process.entity_id": sh.eid, "hopwatch.alert.related_ids": [master.eid]})


def test_service_shell_benign_twins():
    cases = [
        ("the service is allowed by name", service_stream(), ["detect.allow_services=nginx"]),
        ("the service is allowed by path", service_stream(),
         ["detect.allow_services=/usr/sbin/nginx"]),
        ("the shell runs inside a remote session", service_stream(in_session=True), []),
        ("the program is neither a shell nor a recon tool",
         service_stream(child_exe="/usr/bin/convert"), []),
        ("the shell is started by sshd", service_stream(service_exe="/usr/sbin/sshd",
                                                        port=2222), []),
    ]
    for why, (s, *_), sets in cases:
        none_of(run(s, *sets), "service-shell", why)
    # a program that does not listen starting a shell is not a service
    s = Stream()
    s.tick(0)
    cron = s.existing(0, 600, "/usr/sbin/cron", ["cron"])
    s.spawn(10, cron, "/bin/sh", ["sh", "-c", "backup"])
    none_of(run(s), "service-shell", "the parent does not listen")
    # a shell started by a shell started by the service: the first one alerted, not this one
    s, _, _, sh = service_stream()
    s.spawn(20, sh, "/usr/bin/bash")
    only(run(s).of("service-shell"), "service-shell for a shell and its child shell")


# --- brute-force ---

def failures(s, t, n, src=ATTACKER_IP, users=("root",), gap=2.0):
    out = []
    for i in range(n):
        handler = s.fork(t + gap * i, s.sshd_master)
        sess = Session(s, users[i % len(users)], (src, 30000 + i), (LOCAL_IP, 22), handler,
                       t + gap * i)
        handler.session = sess
        s.login_failure(t + gap * i + 1, sess)
        out.append(sess)
    return out


def brute_stream():
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    return s


def success_from(s, t, src=ATTACKER_IP, user="oracle"):
    handler = s.fork(t, s.sshd_master)
    sess = Session(s, user, (src, 31000 + int(t)), (LOCAL_IP, 22), handler, t)
    handler.session = sess
    s.login(t + 0.5, sess)
    return sess


def test_brute_force_then_success_escalates():
    s = brute_stream()
    failures(s, 10, 7, users=("root", "admin", "root", "oracle", "test"))
    sess = success_from(s, 40)
    success_from(s, 50)  # a second login: no third alert
    r = run(s)
    alerts = r.of("brute-force")
    check_eq(len(alerts), 2, "brute-force alerts: the burst, then the success (%s)" %
             [a["message"] for a in alerts])
    check_eq(r.rules(), ["brute-force"] * 2, "nothing else fires")
    first, second = alerts
    expect(first, {
        "rule.name": "Brute force of a login service",
        "event.severity": 47,
        "threat.technique.id": ["T1110.001"],
        "@timestamp": rfc3339(ns_at(10 + 2 * 4 + 1)),  # the 5th failure
        "message": "5 failed logins from 198.51.100.66 within 300s over sshd (users tried: "
                   "root, admin, oracle, test)",
        "source.ip": ATTACKER_IP,
        "hopwatch.alert.count": 5,
        "hopwatch.session.service": "sshd",
    })
    expect(second, {
        "rule.name": "Brute force, then a successful login",
        "event.severity": 99,
        "hopwatch.alert.severity": "critical",
        "threat.technique.id": ["T1110.001", "T1078"],
        "@timestamp": rfc3339(ns_at(40.5)),
        "message": "after 7 failed logins from 198.51.100.66 (users tried: root, admin, oracle, "
                   "test), oracle logged in from there over sshd",
        "source.ip": ATTACKER_IP,
        "user.name": "oracle",
        "hopwatch.session.id": sess.id,
        "hopwatch.alert.count": 7,
    })
    check(first["event"]["id"] != second["event"]["id"], "two alerts, two event ids")


def test_brute_force_lists_every_user_tried():
    """The users-tried list must name each user once, also one whose name is part of a name
    tried before ('admin' after 'administrator')."""
    s = brute_stream()
    failures(s, 10, 5, users=("administrator", "admin", "rooter", "root", "oracle"))
    a = only(run(s).of("brute-force"), "brute-force")
    check_eq(a["message"], "5 failed logins from 198.51.100.66 within 300s over sshd (users "
             "tried: administrator, admin, rooter, root, oracle)", "message")


def test_brute_force_benign_twins():
    s = brute_stream()
    failures(s, 10, 4)
    success_from(s, 30)
    check_eq(run(s).rules(), [], "alerts for bruteforce_failures - 1 failures and a login")
    s = brute_stream()
    failures(s, 10, 5, gap=30.0)  # 3 at most within any minute
    s.ticks(200, 400)
    none_of(run(s, "detect.bruteforce_window=1m"), "brute-force",
            "the failures are spread wider than the window")
    s = brute_stream()
    for i in range(5):
        failures(s, 10 + i, 1, src="198.51.100.%d" % (10 + i))
    none_of(run(s), "brute-force", "each failure comes from another source")
    s = brute_stream()
    failures(s, 10, 5)
    success_from(s, 30, src="198.51.100.200")
    a = only(run(s).of("brute-force"), "brute-force with a success from elsewhere")
    check_eq(a["event"]["severity"], 47, "no escalation for a success from another source")
    s = brute_stream()
    failures(s, 10, 6)
    only(run(s, "detect.bruteforce_failures=6").of("brute-force"),
         "brute-force at exactly bruteforce_failures")


def test_brute_force_threshold_above_64_failures():
    if not threshold_beyond_memory("detect.bruteforce_failures", 70):
        return
    s = brute_stream()
    failures(s, 10, 80, gap=0.5)
    only(run(s, "detect.bruteforce_failures=60").of("brute-force"),
         "brute-force at 60 (control)")
    a = only(run(s, "detect.bruteforce_failures=70").of("brute-force"),
             "brute-force when 80 failures come and bruteforce_failures is 70")
    check_eq(hw.get(a, "hopwatch.alert.count"), 70, "failures counted")


# --- tunnel ---

def test_tunnel_forwarding_by_the_session_service_process():
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    c = s.connect(20, sess.handler, ("198.51.100.80", 80))  # ssh -L: sshd connects out
    s.connect(21, sess.handler, ("198.51.100.81", 443))
    r = run(s)
    a = only(r.of("tunnel"), "tunnel")
    check_eq(r.rules(), ["tunnel"], "nothing else fires")
    expect(a, {
        "rule.name": "Port forwarding in a remote session",
        "event.severity": 73,
        "threat.technique.id": ["T1572", "T1090"],
        "@timestamp": rfc3339(ns_at(20)),
        "message": "the sshd session of alice from 203.0.113.5 forwards a connection to "
                   "198.51.100.80:80 through its service process (ssh -L/-D/-W) (systemd → "
                   "sshd → sshd)",
        "hopwatch.session.id": sess.id,
        "user.name": "alice",
        "process.entity_id": sess.handler.eid,
        "destination.ip": "198.51.100.80",
        "destination.port": 80,
        "hopwatch.connection.id": c.id,
    })


def test_tunnel_remote_forward_listener():
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.listen(20, sess.handler, "127.0.0.1", 9000)  # ssh -R 9000:...
    s.listen(21, sess.handler, "127.0.0.1", 9001)
    a = only(run(s).of("tunnel"), "tunnel")
    expect(a, {
        "message": "in the sshd session of alice from 203.0.113.5, its service process listens "
                   "for a remote forward (ssh -R) on 127.0.0.1:9000 (systemd → sshd → sshd)",
        "hopwatch.session.id": sess.id,
        "process.entity_id": sess.handler.eid,
    })
    check(hw.get(a, "destination") is None, "a listener has no destination")


def test_tunnel_local_forward_listener():
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    ssh = s.spawn(20, sess.shell, "/usr/bin/ssh", ["ssh", "-L", "8080:intranet:80", "jump"])
    s.connect(21, ssh, ("198.51.100.50", 22))
    s.listen(22, ssh, "127.0.0.1", 8080)
    s.listen(23, ssh, "::1", 8080)
    a = only(run(s).of("tunnel"), "tunnel")
    expect(a, {
        "message": "in the sshd session of alice from 203.0.113.5, a program with a connection "
                   "to another host listens for a local forward (ssh -L/-D) on 127.0.0.1:8080 "
                   "(systemd → sshd → sshd → sshd → bash → ssh)",
        "process.entity_id": ssh.eid,
        "hopwatch.session.id": sess.id,
    })
    # a program of the session listening without a connection out: a dev server
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    dev = s.spawn(20, sess.shell, "/usr/local/bin/devserver")
    s.listen(22, dev, "127.0.0.1", 8080)
    none_of(run(s), "tunnel", "a program of the session listens, holding no connection out")


def relay_stream(exe="/usr/bin/socat", delay=0.2, peer="198.51.100.30", onward="10.0.0.9",
                 child=False):
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    relay = s.existing(0, 444, exe, [os.path.basename(exe), "TCP-LISTEN:8080,fork"], init)
    s.listen(0.5, relay, "0.0.0.0", 8080)
    inbound = s.accept(10, relay, (peer, 40001), (LOCAL_IP, 8080))
    who = s.fork(10.05, relay) if child else relay
    out = s.connect(10 + delay, who, (onward, 3306))
    return s, relay, who, inbound, out


def test_tunnel_relay_fires_once():
    s, relay, _, inbound, out = relay_stream()
    inbound2 = s.accept(20, relay, ("198.51.100.31", 40002), (LOCAL_IP, 8080))
    s.connect(20.1, relay, ("10.0.0.10", 3306))
    r = run(s)
    a = only(r.of("tunnel"), "tunnel")
    check(inbound2.id != inbound.id, "two inbound connections")
    expect(a, {
        "rule.name": "Connection relay",
        "event.severity": 73,
        "threat.technique.id": ["T1572", "T1090.001"],
        "@timestamp": rfc3339(ns_at(10.2)),
        "message": "socat (pid 444) accepted a connection from 198.51.100.30 and then connected "
                   "on to 10.0.0.9:3306 within a second: a relay or tunnel (systemd → socat)",
        "process.entity_id": relay.eid,
        "destination.ip": "10.0.0.9",
        "destination.port": 3306,
        "hopwatch.connection.id": out.id,
        "hopwatch.alert.related_ids": [inbound.id],
    })


def test_tunnel_relay_by_a_forked_child():
    s, _, child, inbound, _ = relay_stream(child=True)
    a = only(run(s).of("tunnel"), "tunnel")
    expect(a, {
        "message": "socat (pid 444) accepted a connection from 198.51.100.30 and its child "
                   "connected on to 10.0.0.9:3306 within a second: a relay or tunnel (systemd → "
                   "socat → socat)",
        "process.entity_id": child.eid,
        "hopwatch.alert.related_ids": [inbound.id],
    })


def test_tunnel_benign_twins():
    cases = [
        ("the relay is allowed by name", relay_stream(), ["detect.allow_relays=socat"]),
        ("the relay is allowed by path", relay_stream(),
         ["detect.allow_relays=/usr/bin/socat"]),
        ("the child of an allowed relay", relay_stream(child=True),
         ["detect.allow_relays=socat"]),
        ("it connects on more than a second later", relay_stream(delay=1.5), []),
        ("it connects back to its peer", relay_stream(onward="198.51.100.30"), []),
        ("it accepted from loopback", relay_stream(peer="127.0.0.1"), []),
        ("it connects on to loopback", relay_stream(onward="127.0.0.1"), []),
        ("the relay is sshd", relay_stream(exe="/usr/sbin/sshd"), []),
    ]
    for why, (s, *_), sets in cases:
        none_of(run(s, *sets), "tunnel", why)
    # the session comes from an allowed jump host: its forwards are expected
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.connect(20, sess.handler, ("198.51.100.80", 80))
    s.listen(21, sess.handler, "127.0.0.1", 9000)
    none_of(run(s, "detect.allow_sources=203.0.113.0/24"), "tunnel",
            "the session comes from an allowed source")
    # a failed forward
    s = Stream()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.connect(20, sess.handler, ("198.51.100.80", 80), ok=False)
    none_of(run(s), "tunnel", "the forward's connect failed")


# --- replay: its input and error contract ---

def test_replay_malformed_lines_are_reported_and_skipped():
    s = brute_stream()
    failures(s, 10, 5)
    good = list(s.lines)
    ts = rfc3339(ns_at(5))
    host = '"host":{"name":"web-1","id":"%s"}' % s.host_id
    bad = {
        2: '{"@timestamp":"%s","event":{"action":"exec"' % ts,  # cut short
        4: '{"event":{"kind":"event","action":"exec"},%s}' % host,
        6: '{"@timestamp":"yesterday","event":{"kind":"event","action":"exec"},%s}' % host,
        8: '{"@timestamp":"%s","event":{"kind":"event","action":"exec"},%s,"x":"%s"}'
           % (ts, host, "a" * (2 << 20)),
        10: '{"@timestamp":"%s","@timestamp":"%s","event":{"action":"tick","kind":"state"},%s}'
            % (ts, ts, host),
    }
    lines = []
    for n in range(1, len(good) + len(bad) + 1):
        lines.append(bad[n] if n in bad else good.pop(0))
    path = write_lines(lines)
    r = replay(None, files=[path])
    check_eq(r.rc, 3, "exit status with malformed lines")
    check_eq(len(r.errors), len(bad), "one message per malformed line: %r" % r.errors)
    want = {2: "", 4: "no @timestamp", 6: "@timestamp 'yesterday' is not RFC 3339",
            8: "line longer than", 10: "duplicate member '@timestamp'"}
    for line, (n, why) in zip(r.errors, sorted(want.items())):
        prefix = "hopwatch: %s:%d: malformed event: " % (path, n)
        check(line.startswith(prefix), "message %r should start with %r" % (line, prefix))
        check(why in line, "message %r should say %r" % (line, why))
        check(len(line) < 300, "a short message: %d bytes" % len(line))
    check(re.search(r"hopwatch: replayed %d lines: %d events from 1 hosts, 1 alerts, 5 malformed"
                    % (len(lines), len(lines) - 5), r.stderr), "summary: %r" % r.stderr)
    a = only(r.of("brute-force"), "brute-force from the well-formed lines")
    check_eq(a["hopwatch"]["alert"]["count"], 5, "the failures counted")


def test_replay_malformed_fields_blank_lines_and_crlf():
    s = brute_stream()
    failures(s, 10, 5)
    ts = rfc3339(ns_at(5))
    host = '"host":{"name":"web-1","id":"%s"}' % s.host_id
    lines = [s.lines[0], "", "",
             '{"@timestamp":"%s","event":{"kind":"event"},%s}' % (ts, host),
             # a start time that is not RFC 3339
             s.lines[1].replace('"action":"tick"', '"action":"existing_session"')[:-1] +
             ',"hopwatch":{"session":{"id":"x","start":"2026-13-01T00:00:00Z"}}}',
             '["not", "an", "object"]',
             '{"@timestamp":"%s","event":{"kind":"event","action":"exec"},%s} trailing' %
             (ts, host)]
    lines += [line + "\r" for line in s.lines[1:]]  # CRLF line ends
    r = replay(lines)
    check_eq(r.rc, 3, "exit status")
    path_re = r"hopwatch: \S+events\.ndjson:%d: malformed event: "
    for n, why in [(4, "no event.action"), (5, "start time is not RFC 3339"),
                   (6, "expected a JSON object"), (7, "trailing characters")]:
        check(any(re.match(path_re % n, e) and why in e for e in r.errors),
              "line %d reported as %r: %r" % (n, why, r.errors))
    check_eq(len(r.errors), 4, "blank lines are not malformed: %r" % r.errors)
    only(r.of("brute-force"), "brute-force from the CRLF lines")


def test_replay_malformed_messages_are_one_printable_line():
    """The reason quotes the line's own text: a newline or an escape sequence in it must not
    forge another FILE:LINE message or reach the terminal."""
    s = brute_stream()
    failures(s, 10, 5)
    host = '"host":{"name":"web-1","id":"%s"}' % s.host_id
    lines = ['{"@timestamp":"x\\nhopwatch: forged.ndjson:99: malformed event: fake",'
             '"event":{"action":"exec"},%s}' % host,
             '{"@timestamp":"%s","event":{"action":"tick","kind":"state"},%s,'
             '"a\\u001b[31mb":1,"a\\u001b[31mb":2}' % (rfc3339(ns_at(1)), host)] + s.lines
    r = replay(lines)
    check_eq(r.rc, 3, "exit status")
    check_eq(len(r.errors), 2, "one message per malformed line: %r" % r.errors)
    for n, line in enumerate(r.errors, 1):
        check(re.match(r"hopwatch: \S+events\.ndjson:%d: malformed event: " % n, line),
              "message %d: %r" % (n, line))
    bad = sorted(set(c for c in r.stderr if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f))
    check_eq(bad, [], "control characters on stderr")
    only(r.of("brute-force"), "brute-force from the other lines")


def exec_at(stream, when):
    """a reverse shell's exec line with @timestamp when"""
    stream.tick(0)
    cron = stream.existing(0, 600, "/usr/sbin/cron", ["cron"])
    stream.spawn(10, cron, "/usr/bin/bash", ["bash"], stdio=("tcp", "tcp", "tcp"))
    line = json.loads(stream.lines[-1])
    line["@timestamp"] = when
    stream.lines[-1] = json.dumps(line, separators=(",", ":"))
    return len(stream.lines)


def test_replay_refuses_times_beyond_its_range():
    """Nanoseconds since 1970 in 64 bits end in 2554: a later time must be refused, not wrap
    round to another date."""
    for when in ("2600-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2554-07-21T23:34:34Z"):
        s = Stream()
        n = exec_at(s, when)
        r = replay(s)
        check_eq([a["@timestamp"] for a in r.alerts], [],
                 "alerts from a line at %s, which cannot be represented" % when)
        check_eq(r.rc, 3, "exit status for @timestamp %s" % when)
        check(any(":%d: malformed event: " % n in e and when in e for e in r.errors),
              "line %d (%s) reported: %r" % (n, when, r.errors))
    s = Stream()
    exec_at(s, "2554-07-21T23:34:33Z")  # the last second that fits
    a = only(run(s).of("reverse-shell"), "reverse-shell at the end of the range")
    check(a["@timestamp"].startswith("2554-07-21T23:34:33."), a["@timestamp"])


def test_replay_refuses_impossible_dates():
    """RFC 3339 days depend on the month (and the year for February)."""
    for when in ("2026-02-31T00:00:00Z", "2026-04-31T10:00:00Z", "2025-02-29T10:00:00Z"):
        s = Stream()
        n = exec_at(s, when)
        r = replay(s)
        check_eq(r.rc, 3, "exit status for @timestamp %s (alerts: %s)" %
                 (when, [a["@timestamp"] for a in r.alerts]))
        check(any(":%d: malformed event: " % n in e for e in r.errors),
              "line %d (%s) reported: %r" % (n, when, r.errors))
    s = Stream()
    exec_at(s, "2028-02-29T10:00:00Z")  # a leap day
    a = only(run(s).of("reverse-shell"), "reverse-shell on a leap day")
    check(a["@timestamp"].startswith("2028-02-29T10:00:00."), a["@timestamp"])


def test_replay_reports_the_first_20_malformed_lines():
    s = brute_stream()
    failures(s, 10, 5)
    lines = ["garbage %d" % i for i in range(30)] + s.lines
    r = replay(lines)
    check_eq(r.rc, 3, "exit status")
    check_eq(len(r.errors), 21, "20 reports and one line saying more were left out: %r" %
             r.errors[-3:])
    check(r.errors[19].split(":")[-3] == "20" or ":20: malformed event" in r.errors[19],
          "the 20th report is of line 20: %r" % r.errors[19])
    check("only the count" in r.errors[20], "the last message: %r" % r.errors[20])
    check(", 30 malformed" in r.stderr, "summary counts all 30: %r" % r.stderr)
    only(r.of("brute-force"), "brute-force after the garbage")


def test_replay_missing_file():
    p = hopwatch("replay", "/nonexistent/hw-events.ndjson")
    check_eq(p.returncode, 2, "exit status for a missing file")
    check_eq(p.stdout, "", "stdout for a missing file")
    lines = p.stderr.splitlines()
    check_eq(len(lines), 1, "one line on stderr: %r" % p.stderr)
    check("/nonexistent/hw-events.ndjson" in lines[0] and "No such file" in lines[0],
          "the line names the file and the reason: %r" % lines[0])


def test_replay_missing_file_among_others_stops():
    s = brute_stream()
    failures(s, 10, 5)
    good = write_lines(s.lines)
    p = hopwatch("replay", "-o", "json", good, "/nonexistent/hw-events.ndjson")
    check_eq(p.returncode, 2, "exit status when the second file is missing")
    check("/nonexistent/hw-events.ndjson" in p.stderr, "the missing file is named")


def test_replay_reads_stdin():
    s = brute_stream()
    failures(s, 10, 5)
    text = "\n".join(s.lines[:3] + ["not json"] + s.lines[3:]) + "\n"
    r = replay(None, stdin=text)
    check_eq(r.rc, 3, "exit status with one malformed line")
    check_eq(len(r.errors), 1, "one message: %r" % r.errors)
    check(r.errors[0].startswith("hopwatch: (stdin):4: malformed event: "), r.errors[0])
    only(r.of("brute-force"), "brute-force read from stdin")
    r = replay(None, stdin="\n".join(s.lines) + "\n")
    check_eq(r.rc, 0, "exit status of a clean stdin")
    only(r.of("brute-force"), "brute-force read from stdin")


def test_replay_ignores_alert_lines():
    s = brute_stream()
    failures(s, 10, 5)
    first = run(s)
    only(first.of("brute-force"), "brute-force")
    alert_lines = first.stdout.splitlines()
    # the alerts themselves, replayed: nothing
    r = replay(alert_lines)
    check_eq((r.rc, r.errors, r.stdout), (0, [], ""), "replay of alert lines only")
    # an output file, alerts among the events: the same alerts, byte for byte
    mixed = s.lines[:-1] + alert_lines + s.lines[-1:] + alert_lines
    r = replay(mixed)
    check_eq((r.rc, r.errors), (0, []), "replay of events and alerts")
    check_eq(r.stdout, first.stdout, "alerts of the stream with alert lines in it")
    check(re.search(r"replayed %d lines: %d events" % (len(mixed), len(s.lines)), r.stderr),
          "alert lines are not counted as events: %r" % r.stderr)


def test_replay_separate_engine_per_host():
    a, b = Stream("web-1"), Stream("db-1")
    for st in (a, b):
        st.agent_started()
        st.tick(0)
        st.sshd()
    # 3 failures on each host from the same source: 6 in all, but 3 per host
    failures(a, 10, 3)
    failures(b, 10, 3)
    lines = []
    for la, lb in zip(a.lines, b.lines):
        lines += [la, lb]
    r = replay(lines)
    check_eq((r.rc, r.errors), (0, []), "replay of two hosts")
    check_eq(r.rules(), [], "alerts when no host has 5 failures")
    check(re.search(r"from 2 hosts", r.stderr), "two hosts in the summary: %r" % r.stderr)
    # two more on web-1: its alert, with its host
    failures(a, 20, 2)
    lines += a.lines[len(lines) // 2:]
    r = replay(lines)
    alert = only(r.of("brute-force"), "brute-force")
    check_alert_common(alert, a)
    check_eq(alert["hopwatch"]["alert"]["count"], 5, "failures counted on web-1")
    # the same processes on two hosts are different entities: reverse shells on both
    lines = []
    for st in (Stream("web-1", id_scope="same"), Stream("db-1", id_scope="same")):
        st.tick(0)
        cron = st.existing(0, 600, "/usr/sbin/cron", ["cron"])
        st.spawn(10, cron, "/usr/bin/bash", ["bash"], stdio=("tcp", "tcp", "tcp"), pid=4242)
        lines += st.lines
    r = replay(lines)
    check_eq(sorted(hw.get(x, "host.name") for x in r.of("reverse-shell")), ["db-1", "web-1"],
             "one reverse-shell per host")


def test_replay_is_deterministic_and_text_output():
    s, sess = session_stream()
    s.ticks(3611, 7200)
    s.connect(7300, sess.shell, ("10.0.0.7", 22))
    path = write_lines(s.lines)
    p1 = hopwatch("replay", "-o", "json", "--set", "detect.long_session=1h", path)
    p2 = hopwatch("replay", "-o", "json", "--set", "detect.long_session=1h", path)
    check_eq(p1.returncode, 0, "exit status")
    check_eq(p1.stdout, p2.stdout, "two replays of one file")
    check_eq(len(p1.stdout.splitlines()), 2, "two alerts")
    p = hopwatch("replay", "-o", "text", "--set", "detect.long_session=1h", path)
    lines = p.stdout.splitlines()
    check_eq(len(lines), 2, "one text line per alert: %r" % p.stdout)
    check_eq(lines[0], "2026-11-27T11:00:11.000 ALERT    medium long-session: alice has been "
             "logged in over sshd from 203.0.113.5 for 1h 0m and is still connected (idle "
             "50m 10s)", "text line")
    check(lines[1].startswith("2026-11-27T12:01:40.000 ALERT    high lateral-movement: alice, "
                              "logged in over sshd from 203.0.113.5, connected to 10.0.0.7:22"),
          "text line: %r" % lines[1])



# --- trust: exemptions rest on kernel facts, never on names (issue 11, findings 2 and 3) ---

def test_lookalike_names_exempt_nothing():
    """A copy of bash named sshd (or nginx, curl, socat) that a user placed somewhere it can
    write: hopwatch.exe.trusted is false, so it is judged like any other program."""
    # the reverse shell of `cp /bin/bash /tmp/x/sshd`, started by another copy named sshd
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    fake = s.existing(0, 500, "/tmp/x/sshd", ["sshd"], init, user="nobody", uid=65534)
    sh = s.spawn(10, fake, "/tmp/x/sshd", ["sshd", "-i"], stdio=("tcp", "tcp", "tcp"))
    a = only(run(s).of("reverse-shell"), "reverse-shell of a lookalike sshd")
    check_eq(hw.get(a, "process.entity_id"), sh.eid, "the lookalike is named")
    # the same under the real path but not a trusted file (hopwatch.exe.trusted false)
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    fake = s.existing(0, 500, "/usr/sbin/sshd", ["sshd"], init, trusted=False)
    s.spawn(10, fake, "/usr/sbin/sshd", ["sshd", "-R"], stdio=("tcp", "tcp", "char"),
            trusted=False)
    only(run(s).of("reverse-shell"), "reverse-shell of an untrusted sshd file")
    # the real sshd binary re-executed with a socket on stdin, but not as root (a user ran it)
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    d = s.existing(0, 500, "/usr/sbin/sshd", ["sshd"], init, user="nobody", uid=65534)
    kid = s.fork(10, d)
    kid.user, kid.uid = "nobody", 65534
    s.exec(10.1, kid, "/usr/sbin/sshd", ["sshd", "-R"], stdio=("tcp", "tcp", "char"))
    only(run(s).of("reverse-shell"), "reverse-shell of sshd re-executed by nobody")
    # a bind shell re-executing the interpreter that listens is not an inetd-style service
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    py = s.existing(0, 600, "/usr/bin/python3.11", ["python3"], init, user="nobody", uid=65534)
    s.listen(1, py, "0.0.0.0", 7777)
    s.spawn(10, py, "/usr/bin/python3.11", ["python3", "-i"], stdio=("tcp", "tcp", "tcp"))
    only(run(s).of("reverse-shell"), "reverse-shell of a listener re-executing its interpreter")
    # allowlists by name match only trusted files: nginx in /tmp is not the allowed nginx
    s, *_ = service_stream(service_exe="/tmp/nginx")
    only(run(s, "detect.allow_services=nginx").of("service-shell"),
         "service-shell of a lookalike nginx allowed by name")
    s, *_ = conn_stream(exe="/home/u/curl")
    s.ticks(3611)
    only(run(s, "detect.long_connection=1h", "detect.allow_programs=curl").of("long-connection"),
         "long-connection of a lookalike curl allowed by name")
    # and a lookalike sshd starting a shell is a service starting a shell, not a login
    s, *_ = service_stream(service_exe="/tmp/sshd", port=2222)
    only(run(s).of("service-shell"), "service-shell of a shell under a lookalike sshd")


def test_unverified_sessions_exempt_nothing():
    """A session whose login the kernel did not confirm (hopwatch.login.verified false: a
    program calling pam_open_session without being root, or a PAM stack without
    pam_loginuid) still raises the session rules, but does not excuse its processes."""
    def stream(verified):
        s = Stream()
        s.agent_started()
        s.tick(0)
        s.sshd()
        web = s.existing(0, 700, "/usr/sbin/nginx", ["nginx"], s.systemd, user="www-data",
                         uid=33)
        s.listen(1, web, "0.0.0.0", 80)
        worker = s.fork(8, web)
        sess = Session(s, "root", (CLIENT_IP, 50099), (LOCAL_IP, 22), worker, 9, uid=0,
                       verified=verified)
        worker.session = sess
        s.login(9.5, sess)
        s.spawn(12, worker, "/bin/sh", ["sh", "-c", "id"])
        return s
    a = only(run(stream(False)).of("service-shell"), "service-shell despite an unverified session")
    check(a["message"].startswith("network service nginx"), "message: %r" % a["message"])
    none_of(run(stream(True)), "service-shell", "the same shell in a verified login")
    # the verified twin: the shell of a login inside the service's tree is excused
    s, *_ = service_stream(in_session=True)
    none_of(run(s), "service-shell", "a verified login's own shell")


def test_reverse_shell_names_the_other_end():
    """The socket on the shell's standard descriptors (hopwatch.stdio_socket) is the far end:
    the destination of a shell that connected out, the source of a bind shell's client."""
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    web = s.existing(0, 700, "/usr/sbin/apache2", ["apache2"], init, user="www-data", uid=33)
    conn = s.connect(9, web, (ATTACKER_IP, 4444), src=(LOCAL_IP, 41000))
    sh = s.fork(10, web)
    s.exec(10.001, sh, "/usr/bin/bash", ["bash", "-i"], stdio=("tcp", "tcp", "tcp"),
           stdio_socket={"transport": "tcp", "local": {"ip": LOCAL_IP, "port": 41000},
                         "remote": {"ip": ATTACKER_IP, "port": 4444}, "direction": "egress",
                         "connection_id": conn.id})
    a = only(run(s).of("reverse-shell"), "reverse-shell")
    expect(a, {"destination.ip": ATTACKER_IP, "destination.port": 4444,
               "source.ip": LOCAL_IP, "source.port": 41000,
               "hopwatch.connection.id": conn.id,
               "hopwatch.alert.related_ids": [conn.id]})
    check(" to %s:4444 " % ATTACKER_IP in a["message"], "message: %r" % a["message"])
    # a bind shell: the client connected to it
    s = Stream()
    s.tick(0)
    init = s.existing(0, 1, "/usr/lib/systemd/systemd", ["/sbin/init"])
    nc = s.existing(0, 800, "/usr/bin/nc.openbsd", ["nc", "-l", "-p", "31337"], init)
    s.exec(10, nc, "/usr/bin/dash", ["sh"], stdio=("tcp", "tcp", "tcp"),
           stdio_socket={"transport": "tcp", "local": {"ip": LOCAL_IP, "port": 31337},
                         "remote": {"ip": "2001:db8::66", "port": 51000},
                         "direction": "ingress"})
    a = only(run(s).of("reverse-shell"), "reverse-shell of a bind shell")
    expect(a, {"source.ip": "2001:db8::66", "source.port": 51000,
               "destination.ip": LOCAL_IP, "destination.port": 31337})
    check(" from [2001:db8::66]:51000 " in a["message"], "message: %r" % a["message"])
