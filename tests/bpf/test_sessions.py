"""Remote-login sessions with a real sshd in network namespaces: logins and failures as PAM
and the kernel see them, session ids on everything a session runs, logouts, and sessions that
began before the agent."""
import os
import subprocess
import time

import hw
from hw import Agent, check, check_eq, get
from sshlab import SshServer, TestUser, ssh, ssh_popen

SERVER = "198.18.0.2"


def by_action(events, action, **fields):
    out = []
    for e in events:
        if get(e, "event.action") != action:
            continue
        if all(get(e, k.replace("__", ".")) == v for k, v in fields.items()):
            out.append(e)
    return out


def client_port(events, pid=None):
    """The source port of the ssh client's connection to the server."""
    att = [e for e in events if get(e, "event.action") == "connection_attempted"
           and get(e, "destination.ip") == SERVER and get(e, "destination.port") == 22
           and (pid is None or get(e, "process.pid") == pid)]
    return [get(e, "source.port") for e in att]


def on_server(events, ns):
    """Process events of the server's namespace (the ssh client's command line holds the same
    markers as the commands it runs on the server)."""
    ino = os.stat(ns.path).st_ino
    return [e for e in events if get(e, "event.category") == ["process"]
            and get(e, "hopwatch.netns") == ino]


def session_procs(events, sid):
    return [e for e in events if get(e, "event.category") == ["process"]
            and get(e, "hopwatch.session.id") == sid]


def args_of(e):
    return " ".join(get(e, "process.args") or [])


def test_key_login_session_and_logout():
    with hw.Lab() as lab, SshServer(lab.b, SERVER) as srv, TestUser("k") as u:
        u.authorize(srv)
        with Agent() as agent:
            r = ssh(lab.a, u, SERVER, "id -un; sleep 0.3; echo marker-%s" % hw.RUN_ID)
            check_eq(r.returncode, 0, "ssh exit: " + r.stderr)
            agent.wait_for(lambda e: get(e, "event.action") == "user_logout" and
                           get(e, "user.name") == u.name)
        events = agent.events()
        server_procs = on_server(events, lab.b)
    # the agent sees the whole host: this test's user (unique to the run) is the one counted
    logins = by_action(events, "user_login", user__name=u.name)
    check_eq(len(logins), 1, "one login: %r" % [get(e, "event.outcome") for e in logins])
    lg = logins[0]
    check_eq(get(lg, "event.outcome"), "success", "outcome")
    check_eq(get(lg, "event.category"), ["authentication"], "category")
    check_eq(get(lg, "user.name"), u.name, "user name")
    check_eq(get(lg, "user.id"), str(u.uid), "user id")
    check_eq(get(lg, "source.ip"), "198.18.0.1", "source ip")
    check_eq([get(lg, "source.port")], client_port(events), "source port = the client's port")
    check_eq((get(lg, "destination.ip"), get(lg, "destination.port")), (SERVER, 22), "local end")
    check_eq(get(lg, "hopwatch.session.service"), "sshd", "service")
    check_eq(get(lg, "hopwatch.session.auth_method"), "publickey", "auth method")
    # root sshd, pam_loginuid gave the login the user's uid: the kernel confirms it
    check_eq(get(lg, "hopwatch.login.verified"), True, "verified")
    sid = get(lg, "hopwatch.session.id")
    check(sid, "session id")
    procs = session_procs(events, sid)
    check(any(args_of(e) == "id -un" for e in procs), "the session's commands carry its id")
    check(any(("marker-" + hw.RUN_ID) in args_of(e) for e in procs), "the shell carries its id")
    outside = [e for e in server_procs
               if "marker-" + hw.RUN_ID in args_of(e) and get(e, "hopwatch.session.id") != sid]
    check_eq(outside, [], "no process of the session without its id")
    lo = by_action(events, "user_logout")
    check_eq(len(lo), 1, "one logout")
    lo = lo[0]
    check_eq(get(lo, "hopwatch.session.id"), sid, "logout names the session")
    dur = get(lo, "event.duration")
    check(dur and 3e8 <= dur < 60e9, "plausible duration %r" % dur)
    check(get(lo, "source.bytes") > 0 and get(lo, "destination.bytes") > 0, "bytes each way")
    check_eq(get(lo, "hopwatch.session.ended_by"), "client", "the client ended it")


