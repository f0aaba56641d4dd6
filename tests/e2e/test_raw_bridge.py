"""raw-socket-bridge on the real thing: Debian's SoftEther. A vpnserver on host C listens on 443;
on host B, Debian's vpnbridge binary copied to /usr/local/lib/<run>/conhost (a root-owned
directory: hopwatch.exe.trusted is true, trust alone excuses nothing) cascades to C:443 and
bridges its hub to a local veth, so it holds a packet socket and a long-lived TLS connection:
one alert naming conhost, its path and C:443. Benign twins on the same host under the same
agent: Debian's tcpdump capturing while another process holds a TCP connection to C for as
long; a packet socket of a program that holds no connection; an unprivileged user's attempt
(refused: raw_socket_opened with event.outcome failure, no alert). The run is recorded and its
replay gives the same alert. SoftEther keeps its state in /var/lib/softether, /var/log/softether
and /run/softether: each daemon runs in its own mount and PID namespace with the test's
directories mounted there, and is ended by PID (SIGKILL of the namespace's parent ends it all).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import ecs_schema
import hw
from hw import Agent, check, check_eq, get
from lab3 import ADDR, Lab3
from sshlab import kill_tree

B, C = ADDR["b"], ADDR["c"]
RULE = "raw-socket-bridge"
PASSWORD = "Br1dge-%s" % hw.RUN_ID
SOFTETHER = "/usr/libexec/softether"
HAMCORE = "/usr/share/softether-common/hamcore.se2"
SETTINGS = ["detect.raw_bridge_connection=5s", "detect.internal_nets=198.18.0.0/15"]

# Holds one TCP connection to C for `hold` seconds (the twin of the bridge's connection).
HOLDER = textwrap.dedent("""
    import socket, sys, time
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    print("ready", flush=True)
    time.sleep(float(sys.argv[3]))
""")
LISTENER = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print("ready", flush=True)
    conns = []
    while True:
        c, _ = s.accept(); conns.append(c)
""")
# A packet socket held, no connection at all.
PACKET_ONLY = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    print("ready", flush=True)
    time.sleep(float(sys.argv[1]))
