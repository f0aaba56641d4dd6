"""A real OpenSSH lab for the remote-login tests: sshd inside a network namespace, local test
users with keys and passwords, and an ssh client run from another namespace.

    with hw.Lab() as lab, SshServer(lab.b, "198.18.0.2") as srv, TestUser("k") as u:
        u.authorize(srv)
        p = ssh(lab.a, u, "198.18.0.2", "id -un")            # key login (u.key_path)
        p = ssh(lab.a, u.name, "198.18.0.2", "true", password="...")
        with ssh_popen(lab.a, u, "198.18.0.2", "sleep 30") as s:
            ...                                              # s.end() or leaving the block ends it

Everything is ended by PID (a process tree walked in /proc, each PID checked against its start
time before a signal) and deleted by name; no name-based kill is ever used. sshd runs from its
own config, host key, PidFile and log in a root-owned 0755 directory under /run (so sshd's
StrictModes accepts the authorized-keys path), listens on port 22 inside the namespace only,
and never touches a system sshd. Login goes through PAM (Debian's /etc/pam.d/sshd, with
pam_loginuid), as on a real host.
"""
import atexit
import os
import pwd
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import hw

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = "/run/sshd"
LAB_BASE = "/run"  # root-owned 0755 all the way up, as StrictModes wants
SSHPASS = shutil.which("sshpass")
UNSET_ID = 4294967295  # loginuid / sessionid of a process outside any login


# ---------------------------------------------------------------- processes, by PID only

