#!/usr/bin/env python3
"""make bench, part 3: a fleet simulator for collectors that scale out (issue #14 part 5).

Host streams in the agent's line shapes (tests/lib/ecs_builder.py, the shapes user/output/ecs.c
writes; or --template FILE, a recording `hopwatch run --record` made, for the filler) are
replayed as thousands of hosts: each host's lines rewritten with its own host.name, host.id
and addresses (198.18.0.0/15), and the hosts joined three by three into hop chains
(origin -> h0 -> h1 -> h2: each hop an ssh session on the next host, made from the session
the previous hop opened) that span partitions at random. Every host's lines go as agent batches
(NDJSON, zstd, the sink's headers) into JetStream on a nats-server whose subject mapping makes
--partitions partitions (docs/collector.md, "Scaling out").

Per variant (1 instance taking every partition, 2 instances taking half each), rounds
interleaved, a fresh server each time:
  - throughput: the whole fleet published first, then the collectors started; events/s =
    lines / (the collectors' start until every durable consumer is drained);
  - latency (--rate, default 100000 events/s): the collectors running, the fleet published at
    that rate; per hop-chain alert, the time from the publish of the batch holding the chain's
    last hop (the event's time: the simulator stamps the lines with it) to the alert's arrival
    on collect.subject, p50 and p99;
  - per instance: CPU (user+system seconds, and µs per event) and peak resident memory;
  - stitched: every chain's full hop-chain alert (3 hops) on collect.subject, exactly once.
Reports per round and median [min-max]; beside the measured events/s, what the instances
would do with a core each (events over the busiest instance's CPU seconds), for machines whose
cores are shared with the server and the simulator. Exits 0 when every chain was stitched once in every
run, 1 otherwise. No root needed.

  python3 tests/bench/fleet_sim.py [--hosts 9999] [--lines 100] [--rounds 3]
"""
import argparse
import ctypes
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import hw  # noqa: E402
from ecs_builder import Stream  # noqa: E402
from natslab import Nats, NatsServer, partition_mapping  # noqa: E402

BIN = os.path.join(ROOT, "build", "hopwatch")
TICK = os.sysconf("SC_CLK_TCK")
TEMPLATE_MINUTE = "2026-11-27T10:00:"  # ecs_builder's T0: the template's lines are in it
PH_HOST = ["simhostplaceholder%d" % i for i in range(3)]
PH_IP = ["198.19.201.201", "198.19.202.202", "198.19.203.203"]
PH_ORIGIN = "198.19.204.204"
PH_FILL = "simfillplaceholder"

_zstd = ctypes.CDLL("libzstd.so.1")
_zstd.ZSTD_compressBound.restype = ctypes.c_size_t
_zstd.ZSTD_compress.restype = ctypes.c_size_t
_zstd.ZSTD_compress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.c_size_t, ctypes.c_int]


def zstd(data):
    cap = _zstd.ZSTD_compressBound(ctypes.c_size_t(len(data)))
    out = ctypes.create_string_buffer(cap)
    n = _zstd.ZSTD_compress(out, cap, data, len(data), 1)
    return out.raw[:n]


def host_id(name):
    return hashlib.md5(name.encode()).hexdigest()


# --- the templates ---------------------------------------------------------------------------

def chain_template():
    """Three hosts' lines: alice logs in to h0 from the origin, sshes on to h1 from that
    session, and from there to h2. Event times within the template minute."""
    hosts = [Stream(n) for n in PH_HOST]
    for st in hosts:
        st.agent_started(1)
        st.sshd(1)
    client = (PH_ORIGIN, 50022)
    for i, st in enumerate(hosts):
        s = st.ssh_session(2 + i * 2, "alice", client=client, server=(PH_IP[i], 22))
        if i + 1 < len(hosts):
            ssh = st.spawn(3 + i * 2, s.shell, "/usr/bin/ssh", ["ssh", "next"])
            src = (PH_IP[i], 41000 + i)
            st.connect(3.5 + i * 2, ssh, (PH_IP[i + 1], 22), src=src)
            client = src
    return ["\n".join(st.lines) + "\n" for st in hosts]


