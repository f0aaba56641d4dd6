"""The running agent's privileges (user/caps.c, user/seccomp.c, called by user/agent/agent.c
once everything is loaded, attached and snapshotted): once agent-started is written every thread
of the agent holds no capability at all (effective, permitted, bounding, inheritable, ambient),
has no_new_privs, and runs under the seccomp allow-list (Seccomp: 2). And it still does what
it did with privileges: the periodic sock_diag report of a connection held by another user in
another network namespace (through the socket opened there at start-up), the scoped report,
SIGHUP reopen, the counters read from a BPF map at the stop, the JetStream sink over mutual
TLS (libnats threads, OpenSSL) and the syslog sink to a host name (getaddrinfo). A namespace
created after the start is said to be outside the report, and its connections still come
from the kernel events; the socket of a namespace whose processes are gone is closed (it would
keep the namespace alive). That the filter refuses what it should is shown by
tests/unit/test_seccomp.c, which installs the same filter in forked children."""
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import threading
import time

import hw
from certs import make_certs
from hw import Agent, check, check_eq, get
from natslab import NatsServer, free_port

CAP_BPF = 39
# /usr/bin's, not the test runner's (which may live where nobody cannot read)
PY = "/usr/bin/python3"
TRUE = os.path.realpath("/bin/true")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
STORM = os.path.join(hw.ROOT, "build", "storm")

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


def status(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def threads(pid):
    return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))


def check_privileges(pid, min_threads=1):
    """Every thread: no capability (CAP_BPF aside on kernels that need it to read maps, see
    caps.h), no_new_privs, the seccomp filter. Returns the number of threads."""
    tids = threads(pid)
    check(len(tids) >= min_threads, "threads of the agent: %r" % tids)
    for tid in tids:
        st = status("/proc/%d/task/%d/status" % (pid, tid))
        what = "thread %d of the agent" % tid
        for k in ("CapEff", "CapPrm", "CapBnd"):
            check_eq(hex(int(st[k], 16) & ~(1 << CAP_BPF)), hex(0), "%s of %s" % (k, what))
        check_eq(int(st["CapInh"], 16), 0, "CapInh of " + what)
        check_eq(int(st.get("CapAmb", "0"), 16), 0, "CapAmb of " + what)
        check_eq(st.get("NoNewPrivs"), "1", "NoNewPrivs of " + what)
        check_eq(st.get("Seccomp"), "2", "Seccomp (filter mode) of " + what)
        check(int(st.get("Seccomp_filters", "0")) >= 1,
              "Seccomp_filters of %s: %r" % (what, st.get("Seccomp_filters")))
    return len(tids)


