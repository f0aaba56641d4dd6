"""The reverse-shell rule (docs/rules.md), unit tier: hand-written event streams in the agent's
exact ECS shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay`
(tests/lib/rulelab.py), no root and no kernel: a stream where it fires, once per entity however
often the trigger repeats, with its fields checked; and benign twins, the same stream with one
thing changed, where it does not."""
import os

import hw
from ecs_builder import ATTACKER_IP, LOCAL_IP, Proc, Stream, ns_at, rfc3339
from hw import check, check_eq
from rulelab import expect, none_of, only, run


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
