"""`hopwatch collect` for the tests: two hosts' streams built with tests/lib/ecs_builder.py (b
reached from A, c from b: one hop chain), their lines interleaved in any order, collect
--replay run over files (collect(), Collected), `hopwatch collect --nats` in the background
(Collector), a durable consumer drained, and the checks of a hop-chain alert."""
import json
import os
import random
import signal
import subprocess
import time

import hw
from ecs_builder import Stream
from hw import check_eq, hopwatch
from rulelab import check_alert_common, expect

A, B, C, D = "198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"
INTERNAL = "detect.internal_nets=198.18.0.0/15"
CHAIN_MESSAGE = ("alice hopped 198.18.0.1 → b (alice, sshd session, 10:00:10) → c (alice via "
                 "/usr/bin/ssh, 10:00:16)")


def two_hosts(b_name="b", c_name="c"):
    """alice logs in to b from A (no agent), and from that session sshes on to c."""
    b, c = Stream(b_name), Stream(c_name)
    for st in (b, c):
        st.agent_started()
        st.sshd()
    sb = b.ssh_session(10, "alice", client=(A, 50022), server=(B, 22))
    ssh = b.spawn(15, sb.shell, "/usr/bin/ssh", ["ssh", C])
    b.connect(16, ssh, (C, 22), src=(B, 41000))
    sc = c.ssh_session(16, "alice", client=(B, 41000), server=(C, 22))
    return b, c, sb, sc


def interleave(streams, seed):
    """The lines of several hosts merged at random, each host's own order kept."""
    rnd = random.Random(seed)
    left = [list(s.lines) for s in streams]
    out = []
    while any(left):
        pick = rnd.choice([i for i, l in enumerate(left) if l])
        out.append(left[pick].pop(0))
    return out


class Collected:
    def __init__(self, p):
        self.rc, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        self.lines = [hw.parse_event(line) for line in p.stdout.splitlines()]
        self.alerts = [e for e in self.lines if hw.get(e, "event.kind") == "alert"]
        self.states = [e for e in self.lines if hw.get(e, "event.kind") == "state"]
        self.errors = [line for line in p.stderr.splitlines()
                       if not line.startswith("hopwatch: collected ")]

    def of(self, rule):
        return [a for a in self.alerts if hw.get(a, "rule.id") == rule]

    def counters(self):
        return hw.get(self.states[-1], "hopwatch.collector")


def write(lines, name):
    path = os.path.join(hw.tempdir("collect"), name)
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")
    return path


def collect(*files, sets=(), args=(), stdin=None):
    argv = ["collect", "-o", "json"] + list(args)
    for s in sets:
        argv += ["--set", s]
    if files:
        argv += ["--replay"] + list(files)
    return Collected(hopwatch(*argv, input=stdin))


def check_chain(a, hosts=(A, "b", "c"), message=CHAIN_MESSAGE):
    check_alert_common(a, Stream(hosts[-1]))
    expect(a, {
        "rule.id": "hop-chain",
        "rule.name": "Hop chain across hosts",
        "event.severity": 73,
        "threat.technique.id": ["T1021", "T1021.004"],
        "hopwatch.alert.hosts": list(hosts),
        "hopwatch.alert.count": len(hosts) - 1,
        "user.name": "alice",
        "message": message,
    })


class Collector:
    """`hopwatch collect --nats` in the background, its output in a file."""

    def __init__(self, url, *args, name="collector"):
        self.dir = hw.tempdir(name)
        self.path = os.path.join(self.dir, "out.ndjson")
        self.err_path = os.path.join(self.dir, "stderr")
        self.argv = [hw.BIN, "collect", "--nats", url, "-o", "json", "--output", self.path]
        self.argv += list(args)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        """Ends it, if a failed check left it running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.err.close()

    def start(self, wait=True):
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=self.err,
                                     stdin=subprocess.DEVNULL)
        if wait:
            self.wait_for(lambda e: hw.get(e, "event.action") == "collector-started", 20)
        return self

    def lines(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            data = f.read().decode()
        return [hw.parse_event(l) for l in data.split("\n")[:-1] if l]

    def alerts(self, rule=None):
        return [e for e in self.lines() if hw.get(e, "event.kind") == "alert" and
                (rule is None or hw.get(e, "rule.id") == rule)]

    def wait_for(self, pred, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in self.lines():
                if pred(e):
                    return e
            if self.proc.poll() is not None:
                raise hw.TestFailure("collector exited with %d: %s" % (self.proc.returncode,
                                                                       self.stderr()))
            time.sleep(0.05)
        raise hw.TestFailure("no matching line from the collector within %ds: %s" % (
            timeout, self.stderr()))

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise hw.TestFailure("the collector did not stop on signal %d" % sig)
        self.err.close()
        return rc

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def final(self):
        last = self.lines()[-1]
        check_eq(hw.get(last, "event.action"), "collector-stopped", "the last line")
        return hw.get(last, "hopwatch.collector")


def drained(nc, durable, timeout=20):
    """Waits until the consumer has delivered every message and seen each acknowledged."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = nc.consumer(durable)
        if info.get("num_pending") == 0 and info.get("num_ack_pending") == 0:
            return info
        time.sleep(0.1)
    raise hw.TestFailure("consumer %s not drained: %r" % (durable, nc.consumer(durable)))


def publish_hosts(nc, streams, seed=0, prefix="hopwatch"):
    """Each host's lines on its subject, hosts interleaved; returns how many."""
    lines = interleave(streams, seed)
    for line in lines:
        host = json.loads(line)["host"]["name"]
        nc.publish("%s.%s.events" % (prefix, host.replace(".", "_")), line)
    return len(lines)