def socket_fds(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def socket_netns(pid):
    """The network namespaces (inodes) of the sockets process pid holds: each socket taken
    with pidfd_getfd, its namespace with SIOCGSKNS."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    pidfd = libc.syscall(434, pid, 0)  # pidfd_open (same number on x86_64 and aarch64)
    check(pidfd >= 0, "pidfd_open(%d): errno %d" % (pid, ctypes.get_errno()))
    out = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                    continue
            except OSError:
                continue
            mine = libc.syscall(438, pidfd, int(fd), 0)  # pidfd_getfd
            if mine < 0:
                continue
            try:
                ns = fcntl.ioctl(mine, 0x894C)  # SIOCGSKNS: the socket's namespace
                out.add(os.fstat(ns).st_ino)
                os.close(ns)
            finally:
                os.close(mine)
    finally:
        os.close(pidfd)
    return out


def start_server(ns, port):
    p = ns.popen([PY, "-c", SERVER, "198.18.0.2", str(port)], stdout=subprocess.PIPE,
                 text=True)
    check_eq(p.stdout.readline().strip(), "ready", "server ready")
    return p


def end(*procs):
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


def test_no_privileges_after_start():
    """Run by hand as root (full bounding set): nothing is kept, every thread is filtered,
    and the periodic report still finds a connection in another namespace held by another
    user (nobody), with its owner from the snapshot."""
    with hw.Lab() as lab:
        server = start_server(lab.b, 2231)
        holder = lab.a.popen(NOBODY + [PY, "-c", HOLDER, "198.18.0.2", "2231"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            check_eq(holder.stdout.readline().strip(), "sent", "holder connected")
            with Agent("--set", "agent.conn_report_interval=1s") as agent:
                pid = agent.proc.pid
                check_privileges(pid)
                # two reports after the drop: the first may still be the snapshot's
                reps = []
                deadline = time.time() + 20
                while time.time() < deadline and len(reps) < 2:
                    reps = [e for e in agent.events()
                            if get(e, "event.action") == "connection_open"
                            and get(e, "destination.port") == 2231
                            and get(e, "network.direction") == "egress"]
                    time.sleep(0.2)
                check(len(reps) >= 2, "periodic reports of nobody's connection in another "
                      "namespace: %d" % len(reps))
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
                check_privileges(pid)
                check_eq(agent.proc.poll(), None, "agent still running")
        finally:
            end(holder, server)
    check_eq(agent.rc, 0, "exit code")
    rep = reps[-1]
    check_eq(get(rep, "process.pid"), holder.pid, "owner of nobody's connection")
    check_eq(get(rep, "user.id"), "65534", "its user")
    check(get(rep, "source.bytes") == 100, "bytes so far, read after the drop: %r"
          % get(rep, "source.bytes"))
    stopped = agent.events()[-1]
    check_eq(get(stopped, "event.action"), "agent-stopped", "last line")
    check(get(stopped, "hopwatch.agent.drops") is not None,
          "agent-stopped still has the drops counter (a bpf() map lookup under the filter)")
    check("seccomp" not in agent.read_stderr(), "no complaint: %r" % agent.read_stderr())


def test_scoped_netns():
    """--netns: the same, and the periodic report reads that namespace through the socket
    opened there before the drop."""
    with hw.Lab() as lab:
        server = start_server(lab.b, 2232)
        holder = lab.b.popen([PY, "-c", HOLDER, "198.18.0.2", "2232"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            check_eq(holder.stdout.readline().strip(), "sent", "holder connected")
            with Agent("--netns", lab.b.path, "--set", "agent.conn_report_interval=1s") as agent:
                check_privileges(agent.proc.pid)
                # the first report comes a second after the start, after the drop
                agent.wait_for(lambda e: get(e, "event.action") == "connection_open"
                               and get(e, "process.pid") == holder.pid, timeout=15)
        finally:
            end(holder, server)
    check_eq(agent.rc, 0, "exit code")


class LineReceiver:
    """A TCP receiver on 127.0.0.1 keeping what the syslog sink sends (octet-counted
    frames); one connection at a time, in a thread."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.data = b""
        self.done = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            c.settimeout(0.2)
            while not self.done:
                try:
                    b = c.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not b:
                    break
                self.data += b
            c.close()

    def close(self):
        self.done = True
        self.thread.join(5)
        self.sock.close()


def test_streams_under_the_filter():
    """JetStream over mutual TLS (libnats starts its threads after the drop: they inherit no
    capability and the filter) and syslog to a host name, resolved after the filter: both
    still deliver every line."""
    d = hw.tempdir("tls")
    make_certs(d, "IP:127.0.0.1")
    ca, cert, key = (os.path.join(d, f) for f in ("ca.pem", "client.pem", "client.key"))
    rx = LineReceiver()
    try:
        with NatsServer(tls_dir=d) as srv:
            spool = hw.tempdir("spool")
            with Agent("--set", "output.nats_url=" + srv.url,
                       "--set", "output.spool_dir=" + spool,
                       "--set", "output.nats_ca=" + ca, "--set", "output.nats_cert=" + cert,
                       "--set", "output.nats_key=" + key,
                       "--set", "output.syslog=localhost:%d" % rx.port,
                       "--set", "output.nats_profile=full",
                       "--set", "output.syslog_profile=full") as agent:
                pid = agent.proc.pid
                subprocess.run([STORM, "exec", "50"], check=True, capture_output=True)
                time.sleep(1)
                n = check_privileges(pid, min_threads=2)
                marker = subprocess.Popen([TRUE, "streams-marker"])
                marker.wait()
                agent.wait_for(lambda e: get(e, "process.pid") == marker.pid
                               and get(e, "event.action") == "exec")
                time.sleep(1)
            check_eq(agent.rc, 0, "agent exit")
            lines = agent.lines()
            deadline = time.time() + 20
            dump = []
            while time.time() < deadline:
                try:
                    dump = srv.dump()
                except hw.TestFailure:
                    dump = []
                if len(dump) >= len(lines):
                    break
                time.sleep(0.3)
    finally:
        deadline = time.time() + 10
        while time.time() < deadline and rx.data.count(b"agent-stopped") < 1:
            time.sleep(0.1)
        rx.close()
    check(n >= 2, "libnats threads: %d threads" % n)
    check_eq([x for _, _, _, x in dump], lines, "the JetStream stream holds every line")
    got = rx.data.decode("utf-8", "replace")
    check(any("streams-marker" in x for x in lines), "the marker exec in the output")
    missing = [x for x in lines if got.count(x) != 1]
    check_eq(len(missing), 0, "output lines not delivered once over syslog (of %d), first: %r"
             % (len(lines), missing[:1]))
    check("seccomp" not in agent.read_stderr(), "no complaint: %r" % agent.read_stderr())


def test_namespaces_after_the_start():
    """A network namespace created after the start cannot be entered any more: the agent
    says once that it is outside the periodic report, and its connections still come from
    the kernel events (attempt and disconnect, no sweep in between). The socket of a
    namespace whose last process is gone is closed at the next report."""
    gone = subprocess.Popen(["unshare", "--net", "sleep", "600"])
    try:
        deadline = time.time() + 10
        while time.time() < deadline and \
                os.readlink("/proc/%d/ns/net" % gone.pid) == os.readlink("/proc/self/ns/net"):
            time.sleep(0.05)
        gone_ns = os.stat("/proc/%d/ns/net" % gone.pid).st_ino
        with Agent("--set", "agent.conn_report_interval=1s") as agent:
            pid = agent.proc.pid
            check(gone_ns in socket_netns(pid), "a sock_diag socket in the sleeper's namespace")
            gone.kill()
            gone.wait()
            deadline = time.time() + 10
            while time.time() < deadline and gone_ns in socket_netns(pid):
                time.sleep(0.2)
            check(gone_ns not in socket_netns(pid),
                  "the socket closed once the namespace's only process exited")
            with hw.Lab() as lab:
                server = start_server(lab.b, 2233)
                holder = lab.a.popen([PY, "-c", HOLDER, "198.18.0.2", "2233"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                try:
                    check_eq(holder.stdout.readline().strip(), "sent", "holder connected")
                    deadline = time.time() + 10
                    while time.time() < deadline and "created after the start" not in \
                            agent.read_stderr():
                        time.sleep(0.2)
                    time.sleep(2.5)  # two reports, two sweeps
                    holder.stdin.write("\n")
                    holder.stdin.flush()
                    holder.wait()
                    server.wait()
                    agent.wait_for(lambda e: get(e, "event.action") == "disconnect"
                                   and get(e, "process.pid") == holder.pid)
                finally:
                    end(holder, server)
            check_privileges(pid)
    finally:
        end(gone)
    check_eq(agent.rc, 0, "exit code")
    err = agent.read_stderr()
    check_eq(err.count("created after the start"), 1, "said once: %r" % err)
    events = agent.events()
    att = [e for e in events if get(e, "event.action") == "connection_attempted"
           and get(e, "process.pid") == holder.pid]
    disc = [e for e in events if get(e, "event.action") == "disconnect"
            and get(e, "process.pid") == holder.pid]
    check_eq(len(att), 1, "the attempt in a namespace newer than the agent")
    check_eq(len(disc), 1, "its disconnect")
    check_eq(get(disc[0], "hopwatch.connection.id"), get(att[0], "hopwatch.connection.id"),
             "the disconnect is the same connection (not swept meanwhile)")
    check_eq(get(disc[0], "source.bytes"), 100, "bytes of the disconnect")


def test_many_namespaces_leave_files_for_the_outputs():
    """One sock_diag socket per namespace is held for the agent's life: at most half the
    open files it may still open (the soft limit raised to the hard one before the BPF
    programs, which take a descriptor or three each, are loaded), so that with more namespaces
    than that the outputs still open (SIGHUP) and the rest is said once."""
    wrapper = os.path.join(hw.tempdir("prlimit"), "hopwatch")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec prlimit --nofile=100:480 %s \"$@\"\n" % hw.BIN)
    os.chmod(wrapper, 0o755)
    sleepers = []
    try:
        for _ in range(240):
            sleepers.append(subprocess.Popen(["unshare", "--net", "sleep", "600"]))
        own = os.readlink("/proc/self/ns/net")
        deadline = time.time() + 20
        while time.time() < deadline and any(os.readlink("/proc/%d/ns/net" % s.pid) == own
                                             for s in sleepers):
            time.sleep(0.1)  # each in its own namespace (unshare has run)
        with Agent("--set", "agent.conn_report_interval=1s", binary=wrapper) as agent:
            pid = agent.proc.pid
            with open("/proc/%d/limits" % pid) as f:
                soft = next(int(x.split()[3]) for x in f if x.startswith("Max open files"))
            check_eq(soft, 480, "the soft limit raised to the hard one")
            nfds = len(os.listdir("/proc/%d/fd" % pid))
            held = socket_fds(pid)
            check(40 <= held < 240 and held <= (480 - (nfds - held)) // 2 + 1,
                  "sock_diag sockets: %d, half of what was left (%d open)" % (held, nfds))
            time.sleep(1.5)  # a report
            rotated = agent.path + ".1"
            os.rename(agent.path, rotated)
            agent.proc.send_signal(signal.SIGHUP)
            # the new file first, then the exec: an exec the agent read before it reopened
            # is in the rotated file (it was, on a slow VM)
            deadline = time.time() + 20
            while time.time() < deadline and not os.path.exists(agent.path):
                time.sleep(0.1)
            check(os.path.exists(agent.path), "the output reopened after SIGHUP")
            p = subprocess.Popen([TRUE, "after-reopen"])
            p.wait()
            agent.wait_for(lambda e: get(e, "process.pid") == p.pid
                           and get(e, "event.action") == "exec", timeout=30)
    finally:
        end(*sleepers)
    check_eq(agent.rc, 0, "exit code")
    err = agent.read_stderr()
    check_eq(err.count("has no sock_diag socket"), 1, "said once: %r" % err)
    check("more namespaces than %d" % held in err, "with the limit: %r" % err)
