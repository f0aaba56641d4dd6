"""The real-sshd lab (tests/lib/sshlab.py) works: logins from A to sshd on B go through PAM
(pam_loginuid sets loginuid and a fresh sessionid), passwords and keys are accepted or refused
as they should be without hanging, and nothing of the lab survives its context managers."""
import os
import pwd
import select
import time

import hw
import sshlab
from hw import check, check_eq
from sshlab import SshServer, TestUser, ssh, ssh_popen

B = "198.18.0.2"


def read_line(proc, timeout=10):
    """The next stdout line of a Popen, or TestFailure after timeout. It reads the pipe with
    os.read and keeps what follows the line on the Popen: select() on a buffered file object
    would wait for bytes the buffer already holds (two short lines arrive in one read), until
    the remote command ends."""
    buf = getattr(proc, "hw_line_buf", b"")
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        ready = select.select([proc.stdout.fileno()], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            raise hw.TestFailure("no output line from ssh within %ss (got %r)" % (timeout, buf))
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            raise hw.TestFailure("ssh output ended without a line (got %r)" % buf)
        buf += chunk
    line, _, proc.hw_line_buf = buf.partition(b"\n")
    return line.decode().strip()


def test_key_login():
    with hw.Lab() as lab, SshServer(lab.b, B) as srv, TestUser("k") as u:
        u.authorize(srv)
        p = ssh(lab.a, u, B, "id -un; cat /proc/self/loginuid; echo; cat /proc/self/sessionid")
        check_eq(p.returncode, 0, "ssh exit (stderr %r)" % p.stderr)
        lines = p.stdout.split()
        check_eq(len(lines), 3, "output lines %r" % p.stdout)
        check_eq(lines[0], u.name, "remote user")
        check_eq(int(lines[1]), u.uid, "loginuid")
        check(int(lines[2]) != sshlab.UNSET_ID, "sessionid unset: pam_loginuid did not run")
        log = srv.wait_log("Accepted publickey for %s from 198.18.0.1" % u.name)
        check("Starting session: command for %s" % u.name in log, "no session in sshd log")


def test_password_login():
    with hw.Lab() as lab, SshServer(lab.b, B) as srv, TestUser("p", password="Hw-pw-1") as u:
        # PAM's pam_unix delays a failure by about 2s: the failing logins run while the
        # good ones do.
        bad = [ssh_popen(lab.a, u.name, B, "id -un", password="not-it", helper=h)
               for h in ("sshpass", "askpass")]
        try:
            good_askpass = ssh_popen(lab.a, u.name, B, "id -un", password=u.password,
                                     helper="askpass")
            with good_askpass:
                p = ssh(lab.a, u.name, B, "id -un", password=u.password)  # sshpass
                check_eq((p.returncode, p.stdout.strip()), (0, u.name),
                         "sshpass login (stderr %r)" % p.stderr)
                out, err = good_askpass.communicate(timeout=15)
                check_eq((good_askpass.returncode, out.strip()), (0, u.name),
                         "askpass login (stderr %r)" % err)
            for b in bad:
                out, err = b.communicate(timeout=15)
                check(b.returncode != 0, "wrong password logged in: %r" % out)
                check_eq(out, "", "output of a refused login")
                check("Permission denied" in err, "ssh stderr %r" % err)
        finally:
            for b in bad:
                b.end()
        log = srv.wait_log("Failed password for %s from 198.18.0.1" % u.name)
        check_eq(log.count("Failed password for %s " % u.name), 2, "failed passwords logged")
        check_eq(log.count("Accepted password for %s " % u.name), 2, "accepted passwords")


def test_unauthorized_key():
    with hw.Lab() as lab, SshServer(lab.b, B) as srv, TestUser("n") as u, \
            TestUser("o") as other:
        u.authorize(srv)
        start = time.time()
        p = ssh(lab.a, u, B, "id -un", key=other.key_path)  # a key the server doesn't know
        check_eq(p.returncode, 255, "ssh exit with a foreign key (stdout %r)" % p.stdout)
        check("Permission denied (publickey" in p.stderr, "ssh stderr %r" % p.stderr)
        p = ssh(lab.a, other, B, "id -un")  # a user with no authorized key at all
        check_eq(p.returncode, 255, "ssh exit without authorized keys")
        check(time.time() - start < 10, "refused key logins took %.1fs" % (time.time() - start))
        check("Accepted" not in srv.log(), "sshd accepted something:\n" + srv.log())


def test_concurrent_sessions():
    with hw.Lab() as lab, SshServer(lab.b, B) as srv, TestUser("c") as u:
        u.authorize(srv)
        # long enough that the first is still there when the second has logged in
        cmd = "cat /proc/self/loginuid; echo; cat /proc/self/sessionid; echo; sleep 20"
        with ssh_popen(lab.a, u, B, cmd) as s1, ssh_popen(lab.a, u, B, cmd) as s2:
            got = [(read_line(s, 15), read_line(s, 15)) for s in (s1, s2)]
            check(s1.poll() is None and s2.poll() is None, "sessions not concurrent")
            for loginuid, _ in got:
                check_eq(int(loginuid), u.uid, "loginuid")
            ids = [int(sid) for _, sid in got]
            check(sshlab.UNSET_ID not in ids, "sessionid unset: %r" % ids)
            check(ids[0] != ids[1], "both sessions have sessionid %d" % ids[0])
            for s in (s1, s2):
                check_eq(s.wait(40), 0, "session exit")


def test_teardown():
    with hw.Lab() as lab:
        with SshServer(lab.b, B) as srv, TestUser("t", password="Hw-pw-2") as u:
            u.authorize(srv)
            with open(srv.pid_path) as f:
                check_eq(int(f.read()), srv.pid, "PidFile")
            # A session still running at exit: the lab must end it.
            left = ssh_popen(lab.a, u, B, "echo up; sleep 30")
            check_eq(read_line(left), "up", "session start")
            tree = sshlab._tree(srv.pid)
            check(len(tree) >= 4, "sshd tree %r lacks the session" % tree)
            name, uid, home, dirs = u.name, u.uid, u.home, (srv.dir, u.dir)
        try:
            for pid, _ in tree:
                check(not sshlab.alive(pid), "pid %d of the lab's sshd tree remains" % pid)
            try:
                pwd.getpwnam(name)
                raise hw.TestFailure("user %s still exists" % name)
            except KeyError:
                pass
            check(not os.path.exists(home), "home %s remains" % home)
            for d in dirs:
                check(not os.path.exists(d), "%s remains" % d)
            for pid in sshlab._all_pids():
                try:
                    with open("/proc/%d/status" % pid) as f:
                        uids = [ln for ln in f if ln.startswith("Uid:")][0].split()[1:]
                except (OSError, IndexError):
                    continue
                check(str(uid) not in uids or not sshlab.alive(pid),
                      "pid %d of uid %d remains" % (pid, uid))
            # The server going away ended the client's connection too.
            check(left.wait(10) != 0, "client still connected")
        finally:
            left.end()
