#!/usr/bin/env python3
"""make bench, part 2: the agent streaming to NATS JetStream (issue #6's benchmark).

A real nats-server (JetStream, file store in a temporary directory) on 127.0.0.1; the agent
with output.nats_url set, and the same agent without it; a TCP connect storm (4 events per
connection). Reports per round and as median [min-max]:
  - sustained events/s from the agent into the stream: every line the agent wrote, counted
    in the stream, over the time from the storm's start until the last one was stored;
  - the agent's CPU per 10,000 events with and without the JetStream sink;
  - drops (ring buffer) and spool drops, and that the stream holds exactly the agent's lines.
Needs root. Exits 0 when every line arrived and nothing was dropped, 1 otherwise.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AGENT = os.path.join(ROOT, "build", "hopwatch")
STORM = os.path.join(ROOT, "build", "storm")
JSDUMP = os.path.join(ROOT, "build", "jsdump")
NATS = "/usr/sbin/nats-server"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def stream_count(url):
    p = subprocess.run([JSDUMP, url, "HOPWATCH", "count"], capture_output=True, text=True)
    return int(p.stdout) if p.returncode == 0 else 0


def stream_lines(url):
    p = subprocess.run([JSDUMP, url, "HOPWATCH"], capture_output=True, text=True)
    return p.stdout


def one_run(tmp, n, url, tag):
    out = os.path.join(tmp, tag + ".ndjson")
    args = [AGENT, "run", "--output", out]
    if url:
        args += ["--set", "output.nats_url=" + url, "--set",
                 "output.spool_dir=" + os.path.join(tmp, tag + "-spool")]
    agent = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    while not (os.path.exists(out) and os.path.getsize(out)):
        if agent.poll() is not None:
            raise SystemExit("agent exited %d" % agent.returncode)
        time.sleep(0.02)
    base = stream_count(url) if url else 0  # earlier rounds' lines
    c0 = cpu_s(agent.pid)
    t0 = time.monotonic()
    subprocess.run([STORM, "connect", str(n)], check=True, capture_output=True)
    t_storm = time.monotonic() - t0
    delivered_t = None
    if url:
        # until the stream holds every line written so far
        while time.monotonic() - t0 < 300:
            with open(out) as f:
                written = sum(1 for _ in f)
            if stream_count(url) - base >= written:
                delivered_t = time.monotonic() - t0
                break
            time.sleep(0.02)
    c1 = cpu_s(agent.pid)
    agent.send_signal(signal.SIGINT)
    agent.wait(120)
    with open(out) as f:
        lines = f.read().splitlines()
    last = lines[-1]
    drops = int(last.split('"drops":')[1].split(",")[0])
    sdrop = int(last.split('"spool_dropped":')[1].split("}")[0].split(",")[0])
    exact = None
    if url:
        time.sleep(1)
        dump = stream_lines(url)
        data = [l.split("\t", 3)[3] for l in dump.splitlines()]
        exact = data[-len(lines):] == lines
    events = len(lines)
    return {"events": events, "storm_s": t_storm, "delivered_s": delivered_t,
            "cpu_s": c1 - c0, "cpu_per_10k": (c1 - c0) / events * 10000,
            "drops": drops, "spool_dropped": sdrop, "exact": exact}


def med(xs):
    return "%.3g [%.3g-%.3g]" % (statistics.median(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect-n", type=int, default=25000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("nats_bench: needs root", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="hw-natsbench-")
    port = free_port()
    url = "nats://127.0.0.1:%d" % port
    srv = subprocess.Popen([NATS, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd",
                            os.path.join(tmp, "store")], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    ok = True
    try:
        time.sleep(1)
        rows = {"jetstream": [], "none": []}
        for r in range(a.rounds):
            for tag in (("jetstream", "none") if r % 2 == 0 else ("none", "jetstream")):
                res = one_run(tmp, a.connect_n, url if tag == "jetstream" else None,
                              "%s-%d" % (tag, r))
                rows[tag].append(res)
                extra = ""
                if tag == "jetstream":
                    rate = res["events"] / res["delivered_s"] if res["delivered_s"] else 0
                    res["rate"] = rate
                    extra = " delivered in %.2fs (%.0f ev/s) stream exact=%s" % (
                        res["delivered_s"] or -1, rate, res["exact"])
                    ok &= bool(res["exact"]) and res["delivered_s"] is not None
                ok &= res["drops"] == 0 and res["spool_dropped"] == 0
                print("round %d %-9s events %6d storm %.2fs agent CPU %.2fs = %.3f s/10k ev "
                      "drops %d spool_dropped %d%s" % (r + 1, tag, res["events"],
                                                       res["storm_s"], res["cpu_s"],
                                                       res["cpu_per_10k"], res["drops"],
                                                       res["spool_dropped"], extra),
                      flush=True)
        js, none = rows["jetstream"], rows["none"]
        print("\n== JetStream sink, connect storm N=%d (%d rounds), median [min-max]"
              % (a.connect_n, a.rounds))
        print("sustained agent->JetStream ev/s : %s" % med([x["rate"] for x in js]))
        print("agent CPU s per 10k events      : with JetStream %s, without %s"
              % (med([x["cpu_per_10k"] for x in js]), med([x["cpu_per_10k"] for x in none])))
        print("drops / spool drops             : %d / %d" % (
            sum(x["drops"] for x in js + none), sum(x["spool_dropped"] for x in js)))
        print("stream holds exactly the agent's lines in every round: %s"
              % all(x["exact"] for x in js))
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
