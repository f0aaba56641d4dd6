#!/usr/bin/env python3
"""make bench, part 2: the agent streaming to NATS JetStream (issues #6 and #14).

A real nats-server per variant (JetStream, file store in a temporary directory) on 127.0.0.1;
the agent with output.nats_url set, and the same agent without it; a storm (connect: 4 events
per connection, or exec). Variants: "none" (no sink), "batch" (this tree, batches, no
compression), "gzip" and "zstd" (this tree, output.nats_compress), and "old" (--old BINARY, e.g. the
main branch's build/hopwatch: one message per line), rounds interleaved. Reports per round and
as median [min-max]:
  - live events/s from the agent into the stream: the storm's lines over the time from its
    start until the stream acknowledged the last (bounded by the storm's own pace);
  - backlog drain events/s, the sink's own pace: nats-server stopped (SIGSTOP) during a second
    storm, then resumed: the lines spooled meanwhile over the time until the spool is empty;
  - the agent's CPU per event (µs), and the sink's share (with the sink minus without);
  - nats-server's CPU per event (µs) and the stream's bytes per event (the server's figure);
  - drops (ring buffer) and spool drops, and that the stream holds exactly the agent's lines.
With --profiles instead: the stream's bytes per operation under output.nats_profile full and
fleet, uncompressed and zstd (docs/streaming.md "Profiles"): per TCP connection (storm connect:
loopback connections between two processes of the host, which fleet summarises) and per
process lifecycle (storm exec: fork + exec + exit), the server's own byte count.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import spool_cursor  # noqa: E402  (tests/lib)

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


def stream_info(url):
    """(messages, bytes) of the stream, (0, 0) before it exists"""
    p = subprocess.run([JSDUMP, url, "HOPWATCH", "info"], capture_output=True, text=True)
    if p.returncode != 0:
        return 0, 0
    m, b = p.stdout.split()
    return int(m), int(b)


def spool_drained(spool):
    """The agent's spool holds nothing undelivered: its cursor is at the end of the last
    segment (the agent flushes its spool every round). Read without asking the server, whose
    CPU is measured."""
    try:
        segs = sorted(f for f in os.listdir(spool) if f.startswith("seg-"))
        seg, off, _ = spool_cursor.read(os.path.join(spool, "cursor"))
    except (OSError, TypeError):
        return False
    if not segs:
        return False
    last = segs[-1]
    return int(seg) == int(last[4:]) and int(off) == os.path.getsize(os.path.join(spool, last))


def stream_lines(url):
    p = subprocess.run([JSDUMP, url, "HOPWATCH"], capture_output=True, text=True)
    return p.stdout


class Server:
    def __init__(self, tmp, tag):
        self.port = free_port()
        self.url = "nats://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen([NATS, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                      "-sd", os.path.join(tmp, tag + "-store")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)


def one_run(tmp, agent_bin, storm, n, srv, tag, sets):
    out = os.path.join(tmp, tag + ".ndjson")
    args = [agent_bin, "run", "--output", out]
    if srv:
        args += ["--set", "output.nats_url=" + srv.url, "--set",
                 "output.spool_dir=" + os.path.join(tmp, tag + "-spool")]
    for s in sets:
        args += ["--set", s]
    spool = os.path.join(tmp, tag + "-spool", "nats")
    prev_bytes = stream_info(srv.url)[1] if srv else 0
    agent = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    while not (os.path.exists(out) and os.path.getsize(out)):
        if agent.poll() is not None:
            raise SystemExit("agent exited %d" % agent.returncode)
        time.sleep(0.02)
    time.sleep(0.5)  # the agent's first lines (agent-started, a snapshot)
    with open(out) as f:
        base_written = sum(1 for _ in f)
    c0 = cpu_s(agent.pid)
    s0 = cpu_s(srv.proc.pid) if srv else 0
    t0 = time.monotonic()
    subprocess.run([STORM, storm, str(n)], check=True, capture_output=True)
    t_storm = time.monotonic() - t0
    delivered_t = None
    # until the agent wrote the storm's events and (with a sink) the stream acknowledged every
    # line written so far (checked below)
    want = base_written + n * (4 if storm == "connect" else 3)
    while time.monotonic() - t0 < 300:
        with open(out, "rb") as f:
            written = f.read().count(b"\n")
        if written >= want and (not srv or spool_drained(spool)):
            delivered_t = time.monotonic() - t0
            break
        time.sleep(0.01)
    c1 = cpu_s(agent.pid)
    cpu_events = written - base_written
    s1 = cpu_s(srv.proc.pid) if srv else 0
    drain, blocked = None, False
    if srv and delivered_t is not None:
        # the sink's own pace: a backlog (the server stopped during a second storm) drained
        with open(out, "rb") as f:
            before = f.read().count(b"\n")
        srv.proc.send_signal(signal.SIGSTOP)
        try:
            subprocess.run([STORM, storm, str(n)], check=True, capture_output=True)
            want = before + n * (4 if storm == "connect" else 3)
            t2 = time.monotonic()
            while time.monotonic() - t2 < 60:
                with open(out, "rb") as f:
                    written = f.read().count(b"\n")
                if written >= want:
                    break
                time.sleep(0.01)
            else:
                blocked = True  # the agent stopped writing: it waits for the server
        finally:
            srv.proc.send_signal(signal.SIGCONT)
        t1 = time.monotonic()
        while time.monotonic() - t1 < 300 and not blocked:
            if spool_drained(spool):
                drain = (written - before) / (time.monotonic() - t1)
                break
            time.sleep(0.005)
    agent.send_signal(signal.SIGINT)
    agent.wait(120)
    with open(out) as f:
        lines = f.read().splitlines()
    last = lines[-1]
    drops = int(last.split('"drops":')[1].split(",")[0])
    sdrop = int(last.split('"spool_dropped":')[1].split("}")[0].split(",")[0])
    exact, stream_bytes = None, 0
    if srv:
        time.sleep(1)
        dump = stream_lines(srv.url)
        data = [ln.split("\t", 3)[3] for ln in dump.splitlines()]
        exact = data[-len(lines):] == lines
        stream_bytes = stream_info(srv.url)[1] - prev_bytes
    return {"blocked": blocked, "events": cpu_events, "storm_s": t_storm, "delivered_s": delivered_t, "drain": drain,
            "cpu_us": (c1 - c0) / cpu_events * 1e6, "srv_us": (s1 - s0) / cpu_events * 1e6,
            "bytes": stream_bytes / len(lines) if srv else 0, "cpu_events": cpu_events,
            "drops": drops, "spool_dropped": sdrop, "exact": exact}


def settled_bytes(url, quiet=1.5, timeout=120):
    """The stream's bytes once nothing has arrived for `quiet` seconds."""
    last, since, t0 = None, time.monotonic(), time.monotonic()
    while time.monotonic() - t0 < timeout:
        now = stream_info(url)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.1)
    return last[1]


