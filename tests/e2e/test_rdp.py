"""Remote desktop logins (T1021.001) with Debian's real xrdp on B and FreeRDP's xfreerdp on A,
watched by an agent scoped to B: a wrong password, a good one whose desktop (the user's
~/startwm.sh under a real Xorg with xorgxrdp) connects on to C's ssh port and outlives the
client, a reconnection to that desktop, and an untrusted copy of xrdp-sesman that cannot make an RDP login of what it does.

What the agent must say: user_login failure and success with service xrdp, the client's
address and the user, unverified (Debian's xrdp PAM stack has no pam_loginuid); the desktop's
processes in the session by lineage, so lateral-movement and long-session fire for it; the
logout when the desktop ends, not when the client leaves."""
import json
import os
import shutil
import subprocess
import textwrap
import time

import hw
from hw import Agent, check, check_eq, get
from lab3 import ADDR, Lab3
from rdplab import Display, XrdpServer, rdp_client, rdp_login_to_sesman
from sshlab import TestUser, kill_tree

A, B, C = ADDR["a"], ADDR["b"], ADDR["c"]
SETTINGS = ["--set", "detect.internal_nets=198.18.0.0/15", "--set", "detect.long_session=4s"]
PASSWORD = "Rdp-pw-7"

# The desktop: writes its pid, connects to C:22 and holds the connection (the window manager
# is the session: when it ends, sesman ends the desktop).
STARTWM = textwrap.dedent("""\
    #!/bin/bash
    echo $$ > "$HOME/wm.pid"
    exec 3<>/dev/tcp/%s/22 || exit 1
    exec sleep 120
""") % C

# A listener on C:22 that holds what it accepts.
HOLDER = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], 22)); s.listen(8); print("ready", flush=True)
    held = []
    while True:
        held.append(s.accept()[0])
