"""Helpers shared by the Python test tiers: run the agent, read its events, make namespaces.

Everything started here is ended by PID, and every name carries this run's pid so two runs
never collide.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "hopwatch")
STATIC_BIN = os.path.join(ROOT, "build", "hopwatch-static")
RUN_ID = "hw%d" % os.getpid()


class TestFailure(Exception):
    pass


def tempdir(tag):
    """A temporary directory named for this run, removed when the test process exits (also
    after a failure: the events stay readable until then)."""
    d = tempfile.mkdtemp(prefix="%s-%s-" % (RUN_ID, tag))
    atexit.register(shutil.rmtree, d, True)
    return d


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def hopwatch(*args, binary=BIN, timeout=60, **kw):
    """Runs hopwatch to completion; returns the CompletedProcess (text mode)."""
    return subprocess.run([binary] + list(args), capture_output=True, text=True,
                          timeout=timeout, **kw)


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise TestFailure("duplicate JSON keys in an event: %r" % keys)
    return dict(pairs)


def parse_event(line):
    """One event line; every object of it must have unique keys (a consumer would silently
    keep only one of two)."""
    return json.loads(line, object_pairs_hook=_no_duplicates)


def get(ev, dotted, default=None):
    cur = ev
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


# argv: address, file. Listens on an ephemeral port of the address, prints it, sends the file's
# bytes to the first client and closes: a download for the file-fact tests (bpf/files*).
SERVE_FILE_PY = r"""
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
with open(sys.argv[2], "rb") as f:
    c.sendall(f.read())
c.close()
"""

FACT_CHECK = re.compile(r"hopwatch: fact check: (\d+) events, (\d+) differ")


class Agent:
    """A running `hopwatch run` writing JSON lines to a temporary file.

    Every test agent runs with the fact check (HW_FACT_CHECK=1, user/agent/check.c): each fact
    the engine is fed straight from a view is compared with the fact read back from the line
    written for it. When the agent stops, fact_checked is how many events it compared (None
    when it said nothing, e.g. killed), and any difference fails the test."""

    def __init__(self, *args, binary=BIN, fmt="json", fact_check=True):
        self.dir = tempdir("agent")
        self.path = os.path.join(self.dir, "events.out")
        self.stderr_path = os.path.join(self.dir, "stderr")
        # the control socket only where a test asks for one: agents of parallel tests would
        # otherwise meet at the default path
        ctl = [] if any("agent.control_socket" in str(a) for a in args) \
            else ["--set", "agent.control_socket="]
        self.args = [binary, "run", "-o", fmt, "--output", self.path] + ctl + list(args)
        self.env = dict(os.environ, HW_FACT_CHECK="1") if fact_check else None
        self.proc = None
        self.rc = None
        self.fact_checked = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        self.stop(judge=exc_type is None)

    def start(self, timeout=30):
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("agent exited early with %d: %s" % (self.proc.returncode,
                                                                      self.read_stderr()))
            if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
                return self
            time.sleep(0.05)
        self.stop()
        raise TestFailure("agent did not start within %ds" % timeout)

    def stop(self, sig=signal.SIGINT, timeout=30, judge=True):
        """Stops the agent; raises TestFailure when a fact differed from its line (unless
        judge is false: the test is already failing)."""
        if self.proc is None:
            return self.rc
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.rc = self.proc.returncode
        self.proc = None
        self.stderr.close()
        m = FACT_CHECK.search(self.read_stderr()) if self.env else None
        if m:
            self.fact_checked = int(m.group(1))
            if int(m.group(2)) and judge:
                raise TestFailure("facts built from views differ from their lines: %s"
                                  % self.read_stderr()[-3000:])
        return self.rc

    def wait(self, timeout=60):
        self.proc.wait(timeout)
        return self.stop()

    def read_stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def lines(self):
        with open(self.path, "rb") as f:
            return f.read().decode("utf-8").splitlines()

    def events(self):
        """Every event written so far; read incrementally (the file only grows)."""
        if not hasattr(self, "_events") or self._inode != os.stat(self.path).st_ino:
            self._events, self._offset, self._partial = [], 0, b""
            self._inode = os.stat(self.path).st_ino
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = self._partial + f.read()
            self._offset = f.tell()
        *complete, self._partial = data.split(b"\n")
        self._events.extend(parse_event(line) for line in complete if line)
        return list(self._events)

    def wait_for(self, pred, timeout=10):
        """Waits until an event matching pred has been written; returns it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ev in self.events():
                if pred(ev):
                    return ev
            time.sleep(0.1)
        raise TestFailure("no matching event within %ds" % timeout)


class Netns:
    """A network namespace named for this run, deleted on exit."""

    def __init__(self, suffix):
        self.name = "%s-%s" % (RUN_ID, suffix)
        self.path = "/run/netns/" + self.name

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)

    def popen(self, argv, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name] + argv, **kw)

    def run(self, argv, **kw):
        return subprocess.run(["ip", "netns", "exec", self.name] + argv, **kw)


class Lab:
    """Two hosts A (198.18.0.1) and B (198.18.0.2) joined by a veth pair; deleted on exit."""

    def __init__(self):
        self.a = Netns("a")
        self.b = Netns("b")
        self.veth = RUN_ID[-9:]  # interface names are at most 15 characters

    def __enter__(self):
        try:
            self.a.__enter__()
            self.b.__enter__()
            va, vb = "va" + self.veth, "vb" + self.veth
            sh = lambda *c: subprocess.run(list(c), check=True)  # noqa: E731
            sh("ip", "link", "add", va, "netns", self.a.name, "type", "veth", "peer", "name", vb,
               "netns", self.b.name)
            sh("ip", "-n", self.a.name, "addr", "add", "198.18.0.1/24", "dev", va)
            sh("ip", "-n", self.b.name, "addr", "add", "198.18.0.2/24", "dev", vb)
            sh("ip", "-n", self.a.name, "link", "set", va, "up")
            sh("ip", "-n", self.b.name, "link", "set", vb, "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.b.__exit__()
        self.a.__exit__()