def profiles(n):
    """Stream bytes per connection and per lifecycle: full and fleet, none and zstd. The agent
    watches one network namespace where the storms run (--netns): the host's other processes
    stay out of the figures."""
    tmp = tempfile.mkdtemp(prefix="hw-natsbench-")
    ns = "hwbench%d" % os.getpid()
    rows = []
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    try:
        for profile in ("full", "fleet"):
            for codec in ("none", "zstd"):
                srv = Server(tmp, "%s-%s" % (profile, codec))
                try:
                    time.sleep(0.5)
                    out = os.path.join(tmp, profile + codec + ".ndjson")
                    args = [AGENT, "run", "--output", out, "--netns", "/run/netns/" + ns,
                            "--set", "output.nats_url=" + srv.url,
                            "--set", "output.spool_dir=" + os.path.join(tmp, profile + codec),
                            "--set", "output.nats_profile=" + profile,
                            "--set", "output.nats_compress=" + codec,
                            "--set", "output.fleet_summary_interval=1s"]
                    agent = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
                    try:
                        while not (os.path.exists(out) and os.path.getsize(out)):
                            if agent.poll() is not None:
                                raise SystemExit("agent exited %d" % agent.returncode)
                            time.sleep(0.05)  # agent-started: the programs are attached
                        time.sleep(0.5)
                        per = {}
                        for storm in ("connect", "exec"):
                            b0 = settled_bytes(srv.url)
                            subprocess.run(["ip", "netns", "exec", ns, STORM, storm, str(n)],
                                           check=True, capture_output=True)
                            time.sleep(1.2)  # a fleet summary's interval
                            per[storm] = (settled_bytes(srv.url) - b0) / n
                    finally:
                        agent.send_signal(signal.SIGINT)
                        agent.wait(120)
                finally:
                    srv.stop()
                rows.append((profile, codec, per["connect"], per["exec"]))
                print("%-5s %-4s %8.0f B/connection %8.0f B/lifecycle" % rows[-1], flush=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n== stream bytes per operation (storm N=%d in a namespace the agent watches alone)"
          % n)
    print("%-8s %-6s %16s %16s" % ("profile", "codec", "B/connection", "B/lifecycle"))
    for r in rows:
        print("%-8s %-6s %16.0f %16.0f" % r)
    return 0