def _stat(pid):
    """(ppid, starttime, state) of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[19]), rest[0]


def alive(pid):
    """True if pid exists and is not a zombie."""
    st = _stat(pid)
    return st is not None and st[2] not in ("Z", "X")


def _same_live(pid, start):
    st = _stat(pid)
    return st is not None and st[1] == start and st[2] not in ("Z", "X")


def _all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _tree(root):
    """[(pid, starttime)] of root and all its descendants, parents first."""
    st = _stat(root)
    if st is None:
        return []
    children = {}
    for pid in _all_pids():
        s = _stat(pid)
        if s is not None:
            children.setdefault(s[0], []).append((pid, s[1]))
    out, todo = [(root, st[1])], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def _signal(procs, sig):
    for pid, start in procs:
        st = _stat(pid)
        if st is not None and st[1] == start:  # same process, not a reused PID
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def _wait_gone(procs, timeout):
    deadline = time.time() + timeout
    while True:
        left = [(p, s) for p, s in procs if _same_live(p, s)]
        if not left or time.time() > deadline:
            return left
        time.sleep(0.02)


def kill_tree(root, popen=None, timeout=3):
    """Ends root and every descendant, found by PID: SIGTERM, then SIGKILL after timeout.
    popen, if given, is the Popen of root and is reaped. Returns nothing; raises if any
    process survives SIGKILL."""
    procs = _tree(root)
    _signal(procs, signal.SIGTERM)
    if popen is not None:
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    left = _wait_gone(procs, timeout)
    if left:
        _signal(left + _tree(root), signal.SIGKILL)
        if popen is not None:
            popen.wait(5)
        left = _wait_gone(left, 5)
    if popen is not None and popen.poll() is None:
        popen.kill()
        popen.wait(5)
    if left:
        raise hw.TestFailure("processes survived SIGKILL: %r" % left)


def kill_uid(uid, timeout=3):
    """Ends every process whose real or effective uid is uid (a test user of this run)."""
    if uid == 0:
        raise ValueError("refusing to kill root's processes")

    def owned():
        out = []
        for pid in _all_pids():
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            ids = [int(x) for x in line.split()[1:3]]
                            break
                    else:
                        continue
            except OSError:
                continue
            st = _stat(pid)
            if uid in ids and st is not None and st[2] not in ("Z", "X"):
                out.append((pid, st[1]))
        return out

    for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGKILL):
        procs = owned()
        if not procs:
            return
        _signal(procs, sig)
        _wait_gone(procs, timeout)
    if owned():
        raise hw.TestFailure("processes of uid %d survive: %r" % (uid, owned()))


def _ns_name(ns):
    return ns if isinstance(ns, str) else ns.name


# ---------------------------------------------------------------- sshd

class SshServer:
    """sshd -D in namespace ns, listening on addr port 22, with a private config, host key,
    PidFile, log and authorized-keys directory (keys/<user>) in its own directory."""

    def __init__(self, ns, addr, extra_config=""):
        self.ns = _ns_name(ns)
        self.addr = addr
        self.port = 22
        self.extra_config = extra_config
        self.dir = None
        self.proc = None
        self.pid = None

    # Paths, valid once started.
    @property
    def config_path(self):
        return os.path.join(self.dir, "sshd_config")

    @property
    def log_path(self):
        return os.path.join(self.dir, "sshd.log")

    @property
    def pid_path(self):
        return os.path.join(self.dir, "sshd.pid")

    @property
    def keys_dir(self):
        return os.path.join(self.dir, "keys")

    @property
    def host_key_path(self):
        return os.path.join(self.dir, "ssh_host_ed25519_key")

    def _config(self):
        # sshd keeps the first value it reads for most keywords: extra settings go first so
        # they win, and any Match blocks of extra_config go last, where Match must be.
        lines = self.extra_config.splitlines()
        cut = next((i for i, l in enumerate(lines) if l.strip().lower().startswith("match ")),
                   len(lines))
        head, match = lines[:cut], lines[cut:]
        ours = [
            "Port %d" % self.port,  # before ListenAddress, which uses it
            "ListenAddress %s" % self.addr,
            "HostKey %s" % self.host_key_path,
            "PidFile %s" % self.pid_path,
            "UsePAM yes",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AuthorizedKeysFile %s/%%u" % self.keys_dir,
            "StrictModes %s" % ("yes" if self._strict_ok() else "no"),
            "PermitRootLogin no",
            "LogLevel VERBOSE",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "LoginGraceTime 20",
            "MaxStartups 50:30:100",
        ]
        return "\n".join(head + ours + match) + "\n"

    def _strict_ok(self):
        """True if every directory from the keys dir up to / is root-owned and not group- or
        world-writable, as sshd's StrictModes requires."""
        path = self.keys_dir
        while True:
            st = os.stat(path)
            if st.st_uid != 0 or st.st_mode & 0o022:
                return False
            if path == "/":
                return True
            path = os.path.dirname(path)

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self, timeout=10):
        # sshd refuses to start without its privilege separation directory.
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=hw.RUN_ID + "-sshd-", dir=LAB_BASE)
        os.chmod(self.dir, 0o755)  # the user must reach keys/<user>: sshd reads it as them
        os.mkdir(self.keys_dir)
        os.chmod(self.keys_dir, 0o755)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", hw.RUN_ID,
                        "-f", self.host_key_path], check=True, stdin=subprocess.DEVNULL,
                       capture_output=True)
        with open(self.config_path, "w") as f:
            f.write(self._config())
        t = subprocess.run([SSHD, "-t", "-f", self.config_path], capture_output=True, text=True)
        if t.returncode != 0:
            raise hw.TestFailure("sshd -t rejects the lab config: %s" % t.stderr.strip())
        self._stderr = open(os.path.join(self.dir, "sshd.stderr"), "w")
        # ip netns exec execs sshd, and sshd -D does not fork: the PID is sshd's own.
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, SSHD, "-D", "-f",
                                      self.config_path, "-E", self.log_path],
                                     stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, start_new_session=True)
        self.pid = self.proc.pid
        # Ready once a LISTEN socket on addr:22 exists in sshd's own namespace: the kernel
        # accepts from then on. Read from /proc/PID/net (that namespace's view), so that no
        # probe connection shows up in the sshd log or in an agent's events.
        deadline = time.time() + timeout
        while not self._listening():
            if self.proc.poll() is not None:
                raise hw.TestFailure("sshd exited with %d: %s" % (self.proc.returncode,
                                                                  self.diagnostics()))
            if time.time() > deadline:
                raise hw.TestFailure("sshd did not listen on %s:22 in %s within %ss: %s"
                                     % (self.addr, self.ns, timeout, self.diagnostics()))
            time.sleep(0.01)
        with open("/proc/%d/comm" % self.pid) as f:
            comm = f.read().strip()
        hw.check(comm == "sshd", "pid %d is %r, not sshd" % (self.pid, comm))

    def __exit__(self, *exc):
        try:
            if self.proc is not None:
                # The listener, each connection's monitor, and the sessions under them.
                kill_tree(self.pid, self.proc)
                self.proc = None
        finally:
            if getattr(self, "_stderr", None):
                self._stderr.close()
                self._stderr = None
            if self.dir and os.environ.get("HW_KEEP_SSHLAB") is None:
                shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout=5):
        """Waits until text appears in the sshd log; returns the log."""
        deadline = time.time() + timeout
        while True:
            log = self.log()
            if text in log:
                return log
            if time.time() > deadline:
                raise hw.TestFailure("%r not in sshd log within %ss:\n%s" % (text, timeout,
                                                                             log[-3000:]))
            time.sleep(0.05)

    def _listening(self):
        fam = socket.AF_INET6 if ":" in self.addr else socket.AF_INET
        want = socket.inet_pton(fam, self.addr)
        table = "/proc/%d/net/%s" % (self.pid, "tcp6" if fam == socket.AF_INET6 else "tcp")
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            return False
        for row in rows:
            cols = row.split()
            local, state = cols[1], cols[3]
            hexaddr, hexport = local.split(":")
            # The kernel prints the address as 32-bit words in host (little-endian) order.
            raw = b"".join(struct.pack("<I", int(hexaddr[i:i + 8], 16))
                           for i in range(0, len(hexaddr), 8))
            if state == "0A" and int(hexport, 16) == self.port and raw == want:
                return True
        return False

    def diagnostics(self):
        try:
            with open(os.path.join(self.dir, "sshd.stderr"), errors="replace") as f:
                err = f.read()
        except OSError:
            err = ""
        return "stderr: %s log: %s" % (err[-1500:], self.log()[-1500:])