def filler_template(lines, path=None):
    """Volume: a recording's lines (path), or a host's ordinary work: commands run by cron
    and connections to a web service, in the template minute."""
    if path:
        out = []
        with open(path) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event", {}).get("kind") != "event":
                    continue
                host = ev.get("host", {})
                out.append(line.rstrip("\n").replace(host.get("name", "\0"), PH_FILL)
                           .replace(host.get("id", "\0"), host_id(PH_FILL)))
                if len(out) >= lines:
                    break
        return out
    st = Stream(PH_FILL)
    cron = st.existing(5, 600, "/usr/sbin/cron", ["cron"])
    t = 6.0
    while len(st.lines) < lines:
        p = st.spawn(t, cron, "/usr/bin/curl", ["curl", "http://198.18.255.250/"])
        c = st.connect(t + 0.01, p, ("198.18.255.250", 80), src=("198.19.200.200", 30000))
        st.disconnect(t + 0.02, p, c)
        st.exit(t + 0.03, p)
        t += 0.04
        if t > 58:
            t = 6.0
    return st.lines[:lines]


class Fleet:
    """Every host's batch: (subject, headers, zstd body, lines), chains of three hosts."""

    def __init__(self, nhosts, lines, template=None):
        chains = chain_template()
        fill = filler_template(max(lines - 20, 0), template)
        fill_text = ("\n".join(fill) + "\n") if fill else ""
        self.chains = []
        self.batches = []
        self.lines = 0
        for k in range(nhosts // 3):
            origin = "198.19.%d.%d" % (k // 250, k % 250 + 1)
            names = ["sim%05d" % (k * 3 + j) for j in range(3)]
            ips = ["198.18.%d.%d" % ((k * 3 + j) // 250, (k * 3 + j) % 250 + 1)
                   for j in range(3)]
            self.chains.append((origin,) + tuple(names))
            for j in range(3):
                text = chains[j] + fill_text.replace(PH_FILL, PH_HOST[j]).replace(
                    host_id(PH_FILL), host_id(PH_HOST[j]))
                for i in range(3):
                    text = text.replace(PH_HOST[i], names[i]).replace(
                        host_id(PH_HOST[i]), host_id(names[i])).replace(PH_IP[i], ips[i])
                text = text.replace(PH_ORIGIN, origin)
                n = text.count("\n")
                self.lines += n
                self.batches.append([names[j], text, n])

    def stamped(self, when):
        """The batches with their lines' times moved to the minute of when (ns)."""
        minute = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(when // 10**9))
        for b in self.batches:
            yield b[0], zstd(b[1].replace(TEMPLATE_MINUTE, minute).encode()), b[2]


# --- NATS -----------------------------------------------------------------------------------

class Publisher:
    """Batches into the stream, as the agents' sink publishes them; acks counted by a reader."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b'CONNECT {"verbose":false,"headers":true,"protocol":1}\r\n'
                          b"SUB _INBOX.sim.* 1\r\n")
        self.acks = 0
        self.stop = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.n = 0

    def _read(self):
        f = self.sock.makefile("rb")
        while not self.stop:
            try:
                line = f.readline()
            except OSError:
                return
            if not line:
                return
            if line.startswith(b"PING"):
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG") or line.startswith(b"HMSG"):
                f.read(int(line.split()[-1]) + 2)
                self.acks += 1

    def publish(self, host, body, count):
        self.n += 1
        hdr = ("NATS/1.0\r\nNats-Msg-Id: %s.sim.1.%d\r\nHopwatch-Host: %s\r\nHopwatch-Run: sim"
               "\r\nHopwatch-First-Seq: 1\r\nHopwatch-Count: %d\r\nContent-Encoding: zstd"
               "\r\n\r\n" % (host_id(host), count, host_id(host), count)).encode()
        self.sock.sendall(b"HPUB hopwatch.%s.events _INBOX.sim.%d %d %d\r\n%s%s\r\n" % (
            host.encode(), self.n, len(hdr), len(hdr) + len(body), hdr, body))

    def wait_acks(self, n, timeout=300):
        deadline = time.time() + timeout
        while self.acks < n and time.time() < deadline:
            time.sleep(0.01)
        return self.acks >= n

    def close(self):
        self.stop = True
        self.sock.close()


class AlertWatch:
    """Subscribes to collect.subject: each alert's arrival time."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b'CONNECT {"verbose":false,"headers":true,"protocol":1}\r\n'
                          b"SUB hopwatch.collector.alerts 1\r\nPING\r\n")
        self.got = []  # (arrival ns, alert)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        f = self.sock.makefile("rb")
        while True:
            try:
                line = f.readline()
            except OSError:
                return
            if not line:
                return
            if line.startswith(b"PING"):
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG") or line.startswith(b"HMSG"):
                parts = line.split()
                data = f.read(int(parts[-1]) + 2)[:-2]
                if parts[0] == b"HMSG":
                    data = data[int(parts[-2]):]
                self.got.append((time.time_ns(), json.loads(data)))

    def close(self):
        self.sock.close()


# --- collectors -----------------------------------------------------------------------------

def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def start_collectors(url, parts_list, tmp):
    procs = []
    for i, parts in enumerate(parts_list):
        out = os.path.join(tmp, "col%d.ndjson" % i)
        err = open(os.path.join(tmp, "col%d.err" % i), "w")
        procs.append(subprocess.Popen(
            [BIN, "collect", "--nats", url, "-o", "json", "--output", out, "--partition", parts,
             "--set", "detect.internal_nets=198.18.0.0/15"],
            stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL))
        err.close()
    return procs


def stop_collectors(procs):
    stats = []
    for p in procs:
        stats.append((proc_cpu(p.pid), proc_hwm(p.pid)))
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return stats


def durables(nparts):
    return ["hopwatch-collector-%d" % k for k in range(nparts)] + ["hopwatch-collector-stitch"]


def wait_drained(nc, nparts, timeout=600):
    """Until every partition's durable and the second stage's exist and have nothing pending
    or unacknowledged (a forwarded message is in the stream before its source is acked)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        left = 0
        for d in durables(nparts):
            info = nc.consumer(d)
            if "error" in info:
                left += 1
                break
            left += info.get("num_pending", 0) + info.get("num_ack_pending", 0)
            if left:
                break
        if not left:
            return True
        time.sleep(0.02)
    return False


STAGE_PARTS = 0  # --stage-partitions: how many the second stage's instance takes (0: even)


def split(nparts, ninst):
    """Partitions per instance: round robin, or with --stage-partitions K the first instance
    (partition 0's, which also runs the second stage) K of them and the others the rest."""
    ks = list(range(nparts))
    if ninst > 1 and STAGE_PARTS:
        rest = ks[STAGE_PARTS:]
        per = [ks[:STAGE_PARTS]] + [rest[i::ninst - 1] for i in range(ninst - 1)]
    else:
        per = [ks[i::ninst] for i in range(ninst)]
    return ["%s/%d" % (",".join(map(str, sorted(p))), nparts) for p in per]


def stitched(alerts, chains):
    full = [tuple(a.get("hopwatch", {}).get("alert", {}).get("hosts", []))
            for a in alerts if a.get("rule", {}).get("id") == "hop-chain"]
    want = set(chains)
    got3 = [c for c in full if len(c) == 4]
    return len(set(got3) & want), len(got3) - len(set(got3))


def run(fleet, ninst, nparts, rate, tmp):
    """One run: (events/s drained, latencies ms, per-instance (cpu s, hwm bytes), stitched,
    duplicates) for the throughput phase, and the latency phase at rate."""
    res = {}
    # throughput: the fleet published, then the collectors
    with NatsServer(mappings=partition_mapping(nparts)) as srv:
        nc = Nats(srv.port)
        nc.request("$JS.API.STREAM.CREATE.HOPWATCH", json.dumps({
            "name": "HOPWATCH", "subjects": ["hopwatch.>"], "storage": "file",
            "duplicate_window": 120 * 10**9}).encode())
        pub = Publisher(srv.port)
        now = time.time_ns()
        n = 0
        for host, body, count in fleet.stamped(now):
            pub.publish(host, body, count)
            n += 1
        if not pub.wait_acks(n):
            raise SystemExit("fleet_sim: the server acknowledged %d of %d batches" % (pub.acks, n))
        pub.close()
        watch = AlertWatch(srv.port)
        t0 = time.time()
        procs = start_collectors(srv.url, split(nparts, ninst), tmp)
        ok = wait_drained(nc, nparts)
        elapsed = time.time() - t0
        time.sleep(0.3)
        stats = stop_collectors(procs)
        watch.close()
        res["eps"] = fleet.lines / elapsed if ok else 0.0
        res["drained"] = ok
        res["cpu"] = [s[0] for s in stats]
        res["hwm"] = [s[1] for s in stats]
        res["stitched"], res["dups"] = stitched([a for _, a in watch.got], fleet.chains)
        # what went to the second stage: its messages' bytes (the server's count) and lines
        stage = [m for m in srv.messages() if m["subject"].startswith("hopwatch.collector.stitch.")]
        res["stage_bytes"] = sum(m["bytes"] for m in stage)
        res["stage_lines"] = sum(m["count"] or 0 for m in stage)
        nc.close()
    # latency: the collectors running, the fleet published at rate
    with NatsServer(mappings=partition_mapping(nparts)) as srv:
        nc = Nats(srv.port)
        nc.request("$JS.API.STREAM.CREATE.HOPWATCH", json.dumps({
            "name": "HOPWATCH", "subjects": ["hopwatch.>"], "storage": "file",
            "duplicate_window": 120 * 10**9}).encode())
        watch = AlertWatch(srv.port)
        procs = start_collectors(srv.url, split(nparts, ninst), tmp)
        time.sleep(1.0)
        pub = Publisher(srv.port)
        batches = list(fleet.stamped(time.time_ns()))
        sent_at = {}
        start = time.time()
        done = 0
        n = 0
        for host, body, count in batches:
            # paced: the lines published so far never ahead of rate
            ahead = done / rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
            pub.publish(host, body, count)
            sent_at[host] = time.time_ns()
            done += count
            n += 1
        pub_secs = time.time() - start
        pub.wait_acks(n)
        pub.close()
        wait_drained(nc, nparts)
        time.sleep(0.5)
        stop_collectors(procs)
        watch.close()
        lat = []
        for arrived, a in watch.got:
            hosts = a.get("hopwatch", {}).get("alert", {}).get("hosts", [])
            if a.get("rule", {}).get("id") == "hop-chain" and len(hosts) == 4:
                lat.append((arrived - sent_at[hosts[-1]]) / 1e6)
        res["pub_rate"] = fleet.lines / pub_secs
        res["lat"] = sorted(lat)
        res["lat_stitched"], res["lat_dups"] = stitched([a for _, a in watch.got], fleet.chains)
        nc.close()
    return res


def pct(v, p):
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def med(vals):
    vals = [v for v in vals if v == v]
    if not vals:
        return "n/a"
    return "%.0f [%.0f-%.0f]" % (statistics.median(vals), min(vals), max(vals))


def main():
    global BIN, STAGE_PARTS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=9999, help="simulated hosts (chains of 3)")
    ap.add_argument("--lines", type=int, default=100, help="lines per host")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--instances", default="1,2", help="variants: instances sharing the fleet")
    ap.add_argument("--rate", type=int, default=100000, help="events/s of the latency phase")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--template", help="a recording whose event lines are the filler")
    ap.add_argument("--stage-partitions", type=int, default=0, metavar="K",
                    help="with 2 or more instances, the first (which also runs the second "
                    "stage) takes partitions 0..K-1 and the others share the rest; default: "
                    "round robin")
    ap.add_argument("--hopwatch", metavar="BINARY", default=BIN,
                    help="the hopwatch whose collect is measured (another build: old and new "
                    "side by side)")
    args = ap.parse_args()
    BIN = args.hopwatch
    STAGE_PARTS = args.stage_partitions
    if STAGE_PARTS and not 0 < STAGE_PARTS < args.partitions:
        ap.error("--stage-partitions must be between 1 and --partitions - 1")
    tmp = hw.tempdir("fleet_sim")
    t = time.time()
    fleet = Fleet(args.hosts, args.lines, args.template)
    print("fleet_sim: %d hosts, %d hop chains of 3 hops, %d lines (%d per host), %d partitions; "
          "built in %.1fs" % (len(fleet.batches), len(fleet.chains), fleet.lines,
                              fleet.lines // max(len(fleet.batches), 1), args.partitions,
                              time.time() - t), flush=True)
    variants = [int(x) for x in args.instances.split(",")]
    results = {v: [] for v in variants}
    good = True
    for r in range(args.rounds):
        for v in variants:
            res = run(fleet, v, args.partitions, args.rate, tmp)
            results[v].append(res)
            ok = (res["drained"] and res["stitched"] == len(fleet.chains) and not res["dups"]
                  and res["lat_stitched"] == len(fleet.chains) and not res["lat_dups"])
            good &= ok
            print("round %d, %d instance(s): %.0f events/s; cpu %s s; peak rss %s MiB; "
                  "to the second stage %.1f MB in %d lines; "
                  "stitched %d/%d (%d twice); at %.0f ev/s: latency p50 %.0f ms p99 %.0f ms, "
                  "stitched %d/%d%s" % (
                      r + 1, v, res["eps"], "+".join("%.1f" % c for c in res["cpu"]),
                      "+".join("%.0f" % (m / 2**20) for m in res["hwm"]),
                      res["stage_bytes"] / 1e6, res["stage_lines"], res["stitched"],
                      len(fleet.chains), res["dups"], res["pub_rate"], pct(res["lat"], 50),
                      pct(res["lat"], 99), res["lat_stitched"], len(fleet.chains),
                      "" if ok else "  <-- NOT ALL STITCHED ONCE"), flush=True)
    print("\nfleet_sim: median [min-max] of %d rounds, %d hosts, %d lines" % (
        args.rounds, len(fleet.batches), fleet.lines))
    base = cap_base = None
    for v in variants:
        rs = results[v]
        eps = [x["eps"] for x in rs]
        if base is None:
            base = statistics.median(eps)
        cpu_us = [sum(x["cpu"]) * 1e6 / fleet.lines for x in rs]
        # what the instances could do with a core each: the busiest one's CPU bounds it
        cap = [fleet.lines / max(x["cpu"]) for x in rs if max(x["cpu"]) > 0]
        if cap_base is None and cap:
            cap_base = statistics.median(cap)
        print("  %d instance(s): %s events/s (%.2fx one); a core each: %s events/s (%.2fx "
              "one); collector CPU %s us/event; peak RSS "
              "per instance %s MiB; latency at %s ev/s p50 %s ms, p99 %s ms" % (
                  v, med(eps), statistics.median(eps) / base if base else 0, med(cap),
                  statistics.median(cap) / cap_base if cap and cap_base else 0, med(cpu_us),
                  med([max(x["hwm"]) / 2**20 for x in rs]),
                  med([x["pub_rate"] for x in rs]), med([pct(x["lat"], 50) for x in rs]),
                  med([pct(x["lat"], 99) for x in rs])))
    print("  every chain stitched exactly once in every run: %s" % ("yes" if good else "NO"))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