def med(xs, fmt="%.3g"):
    if not xs:
        return "-"
    return (fmt + " [" + fmt + "-" + fmt + "]") % (statistics.median(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storm", choices=("connect", "exec"), default="connect")
    ap.add_argument("--n", type=int, default=25000, help="storm operations per round")
    ap.add_argument("--connect-n", type=int, dest="n", help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--old", help="an older hopwatch binary to compare (one message a line)")
    ap.add_argument("--variants", default="none,batch,gzip,zstd",
                    help="comma-separated: none, batch, gzip, zstd (and old with --old)")
    ap.add_argument("--profiles", action="store_true",
                    help="stream bytes per connection and per lifecycle, full vs fleet")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("nats_bench: needs root", file=sys.stderr)
        return 2
    variants = a.variants.split(",")
    if a.old and "old" not in variants:
        variants.append("old")
    if a.profiles:
        return profiles(a.n)
    # the full profile: the stream holds exactly the agent's lines (checked)
    full = ["output.nats_profile=full"]
    spec = {"none": (AGENT, False, []),
            "batch": (AGENT, True, full + ["output.nats_compress=none"]),
            "gzip": (AGENT, True, full + ["output.nats_compress=gzip"]),
            "zstd": (AGENT, True, full + ["output.nats_compress=zstd"]),
            "old": (a.old, True, [])}
    tmp = tempfile.mkdtemp(prefix="hw-natsbench-")
    servers = {}
    ok = True
    try:
        for v in variants:
            if spec[v][1]:
                servers[v] = Server(tmp, v)
        time.sleep(1)
        rows = {v: [] for v in variants}
        for r in range(a.rounds):
            order = variants if r % 2 == 0 else list(reversed(variants))
            for v in order:
                binary, sink, sets = spec[v]
                res = one_run(tmp, binary, a.storm, a.n, servers.get(v), "%s-%d" % (v, r),
                              sets)
                rows[v].append(res)
                extra = ""
                if sink:
                    rate = res["events"] / res["delivered_s"] if res["delivered_s"] else 0
                    res["rate"] = rate
                    extra = (" delivered in %.2fs (%.0f ev/s), backlog drained at %.0f ev/s, "
                             "nats-server %.2f us/ev %.0f B/ev exact=%s" % (
                                 res["delivered_s"] or -1, rate, res["drain"] or 0,
                                 res["srv_us"], res["bytes"], res["exact"]))
                    if res["blocked"]:
                        extra += " (the agent blocked while the server was stopped)"
                    ok &= bool(res["exact"]) and res["drain"] is not None
                ok &= res["drops"] == 0 and res["spool_dropped"] == 0
                print("round %d %-6s events %6d storm %.2fs agent %.2f us/ev drops %d "
                      "spool_dropped %d%s" % (r + 1, v, res["events"], res["storm_s"],
                                              res["cpu_us"], res["drops"],
                                              res["spool_dropped"], extra), flush=True)
        print("\n== JetStream sink, %s storm N=%d (%d rounds), median [min-max]"
              % (a.storm, a.n, a.rounds))
        none = [x["cpu_us"] for x in rows.get("none", [])]
        print("%-6s %-22s %-22s %-22s %-22s %-22s %-22s" % (
            "", "live ev/s (storm)", "backlog drain ev/s", "agent us/ev",
            "sink us/ev (- none)", "nats-server us/ev", "stream B/ev"))
        for v in variants:
            xs = rows[v]
            sink = spec[v][1]
            share = [x["cpu_us"] - statistics.median(none) for x in xs] if none and sink else []
            print("%-6s %-22s %-22s %-22s %-22s %-22s %-22s" % (
                v, med([x["rate"] for x in xs], "%.0f") if sink else "-",
                med([x["drain"] for x in xs if x["drain"]], "%.0f") if sink else "-",
                med([x["cpu_us"] for x in xs], "%.2f"), med(share, "%.2f"),
                med([x["srv_us"] for x in xs], "%.2f") if sink else "-",
                med([x["bytes"] for x in xs], "%.0f") if sink else "-"))
        print("drops / spool drops: %d / %d; the stream holds exactly the agent's lines in "
              "every round: %s" % (
                  sum(x["drops"] for v in variants for x in rows[v]),
                  sum(x["spool_dropped"] for v in variants for x in rows[v]),
                  all(x["exact"] for v in variants if spec[v][1] for x in rows[v])))
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