def test_password_success_and_failure():
    pw = "Pw-%s-ok" % hw.RUN_ID
    with hw.Lab() as lab, SshServer(lab.b, SERVER) as srv, TestUser("p", password=pw) as u:
        with Agent() as agent:
            bad = ssh(lab.a, u.name, SERVER, "true", password="wrong-" + pw)
            check(bad.returncode != 0, "wrong password refused")
            good = ssh(lab.a, u.name, SERVER, "true", password=pw)
            check_eq(good.returncode, 0, "right password: " + good.stderr)
            agent.wait_for(lambda e: get(e, "event.action") == "user_logout")
        events = agent.events()
    fails = by_action(events, "user_login", event__outcome="failure")
    check_eq(len(fails), 1, "one failure for one wrong password (not one more at the close)")
    f = fails[0]
    check_eq(get(f, "user.name"), u.name, "user tried")
    check_eq(get(f, "source.ip"), "198.18.0.1", "failure source")
    check_eq(get(f, "hopwatch.session.auth_method"), "password", "failed method")
    check_eq(get(f, "event.reason"), "authentication failed", "reason")
    ok = by_action(events, "user_login", event__outcome="success")
    check_eq(len(ok), 1, "one success")
    check_eq(get(ok[0], "hopwatch.session.auth_method"), "password", "password method")
    check_eq(get(ok[0], "user.name"), u.name, "user")
    check(get(ok[0], "source.port") != get(f, "source.port"), "two connections")


def test_rejected_key_is_a_failure():
    with hw.Lab() as lab, SshServer(lab.b, SERVER), TestUser("r") as u:
        with Agent() as agent:
            r = ssh(lab.a, u, SERVER, "true")  # its key is not authorized
            check(r.returncode != 0, "unauthorized key refused")
            agent.wait_for(lambda e: get(e, "event.action") == "user_login")
            time.sleep(0.3)
        events = agent.events()
    fails = by_action(events, "user_login", event__outcome="failure")
    check_eq(len(fails), 1, "one failure")
    check_eq(get(fails[0], "event.reason"), "closed before login", "reason")
    check_eq(get(fails[0], "user.name"), u.name, "the user name tried")
    check_eq([get(fails[0], "source.port")], client_port(events), "failure source port")
    check_eq(by_action(events, "user_login", event__outcome="success"), [], "no success")
    check_eq(by_action(events, "user_logout"), [], "no logout without a login")


def test_sudo_and_setsid_keep_the_session():
    sudoers = "/etc/sudoers.d/%s" % hw.RUN_ID
    with hw.Lab() as lab, SshServer(lab.b, SERVER) as srv, TestUser("s") as u:
        u.authorize(srv)
        with open(sudoers, "w") as f:
            f.write("%s ALL=(ALL) NOPASSWD: ALL\n" % u.name)
        os.chmod(sudoers, 0o440)
        try:
            with Agent() as agent:
                r = ssh(lab.a, u, SERVER,
                        "sudo -n -i sh -c 'echo sudo-%s'; "
                        "setsid nohup sh -c 'sleep 1; echo bg-%s' >/dev/null 2>&1 < /dev/null &"
                        % (hw.RUN_ID, hw.RUN_ID))
                check_eq(r.returncode, 0, "ssh: " + r.stderr)
                agent.wait_for(lambda e: get(e, "event.action") == "exec"
                               and "bg-" + hw.RUN_ID in args_of(e)
                               and get(e, "process.name") == "echo"
                               or (get(e, "event.action") == "exit"
                                   and "bg-" + hw.RUN_ID in args_of(e)), timeout=15)
            events = on_server(agent.events(), lab.b) + by_action(agent.events(), "user_login")
        finally:
            os.unlink(sudoers)
    sid = get(by_action(events, "user_login", event__outcome="success")[0], "hopwatch.session.id")
    sudo_sh = [e for e in events if get(e, "event.action") == "exec"
               and "sudo-" + hw.RUN_ID in args_of(e) and get(e, "user.id") == "0"]
    check(sudo_sh, "the command run through sudo -i, as root")
    for e in sudo_sh:
        check_eq(get(e, "hopwatch.session.id"), sid, "sudo -i keeps the session id")
    bg = [e for e in events if get(e, "event.action") == "exec" and "bg-" + hw.RUN_ID in
          args_of(e)]
    check(bg, "the setsid nohup background job")
    for e in bg:
        check_eq(get(e, "hopwatch.session.id"), sid, "setsid/nohup keep the session id")
        check(get(e, "process.parent.pid") is not None, "lineage")


