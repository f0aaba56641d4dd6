"""`hopwatch collect` against hosts that attack it (issue 11, findings 14-17), no root: one
publisher writing as many hosts, memory and CPU floods, alert floods, forged hops and clocks,
over-long lines, and NATS URLs with a password. Each test feeds the real hosts b and c (a chain
A -> b -> c, tests/lib/collectlab.py) beside the attack and checks that their alert still
comes, and that the attack is counted. NATS cases run against a real nats-server
(tests/lib/natslab.py); the others through --replay, where NATS is not the point."""
import json
import os
import socket
import subprocess
import time

import hw
from hw import check, check_eq
from collectlab import (A, B, C, INTERNAL, Collected, Collector, check_chain, collect, drained,
                        interleave, publish_hosts, two_hosts, write)
from ecs_builder import Session, Stream
from natslab import Nats, NatsServer, free_port
from rulelab import only

MiB = 1 << 20


def replay_rss(files, stdin_lines, sets=()):
    """collect --replay FILES... -: its peak RSS (VmHWM) is read once the files are done and
    it waits on standard input (a fork's RSS is not counted, as ru_maxrss would), then
    stdin_lines are given. Returns (Collected, peak RSS in bytes)."""
    argv = [hw.BIN, "collect", "-o", "json"]
    for s in sets:
        argv += ["--set", s]
    argv += ["--replay"] + list(files) + ["-"]
    d = hw.tempdir("collect-rss")
    with open(os.path.join(d, "out"), "w+") as out, open(os.path.join(d, "err"), "w+") as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.PIPE)
        try:
            deadline = time.time() + 120
            while True:
                check(p.poll() is None and time.time() < deadline, "collect reads stdin")
                with open("/proc/%d/syscall" % p.pid) as f:
                    if f.read().startswith("0 0x0 "):  # read(0, ...)
                        break
                time.sleep(0.02)
            with open("/proc/%d/status" % p.pid) as f:
                hwm = [int(x.split()[1]) for x in f if x.startswith("VmHWM:")][0] * 1024
            p.stdin.write("".join(line + "\n" for line in stdin_lines).encode())
            p.stdin.close()
            p.wait(120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out.seek(0)
        err.seek(0)
        r = Collected(subprocess.CompletedProcess(argv, p.returncode, out.read(), err.read()))
    return r, hwm


def line_with(line, **changes):
    """line (JSON) with dotted fields set, or removed when None."""
    ev = json.loads(line)
    for dotted, v in changes.items():
        keys = dotted.split("__")
        o = ev
        for k in keys[:-1]:
            o = o.setdefault(k, {})
        if v is None:
            o.pop(keys[-1], None)
        else:
            o[keys[-1]] = v
    return json.dumps(ev, separators=(",", ":"))


def publish_fast(nc, subject, lines):
    """Core NATS publishes, pipelined (the stream stores them; no ack waited for each)."""
    buf = bytearray()
    for line in lines:
        data = line.encode()
        buf += b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(data), data)
        if len(buf) > 1 << 20:
            nc.sock.sendall(buf)
            buf = bytearray()
    nc.sock.sendall(bytes(buf) + b"PING\r\n")
    nc._until_pong()


# --- 15: identity ---------------------------------------------------------------------------

