"""The ECS event builder of the rule, collect and fuzz tests: one host's event stream written
line by line in the agent's exact ECS shapes (user/output/ecs.c), member order included, so
that `hopwatch replay` and `hopwatch collect --replay` read it as they read a recording. Each
Stream method appends one line; Proc, Conn and Session are the entities those lines name.
Times are seconds after T0 (ns_at), ids are made like the agent's (ident)."""
import base64
import calendar
import hashlib
import json
import os
import time

import ecs_schema

T0 = calendar.timegm((2026, 11, 27, 10, 0, 0)) * 10**9  # ns since the epoch
SEC = 10**9

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
        return {"@timestamp": rfc3339(ns_at(t)), "ecs": {"version": ecs_schema.VERSION},
                "event": ev, "host": host}

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
                         "ecs": {"version": ecs_schema.VERSION},
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
