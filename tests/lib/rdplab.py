"""A real xrdp lab for the remote-desktop tests: Debian's xrdp and xrdp-sesman inside a network
namespace, and FreeRDP's xfreerdp as the client from another one.

    with Lab3() as lab, XrdpServer(lab.b) as srv, TestUser("r", password="...") as u, \\
            Display() as dpy:
        rdp_login_to_sesman(srv, lab.a, dpy, u.name, u.password, "198.18.0.2")  # /auth-only

xrdp runs as Debian runs it (user xrdp, one process forked per connection, fork=true) and
xrdp-sesman as root, both from Debian's configuration with only the log files (in the lab's
directory, no syslog) and the TLS key (made here, readable by xrdp) changed; sesman listens on
its default 127.0.0.1:3350 (inside the namespace). A good password starts a real desktop:
Xorg with xorgxrdp and the user's ~/startwm.sh (sesman.ini's EnableUserWindowManager), else
Debian's /etc/xrdp/startwm.sh. The session outlives the client (xrdp's default) and ends when
its window manager ends. xfreerdp needs an X display even with /auth-only: Display() is an
Xvfb on a display number it picks itself (-displayfd), reached through its socket file, which
works from any network namespace.

Everything is ended by PID (sshlab.kill_tree, a tree walked in /proc) and deleted by path.
"""
import os
import shutil
import subprocess
import time

import hw
from sshlab import kill_tree

XRDP = "/usr/sbin/xrdp"
SESMAN = "/usr/sbin/xrdp-sesman"
XFREERDP = shutil.which("xfreerdp") or "/usr/bin/xfreerdp"
XVFB = shutil.which("Xvfb") or "/usr/bin/Xvfb"


def _ini(src, dst, changes):
    """Copies the ini file src to dst with the keys of changes set (in any section)."""
    out = []
    with open(src) as f:
        for line in f:
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.lstrip().startswith((";", "#")) and key in changes:
                line = "%s=%s\n" % (key, changes[key])
            out.append(line)
    with open(dst, "w") as f:
        f.writelines(out)


def _listening(ns, port):
    p = ns.run(["ss", "-Htln", "sport = :%d" % port], capture_output=True, text=True)
    return p.returncode == 0 and "LISTEN" in p.stdout