def test_nats_one_host_cannot_take_the_engines_or_the_clock():
    """Host x publishes 16,400 fork lines on its own subject, each with a new host.id (before
    the fix: 16,384 engines, then every other host refused), and one line dated 2100 (before:
    the stitcher's clock for everyone, so the chain's halves expired at once). b and c's chain
    still alerts; x has one engine, its other ids are refused and counted."""
    with NatsServer() as srv, Collector(srv.url, "--set", INTERNAL) as col:
        nc = Nats(srv.port)
        x = Stream("x")
        x.agent_started()
        cron = x.existing(1, 600, "/usr/sbin/cron", ["cron"])
        x.fork(2, cron)
        fork = x.lines[-1]
        flood = [x.lines[0], x.lines[1]]
        flood += [line_with(fork, host__id="forged-%05d" % i) for i in range(16400)]
        flood.append(line_with(fork, **{"@timestamp": "2100-01-01T00:00:00Z"}))
        publish_fast(nc, "hopwatch.x.events", flood)
        b, c, _, sc = two_hosts()
        good = publish_hosts(nc, [b, c])
        drained(nc, "hopwatch-collector", timeout=120)
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        a = only(col.alerts("hop-chain"), "hop-chain beside the flood")
        check_chain(a)
        check_eq(hw.get(a, "hopwatch.session.id"), sc.id, "the chain's end")
        k = col.final()
        check_eq(k["hosts"], 3, "engines made: x, b and c")
        check_eq(k["identity_refused"], 16400, "lines with another host.id than x's first")
        check_eq(k["malformed"], 16400, "refused lines")
        check_eq(k["clamped"], 1, "the line dated 2100 bounded")
        check_eq(k["events"], 3 + good, "events fed")
        err = [l for l in col.stderr().splitlines() if "malformed event" in l]
        check(any("host.id 'forged-00000' of host 'x' is not '%s', the id first seen"
                  % x.host_id in l for l in err), "the refusal says why: %r" % err[:3])
        nc.close()


def test_nats_pinned_identity_and_idle_hosts_forgotten():
    """A host's subject keeps the host.id and host.name it first came with (a line with a
    name that maps to the same subject token is refused too); a host silent for
    collect.host_idle is forgotten, and comes back pinned afresh."""
    with NatsServer() as srv, Collector(srv.url, "--set", "collect.host_idle=1s") as col:
        nc = Nats(srv.port)
        w = Stream("web.1")
        w.agent_started()
        cron = w.existing(1, 600, "/usr/sbin/cron", ["cron"])
        w.fork(2, cron)
        for line in w.lines:
            nc.publish("hopwatch.web_1.events", line)
        # the same subject token from another name, and another id: refused
        nc.publish("hopwatch.web_1.events", line_with(w.lines[-1], host__name="web_1"))
        nc.publish("hopwatch.web_1.events", line_with(w.lines[-1], host__id="other"))
        drained(nc, "hopwatch-collector")
        time.sleep(2.5)  # idle: forgotten by the collector's clock
        nc.publish("hopwatch.web_1.events", line_with(w.lines[-1], host__id="reinstalled"))
        drained(nc, "hopwatch-collector")
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        k = col.final()
        check_eq(k["identity_refused"], 2, "refused: another name, another id")
        check(k["idle_hosts"] >= 1, "the idle host forgotten: %r" % k)
        check_eq(k["hosts"], 2, "engines: the first run, and the host back after its idle")
        check_eq(k["events"], len(w.lines) + 1, "events fed")
        err = col.stderr()
        check("host.name 'web_1' is not 'web.1', the name first seen" in err, err)
        nc.close()


