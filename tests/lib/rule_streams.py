"""Event streams that several rule test files (tests/cli/test_rule_*.py) build on: an sshd
with one login session, a program's outbound connection, a network service with a shell below
it, failed and successful logins from one address. Built with tests/lib/ecs_builder.py."""
import os

from ecs_builder import ATTACKER_IP, LOCAL_IP, Session, Stream


def session_stream():
    s = Stream()
    s.agent_started()
    s.tick(0)
    s.sshd()
    sess = s.ssh_session(10)
    s.spawn(600, sess.shell, "/usr/bin/vim", ["vim", "notes"])  # activity at 600 s
    return s, sess


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