# ---------------------------------------------------------------- users

class TestUser:
    """A local user hw<pid>x<suffix> with a home, /bin/bash, an optional password and an
    ed25519 key pair without passphrase; removed with its home and its processes on exit."""

    __test__ = False  # not a test class

    def __init__(self, name_suffix, password=None):
        self.name = "%sx%s" % (hw.RUN_ID, name_suffix)
        if len(self.name) > 32 or not name_suffix.replace("_", "").isalnum() \
                or name_suffix.lower() != name_suffix:
            raise ValueError("bad user name %r (lowercase letters, digits, _; <= 32 chars)"
                             % self.name)
        self.password = password
        self.uid = None
        self.home = None
        self.dir = None
        self.key_path = None
        self._authorized = []
        self._created = False

    def __enter__(self):
        try:
            self._create()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _create(self):
        for attempt in range(20):  # another run may hold the /etc/passwd lock
            p = subprocess.run(["useradd", "-m", "-s", "/bin/bash", self.name],
                               capture_output=True, text=True)
            if p.returncode == 0 or "lock" not in p.stderr:
                break
            time.sleep(0.25)
        if p.returncode != 0:
            raise hw.TestFailure("useradd %s: %s" % (self.name, p.stderr.strip()))
        self._created = True
        pw = pwd.getpwnam(self.name)
        self.uid, self.home = pw.pw_uid, pw.pw_dir
        if self.password is not None:
            subprocess.run(["chpasswd"], input="%s:%s\n" % (self.name, self.password),
                           text=True, check=True, capture_output=True)
        self.dir = tempfile.mkdtemp(prefix=self.name + "-key-")
        self.key_path = os.path.join(self.dir, "id_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.name,
                        "-f", self.key_path], check=True, stdin=subprocess.DEVNULL,
                       capture_output=True)

    @property
    def pubkey(self):
        with open(self.key_path + ".pub") as f:
            return f.read()

    def authorize(self, server, key_path=None):
        """Adds this user's public key (or key_path's .pub) to server's authorized keys."""
        path = os.path.join(server.keys_dir, self.name)
        with open((key_path or self.key_path) + ".pub") as f:
            pub = f.read()
        with open(path, "a") as f:
            f.write(pub if pub.endswith("\n") else pub + "\n")
        os.chmod(path, 0o644)  # root-owned, read by sshd as the user
        self._authorized.append(path)
        return path

    def __exit__(self, *exc):
        try:
            if self._created:
                if self.uid:
                    kill_uid(self.uid)  # sessions left over, which block userdel
                for attempt in range(20):
                    p = subprocess.run(["userdel", "-r", self.name], capture_output=True,
                                       text=True)
                    if p.returncode in (0, 12) or "lock" not in p.stderr:
                        break
                    time.sleep(0.25)
                try:
                    pwd.getpwnam(self.name)
                    raise hw.TestFailure("userdel %s failed: %s" % (self.name, p.stderr))
                except KeyError:
                    self._created = False
                if self.home and os.path.isdir(self.home) \
                        and os.path.basename(self.home) == self.name:
                    shutil.rmtree(self.home, ignore_errors=True)
        finally:
            for path in self._authorized:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- client

_ASKPASS = "#!/bin/sh\nprintf '%s\\n' \"$HW_SSH_PASSWORD\"\n"


def _askpass_script():
    """A script printing $HW_SSH_PASSWORD: one per run, removed when the run exits."""
    d = os.path.join(tempfile.gettempdir(), hw.RUN_ID + "-askpass")
    path = os.path.join(d, "askpass")
    if not os.path.exists(path):
        os.makedirs(d, mode=0o700, exist_ok=True)
        atexit.register(shutil.rmtree, d, True)
        with open(path + ".tmp", "w") as f:
            f.write(_ASKPASS)
        os.chmod(path + ".tmp", 0o700)
        os.rename(path + ".tmp", path)
    return path