class XrdpServer:
    """xrdp-sesman (sesman: its executable) and xrdp in namespace ns (port 3389), ended on
    exit."""

    def __init__(self, ns, sesman=SESMAN):
        self.ns = ns
        self.sesman_exe = sesman
        self.dir = None
        self.sesman = self.xrdp = None

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self):
        if not os.path.isdir("/run/xrdp/sockdir"):  # what xrdp.service runs before xrdp
            subprocess.run(["sh", "/usr/share/xrdp/socksetup"], check=True)
        self.dir = "/run/hw-rdp-%s" % hw.RUN_ID
        os.mkdir(self.dir, 0o755)
        key, cert = os.path.join(self.dir, "key.pem"), os.path.join(self.dir, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=hw-rdp-lab"],
                       check=True, capture_output=True)
        log = os.path.join(self.dir, "xrdp.log")
        open(log, "w").close()
        shutil.chown(key, "xrdp")
        shutil.chown(log, "xrdp")
        _ini("/etc/xrdp/xrdp.ini", os.path.join(self.dir, "xrdp.ini"),
             {"certificate": cert, "key_file": key, "LogFile": log, "EnableSyslog": "false"})
        _ini("/etc/xrdp/sesman.ini", os.path.join(self.dir, "sesman.ini"),
             {"LogFile": os.path.join(self.dir, "sesman.log"), "EnableSyslog": "false"})
        self._err = open(os.path.join(self.dir, "stderr"), "w")
        self.sesman = self.ns.popen([self.sesman_exe, "--nodaemon", "--config",
                                     os.path.join(self.dir, "sesman.ini")],
                                    stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err)
        self._wait(3350, self.sesman, "xrdp-sesman")
        self.xrdp = self.ns.popen(["setpriv", "--reuid=xrdp", "--regid=xrdp", "--init-groups",
                                   XRDP, "--nodaemon", "--config",
                                   os.path.join(self.dir, "xrdp.ini")],
                                  stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err)
        self._wait(3389, self.xrdp, "xrdp")

    def _wait(self, port, proc, what, timeout=10):
        deadline = time.time() + timeout
        while not _listening(self.ns, port):
            if proc.poll() is not None:
                raise hw.TestFailure("%s exited with %d: %s" % (what, proc.returncode,
                                                                self.diagnostics()))
            if time.time() > deadline:
                raise hw.TestFailure("%s did not listen on %d within %ss: %s"
                                     % (what, port, timeout, self.diagnostics()))
            time.sleep(0.05)

    def __exit__(self, *exc):
        try:
            for attr in ("xrdp", "sesman"):  # sesman's tree holds the desktops
                proc = getattr(self, attr)
                if proc is not None:
                    kill_tree(proc.pid, proc)
                    setattr(self, attr, None)
        finally:
            if getattr(self, "_err", None):
                self._err.close()
                self._err = None
            if self.dir and os.environ.get("HW_KEEP_RDPLAB") is None:
                shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, which="sesman"):
        try:
            with open(os.path.join(self.dir, which + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, which="sesman", timeout=10):
        deadline = time.time() + timeout
        while text not in self.log(which):
            if time.time() > deadline:
                raise hw.TestFailure("%r not in the %s log within %ss:\n%s"
                                     % (text, which, timeout, self.log(which)[-3000:]))
            time.sleep(0.05)
        return self.log(which)

    def diagnostics(self):
        try:
            with open(os.path.join(self.dir, "stderr"), errors="replace") as f:
                err = f.read()
        except OSError:
            err = ""
        return "stderr: %s xrdp log: %s sesman log: %s" % (
            err[-1000:], self.log("xrdp")[-1500:], self.log("sesman")[-1500:])


class Display:
    """An Xvfb for the client, on the first free display number (-displayfd)."""

    def __init__(self):
        self.proc = None
        self.name = None

    def __enter__(self):
        r, w = os.pipe()
        try:
            self.proc = subprocess.Popen([XVFB, "-displayfd", str(w), "-nolisten", "tcp",
                                          "-screen", "0", "1024x768x24"], pass_fds=(w,),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            os.close(w)
            w = None
            with os.fdopen(r) as f:
                r = None
                num = f.readline().strip()
            if not num.isdigit():
                raise hw.TestFailure("Xvfb gave no display number")
            self.name = ":" + num
        except BaseException:
            for fd in (r, w):
                if fd is not None:
                    os.close(fd)
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            kill_tree(self.proc.pid, self.proc)
            self.proc = None


def rdp_login(ns, display, user, password, host, timeout=60):
    """xfreerdp /auth-only from ns: connects, sends the credentials (xrdp logs in from them:
    autologon), leaves. Returns the CompletedProcess."""
    env = dict(os.environ, DISPLAY=display.name, HOME=hw.tempdir("rdp-client"))
    return ns.run([XFREERDP, "/v:" + host, "/u:" + user, "/p:" + password, "/cert:ignore",
                   "/auth-only"], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                  text=True, timeout=timeout)


def rdp_client(ns, display, user, password, host):
    """A full xfreerdp client from ns that stays connected (its window on the Xvfb display)
    until ended: a Popen in a session of its own, for kill_tree. Its output goes to a file
    (returned second) that a failing test can show."""
    env = dict(os.environ, DISPLAY=display.name, HOME=hw.tempdir("rdp-client"))
    log = os.path.join(hw.tempdir("rdp-client-log"), "xfreerdp.log")
    with open(log, "wb") as f:
        p = ns.popen([XFREERDP, "/v:" + host, "/u:" + user, "/p:" + password, "/cert:ignore",
                      "/size:800x600", "-clipboard"], env=env, stdin=subprocess.DEVNULL,
                     stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    return p, log


def rdp_login_to_sesman(srv, ns, display, user, password, host, tries=3):
    """rdp_login until xrdp passed the credentials on to sesman (a new connection in sesman's
    log). xfreerdp /auth-only leaves right after the TLS handshake; xrdp goes on with the
    login without its client, unless it noticed the client leave first (a race, about one
    try in five here): such a try is one more RDP connection that closed before any login."""
    mark = "connection received from"
    for _ in range(tries):
        before = srv.log().count(mark)
        rdp_login(ns, display, user, password, host)
        deadline = time.time() + 10
        while time.time() < deadline:
            if srv.log().count(mark) > before:
                return
            time.sleep(0.1)
    raise hw.TestFailure("xrdp passed no login to sesman in %d tries: %s"
                         % (tries, srv.diagnostics()))

