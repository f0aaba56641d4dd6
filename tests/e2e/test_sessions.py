"""`hopwatch sessions` against what a real lab did: sshd on B (and C), two logins — one from
A made before the agent started, one from D while it runs, which hops on to C with ssh — the
agent recording B (--record). While both sessions are open, the live one-shot mode (no FILE:
/proc and sock_diag, no BPF) lists both; afterwards `hopwatch sessions REC` lists both, the
first still open with its true start, the second ended with its hop and the alert, and
--tree shows the ssh process with its connection to C."""
import calendar
import subprocess
import json
import os
import time

import hw
from hw import Agent, check, check_eq, get, hopwatch
from lab3 import ADDR, Lab3
from sshlab import HOP_SSH_OPTS, SshServer, TestUser, give_key, ssh_popen

A, B, C, D = (ADDR[h] for h in "abcd")
NETS = ("--set", "detect.internal_nets=198.18.0.0/15")


def wall(rfc):
    """RFC 3339 UTC to seconds since the epoch (float)."""
    return calendar.timegm(time.strptime(rfc[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + rfc[20:29])


def rows(*args):
    p = hopwatch("sessions", "-o", "json", *NETS, *args, timeout=120)
    check_eq(p.returncode, 0, "hopwatch sessions %r: %s" % (args, p.stderr))
    return [json.loads(line) for line in p.stdout.splitlines()]


def by_source(rs, ip):
    got = [r for r in rs if r["source"]["ip"] == ip]
    check_eq(len(got), 1, "one session from %s in %r" % (ip, [r["source"] for r in rs]))
    return got[0]


def test_sessions_of_a_real_lab():
    rec = os.path.join(hw.tempdir("sessions"), "b.rec")
    with Lab3() as lab, SshServer(lab.b, B) as sb, SshServer(lab.c, C) as sc, \
            TestUser("s") as u:
        u.authorize(sb)
        u.authorize(sc)
        give_key(u)
        # the first session, from A, before the agent
        t1 = time.time()
        with ssh_popen(lab.a, u, B, "echo up; exec sleep 120") as s1:
            check_eq(s1.stdout.readline().strip(), "up", "first login")
            t1_up = time.time()
            time.sleep(2)
            ctl = os.path.join(hw.tempdir("ctl"), "run", "agent.sock")
            with Agent("--netns", lab.b.path, "--host-name", "b", "--record", rec, *NETS,
                       "--set", "agent.control_socket=" + ctl) as ag:
                ag_start = time.time()
                # the second, from D, while it runs: a command, then ssh on to C (held open)
                t2 = time.time()
                hop = "ssh %s %s 'echo on-c; exec sleep 120'" % (HOP_SSH_OPTS, C)
                with ssh_popen(lab.d, u, B, "echo up; id -un; %s" % hop) as s2:
                    check_eq(s2.stdout.readline().strip(), "up", "second login")
                    t2_up = time.time()
                    check_eq(s2.stdout.readline().strip(), u.name, "id -un")
                    check_eq(s2.stdout.readline().strip(), "on-c", "the hop to C")
                    live = rows("--netns", lab.b.path)
                    ag.wait_for(lambda e: get(e, "rule.id") == "lateral-movement", timeout=15)
                    asked = rows("--set", "agent.control_socket=" + ctl)
                    p = hopwatch("sessions", "--netns", lab.b.path)
                    check_eq(p.returncode, 0, "live table: " + p.stderr)
                    live_table = p.stdout
                    s2.end()
                ag.wait_for(lambda e: get(e, "event.action") == "user_logout", timeout=15)
            t_end = time.time()
            check(s1.poll() is None, "the first session is still open")
            # the live mode once more, now that the second one ended
            live_after = rows("--netns", lab.b.path)

    # --- live, both open ---
    check_eq(len(live), 2, "two sessions live: %r" % live)
    l1, l2 = by_source(live, A), by_source(live, D)
    for r, lo, hi in ((l1, t1, t1_up), (l2, t2, t2_up)):
        check_eq((r["user"], r["service"], r["open"]), (u.name, "sshd", True), "live row")
        check(lo - 1 <= wall(r["start"]) <= hi + 0.5,
              "live since %s within the login (%.3f..%.3f)" % (r["start"], lo, hi))
        check_eq(r["destination"], {"ip": B, "port": 22}, "the service's end")
        check(r["bytes_from_client"] > 0 and r["bytes_to_client"] > 0, "bytes: %r" % r)
    check("sleep" in l1["programs"], "the first session's sleep: %r" % l1["programs"])
    check("ssh" in l2["programs"], "the second session's ssh: %r" % l2["programs"])
    hops = [c for c in l2["connections"] if c["hop"]]
    check_eq([(c["ip"], c["port"], c["process"]) for c in hops], [(C, 22, "ssh")],
             "live: the open hop to C")
    check_eq(l1["outbound"], 0, "nothing out of the first")
    check(l1["duration_ns"] >= 2 * 10**9, "the first is older than the agent: %r" % l1)
    check(A + ":" in live_table and D + ":" in live_table and "open" in live_table,
          live_table)
    check_eq([r["source"]["ip"] for r in live_after], [A], "live after the logout: the first")

    # --- the running agent, asked at its control socket, both open ---
    check_eq(len(asked), 2, "two sessions from the agent: %r" % asked)
    a1, a2 = by_source(asked, A), by_source(asked, D)
    for r, snap in ((a1, l1), (a2, l2)):
        check_eq((r["id"], r["user"], r["service"], r["open"], r["destination"]),
                 (snap["id"], u.name, "sshd", True, {"ip": B, "port": 22}),
                 "the agent's row is the snapshot's session")
        check(abs(wall(r["start"]) - wall(snap["start"])) < 0.01,
              "the same true start: %s %s" % (r["start"], snap["start"]))
        check(r["bytes_from_client"] > 0 and r["bytes_to_client"] > 0, "bytes: %r" % r)
    check_eq(a1["before_agent"], True, "the first began before the agent")
    check("sleep" in a1["programs"], a1["programs"])
    check("ssh" in a2["programs"], a2["programs"])
    check_eq([(c["ip"], c["port"], c["process"]) for c in a2["connections"] if c["hop"]],
             [(C, 22, "ssh")], "the agent: the open hop to C")
    # what only the running agent knows: the alert it raised on the hop
    check("lateral-movement" in [x["rule"] for x in a2["alerts"]],
          "the agent's alert on the second: %r" % a2["alerts"])
    check_eq(a1["alerts"], [], "none on the first")
    check(not os.path.exists(ctl), "the agent removed its socket at exit")

    # --- the recording ---
    rs = rows(rec)
    check_eq(len(rs), 2, "two sessions in the recording: %r" % rs)
    r1, r2 = by_source(rs, A), by_source(rs, D)
    check_eq((r1["user"], r1["before_agent"], r1["open"]), (u.name, True, True), "first")
    check(t1 - 1 <= wall(r1["start"]) <= t1_up + 0.5,
          "since %s is the real login (%.3f..%.3f), not the agent's start %.3f"
          % (r1["start"], t1, t1_up, ag_start))
    # each process turns the kernel's clock into wall time once: a few µs apart at most
    check(abs(wall(r1["start"]) - wall(l1["start"])) < 0.01,
          "the same start live and recorded: %s %s" % (r1["start"], l1["start"]))
    check_eq(r1["id"], l1["id"], "the same session id live and recorded")
    check("sleep" in r1["programs"], r1["programs"])
    check_eq((r2["user"], r2["before_agent"], r2["open"]), (u.name, False, False), "second")
    check(t2 - 0.5 <= wall(r2["start"]) <= t2_up + 0.5, "second since %s" % r2["start"])
    check(wall(r2["start"]) <= wall(r2["end"]) <= t_end, "ended: %r" % r2["end"])
    check_eq(r2["id"], l2["id"], "the same id for the second")
    check(r2["bytes_from_client"] > 0 and r2["bytes_to_client"] > 0, "bytes at logout")
    for prog in ("bash", "id", "ssh"):
        check(prog in r2["programs"], "%s in %r" % (prog, r2["programs"]))
    hops = [c for c in r2["connections"] if c["hop"]]
    check_eq([(c["ip"], c["port"], c["process"], c["failed"]) for c in hops],
             [(C, 22, "ssh", False)], "the hop to C")
    check("lateral-movement" in [a["rule"] for a in r2["alerts"]], "alerts: %r" % r2["alerts"])
    check_eq(r1["alerts"], [], "no alert about the first")

    # --- the table and the tree ---
    p = hopwatch("sessions", *NETS, rec)
    check_eq(p.returncode, 0, p.stderr)
    lines = p.stdout.splitlines()
    row1 = [line for line in lines if (A + ":") in line][0].split()
    row2 = [line for line in lines if (D + ":") in line][0].split()
    check_eq((row1[0], row1[1], row1[2]), ("b", u.name, "sshd"), "first row")
    check(row1[5].endswith("*") and row1[6] == "open", "since* and open: %r" % row1)
    check(row2[6] != "open" and C + ":22" in row2, "ended, hop to C: %r" % row2)
    check("lateral-movement" in row2, row2)
    p = hopwatch("sessions", *NETS, "--tree", r2["id"], rec)
    check_eq(p.returncode, 0, p.stderr)
    tree = p.stdout.splitlines()
    ssh = [i for i, line in enumerate(tree) if "ssh[" in line]
    check(ssh, "the ssh process in the tree: %s" % p.stdout)
    check(any(line.strip().startswith("-> tcp %s:22 from %s:" % (C, B))
              for line in tree[ssh[0] + 1:ssh[0] + 4]), "its connection: %s" % p.stdout)


def test_control_socket_is_roots():
    """The agent's socket is 0600 in a 0700 directory; loosened, it still answers only uid 0
    (SO_PEERCRED): nobody gets one line and exit 1. A stale socket is replaced; a second
    agent leaves a live one alone (a warning) and the first keeps answering."""
    top = hw.tempdir("ctl")
    ctl = os.path.join(top, "run", "agent.sock")
    os.makedirs(os.path.dirname(ctl), mode=0o700)
    import socket
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(ctl)
    stale.close()  # a socket file nobody listens on: an agent killed with -9
    with Agent("--set", "agent.control_socket=" + ctl) as ag:
        st = os.stat(ctl)
        check_eq(oct(st.st_mode & 0o7777), oct(0o600), "socket mode")
        check_eq(oct(os.stat(os.path.dirname(ctl)).st_mode & 0o7777), oct(0o700), "dir mode")
        p = hopwatch("sessions", "-o", "json", "--set", "agent.control_socket=" + ctl)
        check_eq(p.returncode, 0, "root is answered: " + p.stderr)
        with Agent("--set", "agent.control_socket=" + ctl) as second:
            check("another agent answers at %s" % ctl in second.read_stderr(),
                  "the second agent's warning: %r" % second.read_stderr())
            second.stop()
        check(os.path.exists(ctl), "the second agent left the first's socket")
        os.chmod(os.path.dirname(ctl), 0o755)
        os.chmod(top, 0o755)
        os.chmod(ctl, 0o666)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            hw.BIN, "sessions", "--set", "agent.control_socket=" + ctl],
                           capture_output=True, text=True, timeout=30)
        check_eq(p.returncode, 1, "nobody: " + p.stderr)
        check_eq(p.stdout, "", "nothing listed")
        check_eq(p.stderr.splitlines(), ["hopwatch: refused: only root may read the running "
                                         "agent's state"], "one line")
        p = hopwatch("sessions", "-o", "json", "--set", "agent.control_socket=" + ctl)
        check_eq(p.returncode, 0, "the first still answers root: " + p.stderr)
        ag.stop()
    check(not os.path.exists(ctl), "removed at exit")
    # a directory others may write is refused (the agent runs on, without the socket)
    os.makedirs(os.path.join(top, "open"), mode=0o777)
    os.chmod(os.path.join(top, "open"), 0o777)
    with Agent("--set", "agent.control_socket=" + os.path.join(top, "open", "a.sock")) as ag:
        check("is not root's alone" in ag.read_stderr(), ag.read_stderr())
        ag.stop()


