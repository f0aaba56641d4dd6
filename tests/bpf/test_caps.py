"""The capability drop after attach (user/caps.c, called by user/agent.c with keep_sys_admin):
once agent-started is written the agent holds only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH
(/proc of every user) and CAP_SYS_ADMIN (setns: the periodic sock_diag report enters every
network namespace, or the --netns one), nothing inheritable or ambient, a bounding set no
larger, and no_new_privs. And it still does what needs them after the drop: the report of a
connection held by another user in another namespace, with its owner; the scoped report;
SIGHUP reopen; the counters at the stop."""
import os
import signal
import subprocess
import time

import hw
from hw import Agent, check, check_eq, get

CAP_DAC_READ_SEARCH = 2
CAP_SYS_ADMIN = 21
CAP_SYS_PTRACE = 19
KEEP = (1 << CAP_SYS_PTRACE) | (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_SYS_ADMIN)
# /usr/bin's, not the test runner's (which may live where nobody cannot read)
PY = "/usr/bin/python3"
TRUE = os.path.realpath("/bin/true")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen()
print('ready', flush=True)
c, _ = s.accept()
while c.recv(65536): pass
"""

HOLDER = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(b'h' * 100)
print('sent', flush=True)
sys.stdin.readline()
"""


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def check_caps(pid, want):
    st = status(pid)
    names = {CAP_SYS_PTRACE: "SYS_PTRACE", CAP_DAC_READ_SEARCH: "DAC_READ_SEARCH",
             CAP_SYS_ADMIN: "SYS_ADMIN"}
    show = "+".join(n for c, n in sorted(names.items()) if want >> c & 1)
    for k in ("CapEff", "CapPrm", "CapBnd"):
        check_eq(hex(int(st[k], 16)), hex(want), "%s of the agent (%s)" % (k, show))
    check_eq(int(st["CapInh"], 16), 0, "CapInh of the agent")
    check_eq(int(st.get("CapAmb", "0"), 16), 0, "CapAmb of the agent")
    check_eq(st.get("NoNewPrivs"), "1", "NoNewPrivs of the agent")


def start_server(ns, port):
    p = ns.popen([PY, "-c", SERVER, "198.18.0.2", str(port)], stdout=subprocess.PIPE,
                 text=True)
    check_eq(p.stdout.readline().strip(), "ready", "server ready")
    return p


def end(*procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_caps_dropped_after_attach():
    """Run by hand as root (full bounding set): everything else is dropped, and the periodic
    report still finds a connection in another namespace (setns) held by another user
    (nobody) and names its owner (/proc/PID/fd: CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH)."""
    with hw.Lab() as lab:
        server = start_server(lab.b, 2231)
        holder = lab.a.popen(NOBODY + [PY, "-c", HOLDER, "198.18.0.2", "2231"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            check_eq(holder.stdout.readline().strip(), "sent", "holder connected")
            with Agent("--set", "agent.conn_report_interval=1s") as agent:
                pid = agent.proc.pid
                check_caps(pid, KEEP)
                rep = agent.wait_for(lambda e: get(e, "event.action") == "connection_open"
                                     and get(e, "destination.port") == 2231
                                     and get(e, "network.direction") == "egress",
                                     timeout=15)
                # SIGHUP reopens the output: opening files still works
                rotated = agent.path + ".1"
                os.rename(agent.path, rotated)
                agent.proc.send_signal(signal.SIGHUP)
                time.sleep(0.3)
                p = subprocess.Popen([TRUE, "after-drop"])
                p.wait()
                deadline = time.time() + 10
                while time.time() < deadline and not os.path.exists(agent.path):
                    time.sleep(0.1)
                agent.wait_for(lambda e: get(e, "process.pid") == p.pid
                               and get(e, "event.action") == "exec")
                check_caps(pid, KEEP)
        finally:
            end(holder, server)
    check_eq(agent.rc, 0, "exit code")
    check_eq(get(rep, "process.pid"), holder.pid, "owner of nobody's connection, from /proc")
    check_eq(get(rep, "user.id"), "65534", "its user")
    events = agent.events()
    stopped = events[-1]
    check_eq(get(stopped, "event.action"), "agent-stopped", "last line")
    for k in ("drops", "errors"):
        check(get(stopped, "hopwatch.agent." + k) is not None,
              "agent-stopped still has the %s counter (read from a BPF map)" % k)


def test_caps_with_netns():
    """--netns: the same sets; the periodic report enters that namespace (setns) for
    sock_diag after the drop."""
    with hw.Lab() as lab:
        server = start_server(lab.b, 2232)
        holder = lab.b.popen([PY, "-c", HOLDER, "198.18.0.2", "2232"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            check_eq(holder.stdout.readline().strip(), "sent", "holder connected")
            with Agent("--netns", lab.b.path, "--set", "agent.conn_report_interval=1s") as agent:
                check_caps(agent.proc.pid, KEEP)
                # the first report comes a second after the start, after the drop
                agent.wait_for(lambda e: get(e, "event.action") == "connection_open"
                               and get(e, "process.pid") == holder.pid, timeout=15)
        finally:
            end(holder, server)
    check_eq(agent.rc, 0, "exit code")