def test_nats_account_layout_keeps_hosts_to_their_subject():
    """The permissions of docs/collector.md: a host's user publishes only its own subject; the
    server refuses another host's, so the collector's subject identity is the user's."""
    port = free_port()
    conf = os.path.join(hw.tempdir("nats-acl"), "server.conf")
    with open(conf, "w") as f:
        f.write("listen: 127.0.0.1:%d\njetstream { store_dir: %s }\n"
                % (port, os.path.join(os.path.dirname(conf), "store")))
        f.write("""authorization {
  users = [
    { user: "x", password: "xpw", permissions: {
        publish: { allow: ["hopwatch.x.>", "$JS.API.STREAM.INFO.HOPWATCH"] }
        subscribe: { allow: ["_INBOX.>"] } } }
    { user: "collector", password: "cpw", permissions: {
        publish: { allow: ["hopwatch.collector.alerts", "$JS.API.>", "$JS.ACK.HOPWATCH.>"] }
        subscribe: { allow: ["_INBOX.>"] } } }
  ]
}
""")
    log = open(conf + ".log", "w")
    proc = subprocess.Popen(["/usr/sbin/nats-server", "-c", conf], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                check(time.time() < deadline and proc.poll() is None, "nats-server started")
                time.sleep(0.05)
        with Collector("nats://collector:cpw@127.0.0.1:%d" % port) as col:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            rd = s.makefile("rb")
            rd.readline()
            s.sendall(b'CONNECT {"verbose":true,"user":"x","pass":"xpw","protocol":1}\r\n')
            check(rd.readline().startswith(b"+OK"), "x connected")
            b = Stream("b")
            b.agent_started()
            data = b.lines[0].encode()
            s.sendall(b"PUB hopwatch.b.events %d\r\n%s\r\n" % (len(data), data))
            reply = rd.readline()
            check(reply.startswith(b"-ERR 'Permissions Violation for Publish to "
                                   b"\"hopwatch.b.events\"'"), "refused: %r" % reply)
            x = Stream("x")
            x.agent_started()
            data = x.lines[0].encode()
            s.sendall(b"PUB hopwatch.x.events %d\r\n%s\r\n" % (len(data), data))
            check(rd.readline().startswith(b"+OK"), "x's own subject")
            time.sleep(3)  # fetched and fed (a fetch waits 500 ms)
            check_eq(col.stop(), 0, "exit status: " + col.stderr())
            k = col.final()
            check_eq((k["messages"], k["hosts"]), (1, 1), "only x's own line came")
            check("cpw" not in col.stderr(), "no password printed: %r" % col.stderr())
            rd.close()
            s.close()
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


# --- 16: memory, CPU, alerts ------------------------------------------------------------------

def fanout_flood(n, name="x"):
    """n connections to n internal ssh servers, each from a new process outside any session:
    before the budgets each one kept an admin-fanout record of 14 KiB (40,000: 620 MB). The
    record now grows with the hosts it holds (one here); each process, its connection and its
    record come to about 1.7 KiB."""
    x = Stream(name)
    x.agent_started()
    cron = x.existing(1, 600, "/usr/sbin/cron", ["cron"])
    for i in range(n):
        p = x.fork(2 + i * 0.001, cron)
        x.connect(2 + i * 0.001, p, ("10.9.%d.%d" % (i // 250 % 250, i % 250 + 1), 22),
                  src=("198.18.0.7", 10000 + i % 50000))
    return x


def test_replay_memory_budgets():
    b, c, _, _ = two_hosts()
    x = fanout_flood(100000)
    xfile = write(x.lines, "x.ndjson")
    bc = interleave([b, c], 1)
    # the default per-host budget (64M): before the budgets 40,000 of these took 620 MB
    r, rss = replay_rss([xfile], bc)
    check_eq((r.rc, r.errors), (0, []), "exit status and messages")
    check_chain(only(r.of("hop-chain"), "hop-chain"))
    check(rss < 160 * MiB, "peak RSS %.0f MiB" % (rss / MiB))
    k = r.counters()
    print("    100,000 connects, host_memory_max=64M: peak RSS %.0f MiB, %d evictions"
          % (rss / MiB, k["evictions"]))
    check(k["evictions"] >= 1, "x's engine started afresh over its budget: %r" % k)
    # a smaller per-host budget holds it lower
    r, rss = replay_rss([xfile], bc, sets=["collect.host_memory_max=8M"])
    check_chain(only(r.of("hop-chain"), "hop-chain"))
    print("    host_memory_max=8M: peak RSS %.0f MiB, %d evictions"
          % (rss / MiB, r.counters()["evictions"]))
    check(rss < 64 * MiB, "peak RSS %.0f MiB" % (rss / MiB))
    check(r.counters()["evictions"] >= 10, "evictions: %r" % r.counters())
    # several hosts each under their budget, all over the global one: the largest goes
    ys = [fanout_flood(9000, "y%d" % i) for i in range(4)]
    yfiles = [write(y.lines, "y%d.ndjson" % i) for i, y in enumerate(ys)]
    r, rss = replay_rss(yfiles, bc, sets=["collect.memory_max=48M"])
    check_chain(only(r.of("hop-chain"), "hop-chain"))
    k = r.counters()
    print("    4 hosts x 9,000 connects, memory_max=48M: peak RSS %.0f MiB, memory %d, "
          "%d memory evictions" % (rss / MiB, k["memory"], k["memory_evictions"]))
    check(k["memory_evictions"] >= 1 and k["evictions"] == 0, "global evictions: %r" % k)
    check(rss < 110 * MiB, "peak RSS %.0f MiB" % (rss / MiB))


def test_replay_ticks_do_not_scan_every_connection():
    """30,000 connections kept open, one a second: before the fix every event ticked the
    engine, which looked at every open connection (51 s here); now ticks are paid for by the
    events between them. long-connection still fires."""
    b, c, _, _ = two_hosts()
    x = Stream("x")
    x.agent_started()
    x.sshd()
    sx = x.ssh_session(1, "mallory", client=("198.18.0.9", 50022), server=("198.18.0.7", 22))
    for i in range(30000):
        x.connect(2 + i, sx.shell, ("198.18.%d.%d" % (1 + i // 250 % 250, i % 250 + 1), 443),
                  src=("198.18.0.7", 10000 + i % 50000))
    files = [write(x.lines, "x.ndjson"), write(b.lines, "b.ndjson"),
             write(c.lines, "c.ndjson")]
    start = time.time()
    r = collect(*files, sets=[INTERNAL])
    took = time.time() - start
    check_eq((r.rc, r.errors), (0, []), "exit status and messages")
    check_chain(only(r.of("hop-chain"), "hop-chain"))
    check(took < 20, "took %.1f s" % took)
    k = r.counters()
    print("    30,000 open connections a second apart: %.1f s, %d ticks" % (took, k["ticks"]))
    check(0 < k["ticks"] < 2000, "ticks paid for by events: %r" % k["ticks"])
    check(r.of("long-connection"), "long-connection still fires")


def test_replay_alert_flood_is_rate_limited_per_host_and_rule():
    """b's session makes 3,000 ssh hops to c within 30 s: before the fix 3,000 hop-chain
    alerts; now collect.host_alerts (60) a minute, the rest counted. c's other rules and other
    hosts still alert."""
    b, c = Stream("b"), Stream("c")
    for st in (b, c):
        st.agent_started()
        st.sshd()
    sb = b.ssh_session(10, "alice", client=(A, 50022), server=(B, 22))
    for i in range(3000):
        t = 12 + i * 0.01
        ssh = b.spawn(t, sb.shell, "/usr/bin/ssh", ["ssh", C])
        b.connect(t + 0.002, ssh, (C, 22), src=(B, 20000 + i))
        c.ssh_session(t + 0.003, "alice", client=(B, 20000 + i), server=(C, 22))
    cron = c.existing(1, 600, "/usr/sbin/cron", ["cron"], c.systemd)
    c.spawn(50, cron, "/usr/bin/bash", ["bash", "-i"], stdio=("tcp", "tcp", "tcp"))
    d = Stream("d")
    d.agent_started()
    dcron = d.existing(1, 600, "/usr/sbin/cron", ["cron"])
    d.spawn(51, dcron, "/usr/bin/bash", ["bash", "-i"], stdio=("tcp", "tcp", "tcp"))
    r = collect(write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson"),
                   write(d.lines, "d.ndjson"))
    check_eq((r.rc, r.errors), (0, []), "exit status and messages")
    chains = r.of("hop-chain")
    check_eq(len(chains), 60, "hop-chain alerts in the minute")
    k = r.counters()
    print("    3,000 hops: %d hop-chain alerts, %d dropped" % (len(chains), k["alerts_dropped"]))
    check_eq(k["hop_chains"], 3000, "chains found")
    check(k["alerts_dropped"] >= 2940, "dropped: %r" % k)
    check_eq(sorted(hw.get(a, "host.name") for a in r.of("reverse-shell")), ["c", "d"],
             "other rules of c, and other hosts, still alert")


# --- 17: forged hops and clocks -----------------------------------------------------------------

def forger(first=True):
    """x claims the connection b -> c:22 as its own session, without a start time."""
    x = Stream("x")
    x.agent_started()
    x.sshd()
    s = Session(x, "mallory", (B, 41000), (C, 22), None, 16)
    x.existing_session(16.5, s)
    x.lines[-1] = line_with(x.lines[-1], hopwatch__session__start=None)
    return x


def test_replay_forged_session_on_another_hosts_address():
    b, c, _, sc = two_hosts()
    x = forger()
    orders = [
        [x.lines, b.lines, c.lines],              # the claim before everything
        [b.lines, c.lines, x.lines],              # after c showed its address
        [interleave([b, c, x], 3)],
    ]
    for i, parts in enumerate(orders):
        r = collect(*[write(p, "part%d-%d.ndjson" % (i, j)) for j, p in enumerate(parts)])
        check_eq((r.rc, r.errors), (0, []), "exit status and messages")
        a = only(r.of("hop-chain"), "hop-chain (order %d)" % i)
        check_chain(a)
        check_eq(hw.get(a, "hopwatch.session.id"), sc.id, "c's session ends the chain")
        check_eq(r.counters()["stitch_refused"], 1, "x's claim refused (order %d)" % i)


def test_replay_far_future_line_moves_only_its_host():
    """x's line dated 2100 comes between b's half of the hop and c's: before the fix it moved
    the stitcher's clock, which forgot b's half at once (no chain)."""
    b, c, _, _ = two_hosts()
    x = Stream("x")
    x.agent_started()
    x.lines.append(line_with(x.lines[0], **{"@timestamp": "2100-01-01T00:00:00Z"}))
    r = collect(write(b.lines, "b.ndjson"), write(x.lines, "x.ndjson"),
                   write(c.lines, "c.ndjson"))
    check_eq((r.rc, r.errors), (0, []), "exit status and messages")
    check_chain(only(r.of("hop-chain"), "hop-chain after a line dated 2100"))
    check_eq(r.counters()["clamped"], 1, "the time bounded")


# --- 14: long lines, passwords ---------------------------------------------------------------------

def test_replay_overlong_line_not_read_whole():
    """A 200 MB line: before the fix read whole (RSS beyond 200 MB) and then refused; now the
    reader stops at 1 MiB, says FILE:LINE, and goes on with the next line."""
    b, c, _, _ = two_hosts()
    path = os.path.join(hw.tempdir("collect"), "long.ndjson")
    with open(path, "w") as f:
        f.write(b.lines[0] + "\n")
        f.write('{"s":"')
        chunk = "x" * MiB
        for _ in range(200):
            f.write(chunk)
        f.write('"}\n')
        for line in b.lines[1:]:
            f.write(line + "\n")
    r, rss = replay_rss([path], c.lines)
    print("    a 200 MB line: peak RSS %.0f MiB" % (rss / MiB))
    check_eq(r.rc, 3, "exit status: malformed lines")
    check_eq(r.errors, ["hopwatch: %s:2: malformed event: line longer than 1048576 bytes" % path],
             "one line naming the file and line")
    check_chain(only(r.of("hop-chain"), "the lines after it read"))
    check_eq(r.counters()["malformed"], 1, "counted")
    check_eq(r.counters()["messages"], len(b.lines) + len(c.lines) + 1, "messages")
    check(rss < 40 * MiB, "peak RSS %.0f MiB" % (rss / MiB))


def test_nats_url_password_never_printed():
    port = free_port()
    p = hw.hopwatch("collect", "--nats", "nats://bob:s3cret@127.0.0.1:%d,nats://tok3n@127.0.0.1:%d"
                    % (port, port), "--duration", "1s", "-o", "json")
    check_eq(p.returncode, 1, "exit status")
    check("s3cret" not in p.stderr and "tok3n" not in p.stderr, p.stderr)
    check("nats://bob:***@127.0.0.1:%d,nats://***@127.0.0.1:%d" % (port, port) in p.stderr,
          p.stderr)
    p = hw.hopwatch("collect", "--nats", "http://bob:s3cret@127.0.0.1:1")
    check_eq(p.returncode, 2, "exit status")
    check("s3cret" not in p.stderr and "'http://bob:***@127.0.0.1:1'" in p.stderr, p.stderr)
    conf = os.path.join(hw.tempdir("collect"), "bad.conf")
    with open(conf, "w") as f:
        f.write("[output]\nnats_url = ftp://u:pw%d@h:1\n" % port)
    p = hw.hopwatch("collect", "-c", conf)
    check_eq(p.returncode, 2, "exit status")
    check(("pw%d" % port) not in p.stderr and "ftp://u:***@h:1" in p.stderr, p.stderr)
    # the agent reads the same key the same way
    p = hw.hopwatch("run", "-c", conf, "--duration", "1s")
    check_eq(p.returncode, 2, "exit status of run")
    check(("pw%d" % port) not in p.stderr and "ftp://u:***@h:1" in p.stderr, p.stderr)