def test_session_opened_before_the_agent():
    with hw.Lab() as lab, SshServer(lab.b, SERVER) as srv, TestUser("b") as u:
        u.authorize(srv)
        t0 = time.time()
        with ssh_popen(lab.a, u, SERVER, "echo up; sleep 30") as s:
            check_eq(s.stdout.readline().strip(), "up", "session up")
            time.sleep(1.5)
            with Agent() as agent:
                pass
            events = agent.events()
    ex = by_action(events, "existing_session")
    check_eq(len(ex), 1, "the earlier session is found: %r" % ex)
    e = ex[0]
    check_eq(get(e, "event.kind"), "state", "kind")
    check_eq(get(e, "user.name"), u.name, "user")
    check_eq(get(e, "source.ip"), "198.18.0.1", "source")
    check_eq(get(e, "hopwatch.session.service"), "sshd", "service")
    start = get(e, "hopwatch.session.start")
    st = time.mktime(time.strptime(start[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    check(t0 - 2 <= st <= t0 + 2, "true start time %s (connected at %.0f)" % (start, t0))
    sid = get(e, "hopwatch.session.id")
    sleeps = [x for x in events if get(x, "event.action") == "existing_process"
              and args_of(x) == "sleep 30"]
    check_eq(len(sleeps), 1, "the session's sleep is in the snapshot")
    check_eq(get(sleeps[0], "hopwatch.session.id"), sid, "and carries the session id")
    check_eq(get(events[0], "hopwatch.agent.snapshot.sessions"), 1, "agent-started counts it")


def test_two_concurrent_sessions_stay_separate():
    with hw.Lab() as lab, SshServer(lab.b, SERVER) as srv, TestUser("c") as u:
        u.authorize(srv)
        subprocess.run(["ip", "-n", lab.a.name, "addr", "add", "198.18.0.3/24", "dev",
                        "va" + lab.veth], check=True)
        with Agent() as agent:
            s1 = ssh_popen(lab.a, u, SERVER, "echo one-%s; sleep 2" % hw.RUN_ID,
                           extra_opts=["-b", "198.18.0.1"])
            s2 = ssh_popen(lab.a, u, SERVER, "echo two-%s; sleep 2" % hw.RUN_ID,
                           extra_opts=["-b", "198.18.0.3"])
            with s1, s2:
                check_eq(s1.stdout.readline().strip(), "one-" + hw.RUN_ID, "session 1")
                check_eq(s2.stdout.readline().strip(), "two-" + hw.RUN_ID, "session 2")
                s1.wait(20)
                s2.wait(20)
            agent.wait_for(lambda e: len(by_action(agent.events(), "user_logout")) == 2)
        events = agent.events()
        server_procs = on_server(events, lab.b)
    logins = by_action(events, "user_login", event__outcome="success")
    check_eq(len(logins), 2, "two logins")
    src = {get(e, "source.ip"): get(e, "hopwatch.session.id") for e in logins}
    check_eq(sorted(src), ["198.18.0.1", "198.18.0.3"], "two sources")
    check(src["198.18.0.1"] != src["198.18.0.3"], "two session ids")
    for tag, ip in (("one-", "198.18.0.1"), ("two-", "198.18.0.3")):
        mine = [e for e in server_procs if tag + hw.RUN_ID in args_of(e)]
        check(mine, "commands of session " + tag)
        for e in mine:
            check_eq(get(e, "hopwatch.session.id"), src[ip], "each command in its own session")
    outs = {get(e, "source.ip"): get(e, "hopwatch.session.id")
            for e in by_action(events, "user_logout")}
    check_eq(outs, src, "each logout names its own session")