def test_live_refusals():
    """The live mode is root's; a bad --netns is bad usage. One line each."""
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           hw.BIN, "sessions"], capture_output=True, text=True, timeout=30)
    check_eq(p.returncode, 1, "not root: " + p.stderr)
    check_eq(p.stdout, "", "nothing listed")
    check_eq(len(p.stderr.splitlines()), 1, "one line: %r" % p.stderr)
    check("need root" in p.stderr, p.stderr)
    for path, why in (("/etc/passwd", "not a network namespace"),
                      ("/nonexistent-%s" % hw.RUN_ID, "No such file")):
        p = hopwatch("sessions", "--netns", path)
        check_eq(p.returncode, 2, "--netns %s: %s" % (path, p.stderr))
        check_eq(len(p.stderr.splitlines()), 1, "one line: %r" % p.stderr)
        check(why in p.stderr, p.stderr)


def test_control_socket_accepts_only_when_a_client_waits():
    """The poll loop waits on the control socket with the ring: accept4 is asked when a client
    waits, never in vain every round (a refused accept4 makes and frees a socket and a file).
    Traced with strace for 2 s of quiet, then one client: one accept4 answered, at most one
    refused (the round asks for more waiting clients until none is)."""
    top = hw.tempdir("ctl")
    ctl = os.path.join(top, "run", "agent.sock")
    trace = os.path.join(top, "accept4.trace")
    with Agent("--set", "agent.control_socket=" + ctl) as ag:
        st = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=accept4", "-o", trace,
                               "-p", str(ag.proc.pid)], stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(2.0)
            p = hopwatch("sessions", "-o", "json", "--set", "agent.control_socket=" + ctl)
            check_eq(p.returncode, 0, "root is answered: " + p.stderr)
            time.sleep(0.5)
        finally:
            st.send_signal(2)
            _, err = st.communicate(timeout=30)
        with open(trace) as f:
            calls = [line for line in f if "accept4(" in line]
        answered = [c for c in calls if c.split("=")[-1].strip().split()[0].isdigit()]
        refused = [c for c in calls if "EAGAIN" in c]
        check_eq(len(answered), 1, "accept4 calls answered: %r (strace: %s)" % (calls, err))
        check(len(refused) <= 1, "accept4 calls refused: %d of %d: %r"
              % (len(refused), len(calls), calls[:5]))
        ag.stop()