def ssh_argv(ns, user, host, command, key=None, password=None, extra_opts=(), helper=None):
    """(argv, env) for the ssh client run in ns. user is a name or a TestUser; host an
    address or an SshServer; command a string for the remote shell or a list (quoted).
    Without key and password, a TestUser's own key is used. helper for passwords is
    "sshpass" (the default when installed) or "askpass" (SSH_ASKPASS, forced)."""
    name = user if isinstance(user, str) else user.name
    if key is None and password is None and not isinstance(user, str):
        key = user.key_path
    if key is None and password is None:
        raise ValueError("ssh needs a key or a password")
    if isinstance(host, SshServer):
        host = host.addr
    if not isinstance(command, str):
        command = " ".join(shlex.quote(c) for c in command)
    opts = ["-F", "/dev/null",  # neither ~/.ssh/config nor /etc/ssh/ssh_config
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=5", "-o", "IdentityAgent=none",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
    env.pop("DISPLAY", None)
    pre = []
    if key is not None:
        opts += ["-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                 "-o", "PreferredAuthentications=publickey", "-o", "PubkeyAuthentication=yes",
                 "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no"]
    else:
        opts += ["-o", "BatchMode=no", "-o", "PreferredAuthentications=password",
                 "-o", "PubkeyAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
                 "-o", "PasswordAuthentication=yes", "-o", "NumberOfPasswordPrompts=1"]
        helper = helper or ("sshpass" if SSHPASS else "askpass")
        if helper == "sshpass":
            pre = [SSHPASS or "sshpass", "-e"]  # password from $SSHPASS, not argv
            env["SSHPASS"] = password
        elif helper == "askpass":
            env["SSH_ASKPASS"] = _askpass_script()
            env["SSH_ASKPASS_REQUIRE"] = "force"
            env["HW_SSH_PASSWORD"] = password
        else:
            raise ValueError("unknown password helper %r" % helper)
    argv = (["ip", "netns", "exec", _ns_name(ns)] + pre + ["ssh"] + opts + list(extra_opts)
            + ["-l", name, host, "--", command])
    return argv, env


class SshSession(subprocess.Popen):
    """A running ssh client (Popen, text mode). end() or leaving a with block ends the client
    and whatever it started (sshpass's ssh child), by PID."""

    def end(self, timeout=3):
        kill_tree(self.pid, self, timeout)
        return self.returncode

    def __exit__(self, *exc):
        try:
            self.end()
        finally:
            for f in (self.stdout, self.stderr, self.stdin):
                if f:
                    f.close()


def ssh_popen(ns, user, host, command, key=None, password=None, extra_opts=(), helper=None,
              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL):
    """Starts ssh (see ssh_argv) and returns an SshSession; .pid is the client's PID (ssh,
    or sshpass in front of it), in a session and process group of its own."""
    argv, env = ssh_argv(ns, user, host, command, key, password, extra_opts, helper)
    return SshSession(argv, env=env, stdin=stdin, stdout=stdout, stderr=stderr, text=True,
                      start_new_session=True)


def ssh(ns, user, host, command, key=None, password=None, extra_opts=(), helper=None,
        timeout=30, input=None):
    """Runs ssh (see ssh_argv) to completion; returns a CompletedProcess (text). The exit
    code is the remote command's, 255 for an ssh failure, 5 when sshpass sees a wrong
    password. On timeout the client tree is killed and TestFailure raised."""
    p = ssh_popen(ns, user, host, command, key, password, extra_opts, helper,
                  stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
    try:
        out, err = p.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.end()
        raise hw.TestFailure("ssh %s@%s %r hung for %ss" % (
            getattr(user, "name", user), getattr(host, "addr", host), command, timeout))
    finally:
        if p.returncode is None:
            p.end()
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


# ---------------------------------------------------------------- hops from inside the lab

# ssh options for a hop from a lab host as a test user, with the key give_key() put in ~/.ssh
HOP_SSH_OPTS = ("-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                "-o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5 -i ~/.ssh/id_ed25519")


def give_key(u):
    """The user's own key in ~/.ssh, readable by the user, to hop from B to C."""
    d = os.path.join(u.home, ".ssh")
    os.makedirs(d, exist_ok=True)
    with open(u.key_path) as f:
        key = f.read()
    path = os.path.join(d, "id_ed25519")
    with open(path, "w") as f:
        f.write(key)
    for p in (d, path):
        os.chown(p, u.uid, u.uid)
    os.chmod(d, 0o700)
    os.chmod(path, 0o600)