""")
NOBODY_PACKET = ("import socket\n"
                 "try:\n socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 768)\n"
                 "except PermissionError: print('refused')\n")


class SoftEther:
    """One SoftEther daemon (`BIN execsvc`) in namespace ns, its state under a temporary
    directory; vpncmd talks to it on its admin port."""

    def __init__(self, ns, binary, tag):
        self.ns, self.binary = ns, binary
        self.dir = hw.tempdir("se-" + tag)
        self.proc = None

    def __enter__(self):
        mounts = []
        for sub, where in (("state", "/var/lib/softether"), ("log", "/var/log/softether"),
                           ("run", "/run/softether")):
            os.makedirs(os.path.join(self.dir, sub))
            parent = os.path.dirname(where)
            # a private tmpfs over the parent (in this mount namespace only), then ours
            mounts.append("mount -t tmpfs hw %s && mkdir %s && mount --bind %s %s"
                          % (parent, where, os.path.join(self.dir, sub), where))
        script = " && ".join(mounts) + " && exec %s execsvc" % self.binary
        self.proc = self.ns.popen(["unshare", "--kill-child", "-mpf", "sh", "-c", script],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise hw.TestFailure("%s exited with %d" % (self.binary, self.proc.returncode))
            if self.vpncmd(["ServerInfoGet"], check_ok=False).returncode == 0:
                return self
            time.sleep(0.5)
        self.__exit__()
        raise hw.TestFailure("%s did not answer vpncmd within 30 s" % self.binary)

    def __exit__(self, *exc):
        if self.proc is not None:
            # unshare --fork ignores SIGTERM; kill_tree ends the daemons under it too
            kill_tree(self.proc.pid, self.proc)
            self.proc = None

    def vpncmd(self, commands, check_ok=True):
        """Runs commands (one a line) through `vpncmd localhost:5555 /SERVER /IN:file`."""
        path = os.path.join(self.dir, "cmds-%d" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write("\n".join(commands) + "\n")
        r = self.ns.run(["vpncmd", "localhost:5555", "/SERVER", "/IN:" + path],
                        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if check_ok:
            check(r.returncode == 0 and "Error occurred" not in r.stdout,
                  "vpncmd %s: %s" % (commands, r.stdout[-1500:]))
        return r


def _install_copy():
    """vpnbridge copied to a system-looking name in a root-owned directory."""
    d = tempfile.mkdtemp(prefix="%s-" % hw.RUN_ID, dir="/usr/local/lib")
    os.chmod(d, 0o755)
    exe = os.path.join(d, "conhost")
    shutil.copy2(os.path.join(SOFTETHER, "vpnbridge", "vpnbridge"), exe)
    os.symlink(HAMCORE, os.path.join(d, "hamcore.se2"))
    return d, exe


def _scenario():
    rec = os.path.join(hw.tempdir("bridge"), "b.rec")
    copy_dir, conhost = _install_copy()
    lan = "l" + hw.RUN_ID[-8:]
    procs = []
    try:
        with Lab3() as lab:
            # the local segment the bridge joins: a veth pair inside B
            subprocess.run(["ip", "-n", lab.b.name, "link", "add", lan + "a", "type", "veth",
                            "peer", "name", lan + "b"], check=True)
            for end in "ab":
                subprocess.run(["ip", "-n", lab.b.name, "link", "set", lan + end, "up"],
                               check=True)
            agent = Agent("--netns", lab.b.path, "--host-name", "b", "--record", rec,
                          *sum((["--set", s] for s in SETTINGS), []))
            with SoftEther(lab.c, os.path.join(SOFTETHER, "vpnserver", "vpnserver"),
                           "c") as server, agent:
                server.vpncmd(["Hub DEFAULT",
                               "UserCreate u1 /GROUP:none /REALNAME:none /NOTE:none",
                               "UserPasswordSet u1 /PASSWORD:%s" % PASSWORD,
                               # UDP acceleration would carry the session off TCP
                               "ExtOptionSet DisableUdpAcceleration /VALUE:true"])

                def start(ns, argv):
                    p = ns.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, text=True, start_new_session=True)
                    procs.append(p)
                    line = p.stdout.readline()
                    check(line.strip() == "ready", "%r did not start: %r" % (argv[:4], line))
                    return p

                py = sys.executable
                # benign twins first, so the bridge's alert is the last thing waited for
                start(lab.c, [py, "-c", LISTENER, C, "8443"])
                # -w - to a discarded stdout: tcpdump hands a -w FILE to its own user (it
                # made /dev/null uid 104's, and every later agent refused its output)
                tcpdump = lab.b.popen(["tcpdump", "-i", lan + "b", "-w", "-"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
                procs.append(tcpdump)
                start(lab.b, [py, "-c", HOLDER, C, "8443", "60"])
                start(lab.b, [py, "-c", PACKET_ONLY, "60"])
                nobody = lab.b.run(["setpriv", "--reuid=65534", "--regid=65534",
                                    "--clear-groups", "/usr/bin/python3", "-c",
                                    NOBODY_PACKET], capture_output=True, text=True)
                check_eq(nobody.stdout.strip(), "refused", "nobody's packet socket")
                with SoftEther(lab.b, conhost, "b") as bridge:
                    bridge.vpncmd(["Hub BRIDGE",
                                   "CascadeCreate c1 /SERVER:%s:443 /HUB:DEFAULT "
                                   "/USERNAME:u1" % C,
                                   "CascadePasswordSet c1 /PASSWORD:%s /TYPE:standard"
                                   % PASSWORD,
                                   "CascadeDetailSet c1 /MAXTCP:1 /INTERVAL:1 /TTL:0 /HALF:no "
                                   "/NOQOS:yes",
                                   "CascadeOnline c1",
                                   "BridgeCreate BRIDGE /DEVICE:%s /TAP:no" % (lan + "a")])
                    a = agent.wait_for(lambda e: get(e, "rule.id") == RULE, timeout=90)
                    status = bridge.vpncmd(["Hub BRIDGE", "CascadeList"]).stdout
                    # the twins' connection has been open as long as the bridge's
                    time.sleep(6)
                lines = agent.lines()
        replay = hw.hopwatch("replay", "-o", "json", *sum((["--set", s] for s in SETTINGS),
                                                          []), rec)
        return {"alert": a, "lines": lines, "replay": replay, "conhost": conhost,
                "status": status, "fact_checked": agent.fact_checked}
    finally:
        for p in reversed(procs):
            kill_tree(p.pid, p)
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        shutil.rmtree(copy_dir, ignore_errors=True)


_result = None


def result():
    global _result
    if _result is None:
        _result = _scenario()
    return _result


def events(action):
    return [e for e in map(hw.parse_event, result()["lines"]) if get(e, "event.action") == action]


def test_raw_bridge_softether_alert():
    res = result()
    a, conhost = res["alert"], res["conhost"]
    check("Online (Established)" in res["status"], "the cascade is up: %s" % res["status"])
    check_eq(get(a, "process.executable"), conhost, "the real path")
    check_eq(get(a, "destination.ip"), C, "the peer")
    check_eq(get(a, "destination.port"), 443, "the peer's port")
    check_eq(get(a, "threat.technique.id"), ["T1572", "T1036.005"], "techniques")
    check(a["message"].startswith("conhost (%s, pid %d) holds a raw socket (packet/raw"
                                  % (conhost, get(a, "process.pid"))), a["message"])
    check("%s:443" % C in a["message"], a["message"])
    check_eq(ecs_schema.validate(a), [], "ECS violations of the alert")
    bridges = [e for e in map(hw.parse_event, res["lines"]) if get(e, "rule.id") == RULE]
    check_eq(len(bridges), 1, "one alert: %s" % [e["message"] for e in bridges])


def test_raw_bridge_softether_events():
    """the bridge's packet sockets are facts with their owner and its trust; every line of the
    run conforms to ECS; the live facts equal their lines (HW_FACT_CHECK)"""
    res = result()
    raws = [e for e in events("raw_socket_opened")
            if get(e, "process.executable") == res["conhost"]]
    check(raws, "raw_socket_opened of conhost")
    packet = [e for e in raws if get(e, "hopwatch.socket.family") == "packet"]
    check(packet, "a packet socket among %s" % [get(e, "hopwatch.socket") for e in raws])
    e = packet[0]
    check_eq(get(e, "event.category"), ["network", "process"], "event.category")
    check_eq(get(e, "event.outcome"), "success", "event.outcome")
    check_eq(get(e, "hopwatch.exe.trusted"), True, "a root-owned copy is trusted")
    check_eq(get(e, "hopwatch.socket.type"), "raw", "the type")
    check(isinstance(get(e, "hopwatch.socket.fd"), int), "the descriptor")
    errs = ecs_schema.validate_lines(res["lines"], "output line")
    check_eq(errs[:10], [], "ECS violations (%d)" % len(errs))
    check(res["fact_checked"], "the agent compared its facts")


def test_raw_bridge_benign_twins_quiet():
    """tcpdump (listed, trusted) with another process's connection open as long; a packet
    socket without a connection; nobody's refused attempt: no alert names them"""
    res = result()
    alerts = [e for e in map(hw.parse_event, res["lines"]) if get(e, "rule.id") == RULE]
    check_eq([get(e, "process.executable") for e in alerts], [res["conhost"]],
             "only conhost alerts")
    tcpdump = [e for e in events("raw_socket_opened")
               if get(e, "process.executable") == "/usr/bin/tcpdump"]
    check(tcpdump, "tcpdump's packet socket was seen")
    check_eq(get(tcpdump[0], "hopwatch.exe.trusted"), True, "tcpdump is trusted")
    holder = [e for e in events("connection_attempted")
              if get(e, "destination.port") == 8443 and get(e, "event.outcome") == "success"]
    check(holder, "the twin's connection to C:8443 was seen")
    refused = [e for e in events("raw_socket_opened") if get(e, "user.id") == "65534"]
    check(refused, "nobody's attempt is a fact")
    check_eq(get(refused[0], "event.outcome"), "failure", "refused")
    check_eq(get(refused[0], "error.code"), "EPERM", "the errno")


def test_raw_bridge_replay_same_alert():
    res = result()
    r = res["replay"]
    check_eq(r.returncode, 0, "replay: " + r.stderr)
    live = [l for l in res["lines"] if '"kind":"alert"' in l and '"%s"' % RULE in l]
    replayed = [l for l in r.stdout.splitlines() if '"%s"' % RULE in l]
    check_eq(replayed, live, "the replayed raw-socket-bridge alert")