""")


def action(ev):
    return get(ev, "event.action")


def logins(agent, outcome=None):
    return [e for e in agent.events() if action(e) == "user_login"
            and (outcome is None or get(e, "event.outcome") == outcome)]


def give_startwm(u):
    path = os.path.join(u.home, "startwm.sh")
    with open(path, "w") as f:
        f.write(STARTWM)
    os.chmod(path, 0o755)
    shutil.chown(path, u.name, u.name)


def wm_pid(u, timeout=40):
    path = os.path.join(u.home, "wm.pid")
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                pid = f.read().strip()
            if pid.isdigit():
                return int(pid)
        except OSError:
            pass
        time.sleep(0.1)
    raise hw.TestFailure("the desktop's startwm.sh did not start within %ss" % timeout)


def test_rdp_logins():
    rec = os.path.join(hw.tempdir("rdp"), "b.rec")
    ctl = os.path.join(hw.tempdir("ctl"), "run", "agent.sock")
    with Lab3() as lab, XrdpServer(lab.b) as srv, TestUser("r", password=PASSWORD) as u, \
            Display() as dpy, Agent("--netns", lab.b.path, "--host-name", "b", "--record", rec,
                                    "--set", "agent.control_socket=" + ctl, *SETTINGS) as ag:
        give_startwm(u)
        holder = lab.c.popen(["python3", "-c", HOLDER, C], stdout=subprocess.PIPE, text=True)
        try:
            check_eq(holder.stdout.readline().strip(), "ready", "listener on C")

            # a wrong password: sesman's pam_authenticate fails
            rdp_login_to_sesman(srv, lab.a, dpy, u.name, "not-it", B)
            srv.wait_log("pam_authenticate failed", timeout=15)
            bad = ag.wait_for(lambda e: action(e) == "user_login" and
                              get(e, "event.outcome") == "failure" and
                              get(e, "event.reason") == "authentication failed", timeout=15)
            check_eq(get(bad, "hopwatch.session.service"), "xrdp", "service")
            check_eq(get(bad, "source.ip"), A, "the client's address")
            check_eq(get(bad, "user.name"), u.name, "the user tried")
            check_eq(get(bad, "hopwatch.session.auth_method"), "password", "auth method")
            check_eq(os.path.basename(get(bad, "process.executable")), "xrdp-sesman",
                     "the process that asked libpam")

            # the good password: a desktop, which outlives the client
            rdp_login_to_sesman(srv, lab.a, dpy, u.name, PASSWORD, B)
            srv.wait_log("Session started successfully for user %s" % u.name, timeout=40)
            ok = ag.wait_for(lambda e: action(e) == "user_login" and
                             get(e, "event.outcome") == "success", timeout=15)
            sid = get(ok, "hopwatch.session.id")
            check(sid and sid != get(bad, "hopwatch.session.id"), "a session of its own")
            check_eq(get(ok, "hopwatch.session.service"), "xrdp", "service")
            check_eq(get(ok, "source.ip"), A, "the client's address")
            check_eq(get(ok, "user.name"), u.name, "user")
            check_eq(get(ok, "hopwatch.session.auth_method"), "password", "auth method")
            check_eq(get(ok, "hopwatch.login.verified"), False, "verified")
            check("pam_loginuid" in get(ok, "hopwatch.login.unverified_reason", ""),
                  "why unverified: %r" % get(ok, "hopwatch.login.unverified_reason"))

            # the desktop's processes are in the session by lineage: its hop to C
            wm = wm_pid(u)
            lat = ag.wait_for(lambda e: get(e, "rule.id") == "lateral-movement", timeout=15)
            check_eq(get(lat, "hopwatch.session.id"), sid, "the hop's session")
            check_eq((get(lat, "destination.ip"), get(lat, "destination.port")), (C, 22),
                     "the hop's destination")
            check_eq(get(lat, "source.ip"), A, "the session's source")
            check_eq(get(lat, "user.name"), u.name, "the hop's user")
            procs = [e for e in ag.events() if action(e) == "exec" and
                     get(e, "process.pid") == wm]
            check(procs and all(get(e, "hopwatch.session.id") == sid for e in procs),
                  "startwm.sh's exec in the session: %r" % procs)
            xorg = [e for e in ag.events() if action(e) == "exec" and
                    get(e, "process.executable") == "/usr/lib/xorg/Xorg"]
            check(xorg and get(xorg[0], "hopwatch.session.id") == sid, "Xorg in the session")

            # the client left long ago: the desktop is still the session
            long = ag.wait_for(lambda e: get(e, "rule.id") == "long-session" and
                               get(e, "hopwatch.session.id") == sid, timeout=15)
            check(long, "long-session")
            # a reconnection to the running desktop by a client that stays: sesman accepts
            # the password and runs reconnectwm.sh, no new PAM session; the login is said
            # while the client is still connected, not when it leaves
            client, client_log = rdp_client(lab.a, dpy, u.name, PASSWORD, B)
            try:
                srv.wait_log("++ reconnected session: username %s" % u.name, timeout=40)
                again = ag.wait_for(lambda e: action(e) == "user_login" and
                                    get(e, "event.outcome") == "unknown", timeout=15)
                with open(client_log, errors="replace") as f:
                    check(client.poll() is None, "the RDP client still connected when its "
                          "reconnection was said: exit %r, %s" % (client.returncode,
                                                                   f.read()[-2000:]))
                rdp_in = [e for e in ag.events() if action(e) == "connection_accepted" and
                          get(e, "destination.port") == 3389 and get(e, "source.ip") == A]
                rdp_out = [e for e in ag.events() if action(e) == "disconnect" and
                           get(e, "destination.port") == 3389 and get(e, "source.ip") == A]
                check_eq(len(rdp_out), len(rdp_in) - 1,
                         "every RDP connection but the reconnected client's closed")
            finally:
                kill_tree(client.pid, client)
            check_eq(get(again, "event.reason"),
                     "the password was accepted, and no session was opened", "reconnection")
            check_eq((get(again, "source.ip"), get(again, "user.name"),
                      get(again, "hopwatch.session.service")), (A, u.name, "xrdp"),
                     "the reconnection's client, user, service")
            check(get(again, "hopwatch.session.id") not in (sid, get(bad, "hopwatch.session.id")),
                  "the reconnection's session")

            # the two clients that left at once closed (the reconnected one was ended above:
            # when xrdp closes its end is xrdp's business)
            rdp_closed = [e for e in ag.events() if action(e) == "disconnect" and
                          get(e, "destination.port") == 3389 and
                          get(e, "source.ip") == A]
            check(len(rdp_closed) >= 2, "the RDP connections closed: %d" % len(rdp_closed))
            check_eq([e for e in ag.events() if action(e) == "user_logout" and
                      get(e, "hopwatch.session.id") == sid], [],
                     "a logout while the desktop runs")
            # `hopwatch sessions` asks the agent: the desktop is an open session, no client
            p = hw.hopwatch("sessions", "-o", "json", "--set", "agent.control_socket=" + ctl,
                            timeout=60)
            check_eq(p.returncode, 0, "hopwatch sessions: %s" % p.stderr)
            live = [json.loads(line) for line in p.stdout.splitlines()]
            live = [x for x in live if x["id"] == sid]
            check_eq(len(live), 1, "the desktop's session asked live")
            check_eq((live[0]["user"], live[0]["service"], live[0]["open"],
                      live[0]["source"]["ip"]), (u.name, "xrdp", True, A), "its live row")

            # the desktop ends: the logout
            os.kill(wm, 15)
            out = ag.wait_for(lambda e: action(e) == "user_logout" and
                              get(e, "hopwatch.session.id") == sid, timeout=40)
            # the reconnection's own session ended when its client left (killed above, so
            # its logout may come before the desktop's or after it): its logout, and no
            # logout of any other session
            again_sid = get(again, "hopwatch.session.id")
            ag.wait_for(lambda e: action(e) == "user_logout" and
                        get(e, "hopwatch.session.id") == again_sid, timeout=15)
            check_eq(sorted(get(e, "hopwatch.session.id") for e in ag.events()
                            if action(e) == "user_logout"), sorted([sid, again_sid]),
                     "the logouts: the desktop's and the reconnection's, once each")
            check_eq(get(out, "user.name"), u.name, "logout's user")
            check_eq(get(out, "source.ip"), A, "logout's source")
            check(get(out, "event.duration", 0) > 4e9,
                  "the session's duration runs to the desktop's end: %r"
                  % get(out, "event.duration"))
            check_eq(os.path.basename(get(out, "process.executable")), "xrdp-sesman",
                     "the desktop process")
            srv.wait_log("++ terminated session:  username %s" % u.name, timeout=10)
            # besides: a try whose client xrdp saw leave before it asked sesman (a retry)
            told = [e for e in logins(ag) if get(e, "event.reason") != "closed before login"]
            check_eq(len(told), 3, "logins: %r" % [get(e, "event.reason") for e in told])
            check_eq(len(logins(ag, "success")), 1, "successful logins")
        finally:
            kill_tree(holder.pid, holder)
    # `hopwatch sessions` on the recording: the desktop's session, from its login to the
    # desktop's end, with the startwm.sh hop and its alert
    p = hw.hopwatch("sessions", "-o", "json", "--set", "detect.internal_nets=198.18.0.0/15",
                    rec, timeout=120)
    check_eq(p.returncode, 0, "hopwatch sessions: %s" % p.stderr)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    r = [x for x in rows if x["id"] == sid]
    check_eq(len(r), 1, "the RDP session in %r" % [x["id"] for x in rows])
    r = r[0]
    check_eq((r["user"], r["service"], r["open"], r["source"]["ip"]),
             (u.name, "xrdp", False, A), "the RDP session's row")
    check(r["duration_ns"] > 4e9, "its duration: %r" % r["duration_ns"])
    hops = [(c["ip"], c["port"]) for c in r["connections"] if c["hop"]]
    check_eq(hops, [(C, 22)], "its hop")
    check("lateral-movement" in [a["rule"] for a in r["alerts"]], "alerts: %r" % r["alerts"])


def test_rdp_untrusted_sesman():
    """An xrdp-sesman that is not the trusted file (a copy in a directory others can write)
    serves the real xrdp and really logs the user in: no RDP login comes of it, because a
    name is never trusted; the real xrdp's session ends as a connection that never logged
    in."""
    fake_dir = hw.tempdir("fake-sesman")
    os.chmod(fake_dir, 0o777)
    fake = os.path.join(fake_dir, "xrdp-sesman")
    shutil.copy("/usr/sbin/xrdp-sesman", fake)
    os.chmod(fake, 0o755)
    with Lab3() as lab, XrdpServer(lab.b, sesman=fake) as srv, \
            TestUser("f", password=PASSWORD) as u, Display() as dpy, \
            Agent("--netns", lab.b.path, "--host-name", "b", *SETTINGS) as ag:
        give_startwm(u)
        rdp_login_to_sesman(srv, lab.a, dpy, u.name, PASSWORD, B)
        srv.wait_log("Session started successfully for user %s" % u.name, timeout=40)
        wm = wm_pid(u)
        ev = ag.wait_for(lambda e: action(e) == "exec" and get(e, "process.pid") == wm,
                         timeout=10)
        check_eq(get(ev, "hopwatch.exe.trusted"), True, "bash is trusted")
        failed = ag.wait_for(lambda e: action(e) == "user_login", timeout=15)
        check_eq((get(failed, "event.outcome"), get(failed, "event.reason")),
                 ("failure", "closed before login"), "the real xrdp's session")
        check_eq(get(failed, "hopwatch.session.service"), "xrdp", "service")
        time.sleep(1)
        check_eq(logins(ag, "success"), [], "a login through an untrusted sesman")
        check(get(ev, "hopwatch.session.id") is None,
              "the fake sesman's desktop in a session: %r" % get(ev, "hopwatch.session.id"))
