"""`hopwatch collect`, no root: hand-written streams of two hosts (the ECS shapes of
tests/lib/ecs_builder.py) through --replay, in every arrival order; then the NATS mode against a
real nats-server on 127.0.0.1 fed by the NATS protocol client of tests/lib/natslab.py (the
collector's helpers are tests/lib/collectlab.py's): the hop-chain alert in the output and on
collect.subject, malformed and hostile messages counted and skipped, collectors sharing the
durable consumer splitting the messages, a restart resuming where the durable was, a deleted
consumer made again, a server that comes late. Usage errors: one line, exit 2."""
import gzip
import json
import contextlib
import os
import re
import signal
import time

import hw
from hw import check, check_eq, hopwatch
from collectlab import (A, B, C, CHAIN_MESSAGE, D, INTERNAL, Collector, check_chain, collect,
                        drained, interleave, publish_hosts, two_hosts, write)
from ecs_builder import Stream
from natslab import Nats, NatsServer, batch, free_port
from rulelab import expect, only


def check_states(r, nhosts):
    check_eq([hw.get(e, "event.action") for e in r.states], ["collector-started",
                                                            "collector-stopped"],
             "state lines")
    check_eq(hw.get(r.lines[0], "event.action"), "collector-started", "the first line")
    check_eq(hw.get(r.lines[-1], "event.action"), "collector-stopped", "the last line")
    c = r.counters()
    check_eq(c["hosts"], nhosts, "hosts counted")
    check_eq(c["alerts"], len(r.alerts), "alerts counted")
    check_eq(c["hop_chains"], len(r.of("hop-chain")), "hop chains counted")
    check(re.search(r"^hopwatch: collected %d messages: %d events from %d hosts, %d alerts "
                    r"\(%d hop chains\), %d malformed" % (
                        c["messages"], c["events"], nhosts, c["alerts"], c["hop_chains"],
                        c["malformed"]), r.stderr, re.M),
          "summary on stderr: %r" % r.stderr)


# --- --replay --------------------------------------------------------------------------------

def test_replay_two_hosts_one_hop_chain():
    b, c, sb, sc = two_hosts()
    r = collect(write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson"), sets=[INTERNAL])
    check_eq((r.rc, r.errors), (0, []), "exit status and messages")
    a = only(r.of("hop-chain"), "hop-chain")
    check_chain(a)
    expect(a, {
        "host.name": "c",
        "hopwatch.session.id": sc.id,
        "hopwatch.alert.related_ids": [sb.id, sc.id],
        "source.ip": B, "source.port": 41000,
        "destination.ip": C, "destination.port": 22,
    })
    # the per-host rules run too: b's session reached c's ssh port
    lm = only(r.of("lateral-movement"), "lateral-movement")
    check_eq(hw.get(lm, "host.name"), "b", "host of lateral-movement")
    check_states(r, 2)
    check_eq(r.counters()["messages"], len(b.lines) + len(c.lines), "messages")
    check_eq(r.counters()["malformed"], 0, "malformed")


def test_replay_hosts_sharing_a_machine_id():
    """Agents scoped to network namespaces of one machine (--netns, --host-name), or machines
    cloned from one image, share host.id: host.name tells them apart."""
    b, c = Stream("b"), Stream("c")
    c.host_id = b.host_id
    for st in (b, c):
        st.agent_started()
        st.sshd()
    sb = b.ssh_session(10, "alice", client=(A, 50022), server=(B, 22))
    ssh = b.spawn(15, sb.shell, "/usr/bin/ssh", ["ssh", C])
    b.connect(16, ssh, (C, 22), src=(B, 41000))
    c.ssh_session(16, "alice", client=(B, 41000), server=(C, 22))
    r = collect(write(interleave([b, c], 7), "bc.ndjson"), sets=[INTERNAL])
    check_eq((r.rc, r.errors), (0, []), "exit status and messages")
    a = only(r.of("hop-chain"), "hop-chain")
    check_eq(hw.get(a, "hopwatch.alert.hosts"), [A, "b", "c"], "hosts")
    check_eq(hw.get(a, "host.id"), b.host_id, "host.id")
    check_eq(hw.get(only(r.of("lateral-movement"), "lateral-movement"), "host.name"), "b",
             "lateral-movement's host")
    check_eq(r.counters()["hosts"], 2, "hosts")


def test_replay_hosts_in_any_order():
    """c's file before b's, and the two interleaved at random: the same one alert."""
    b, c, _, _ = two_hosts()
    first = collect(write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson"))
    want = only(first.of("hop-chain"), "hop-chain")
    orders = [[write(c.lines, "c.ndjson"), write(b.lines, "b.ndjson")]]
    for seed in range(8):
        orders.append([write(interleave([b, c], seed), "mixed-%d.ndjson" % seed)])
    for files in orders:
        r = collect(*files)
        check_eq((r.rc, r.errors), (0, []), "exit status and messages")
        a = only(r.of("hop-chain"), "hop-chain of %s" % files)
        check_chain(a)
        check_eq(hw.get(a, "event.id"), hw.get(want, "event.id"), "the alert's id")


def test_replay_chain_of_three_and_unrelated_hops():
    b, c, _, sc = two_hosts()
    d = Stream("d")
    d.agent_started()
    d.sshd()
    # from c's session on to d: a chain of three, reported for its new end
    ssh = c.spawn(30, sc.shell, "/usr/bin/ssh", ["ssh", D])
    c.connect(31, ssh, (D, 22), src=(C, 42000))
    d.ssh_session(31, "alice", client=(C, 42000), server=(D, 22))
    # b's cron connects to d from outside any session: a hop, but no chain
    cron = b.existing(1, 600, "/usr/sbin/cron", ["cron"], b.systemd)
    job = b.spawn(40, cron, "/usr/bin/rsync", ["rsync", D + ":/backup"])
    b.connect(41, job, (D, 22), src=(B, 43000))
    d.ssh_session(41, "backup", client=(B, 43000), server=(D, 22))
    r = collect(write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson"), write(d.lines, "d.ndjson"))
    check_eq((r.rc, r.errors), (0, []), "exit status and messages")
    chains = r.of("hop-chain")
    check_eq([hw.get(a, "hopwatch.alert.hosts") for a in chains],
             [[A, "b", "c"], [A, "b", "c", "d"]], "hosts of the chains")
    check_eq(hw.get(chains[1], "host.name"), "d", "host of the longer chain")
    check(hw.get(chains[1], "message").endswith(
        "→ d (alice via /usr/bin/ssh, 10:00:31)"), hw.get(chains[1], "message"))
    check_states(r, 3)


def test_replay_same_per_host_alerts_as_hopwatch_replay():
    b, c, _, _ = two_hosts()
    # something for the per-host rules: a reverse shell on c
    cron = c.existing(1, 600, "/usr/sbin/cron", ["cron"], c.systemd)
    c.spawn(50, cron, "/usr/bin/bash", ["bash", "-i"], stdio=("tcp", "tcp", "tcp"))
    files = [write(b.lines, "b.ndjson"), write(c.lines, "c.ndjson")]
    r = collect(*files, sets=[INTERNAL])
    p = hopwatch("replay", "-o", "json", "--set", INTERNAL, *files)
    check_eq(p.returncode, 0, "replay's exit status")
    ours = [json.dumps(a, sort_keys=True) for a in r.alerts if hw.get(a, "rule.id") != "hop-chain"]
    theirs = [json.dumps(hw.parse_event(line), sort_keys=True) for line in p.stdout.splitlines()]
    check_eq(sorted(ours), sorted(theirs), "per-host alerts of collect and of replay")
    check_eq(sorted(hw.get(a, "rule.id") for a in r.alerts),
             ["hop-chain", "lateral-movement", "reverse-shell"], "rules that fired")


def test_replay_malformed_lines_counted_and_skipped():
    b, c, _, _ = two_hosts()
    bad = ['{"not": "an event"}', "garbage", '{"@timestamp":"2026-11-27T10:00:00Z"}',
           # no host.id
           '{"@timestamp":"2026-11-27T10:00:00Z","event":{"action":"exec"},"host":{"name":"x"}}',
           # no host.name
           '{"@timestamp":"2026-11-27T10:00:00Z","event":{"action":"exec"},"host":{"id":"x"}}',
           "\x01\x02 binary"]
    lines = c.lines[:3] + bad + c.lines[3:]
    # an alert line among them: skipped, not malformed
    alert_line = collect(write(b.lines, "b0"), write(c.lines, "c0")).stdout.splitlines()[1]
    lines.insert(5, alert_line)
    r = collect(write(b.lines, "b.ndjson"), write(lines, "c.ndjson"))
    check_eq(r.rc, 3, "exit status with malformed lines")
    check_eq(len(r.errors), len(bad), "one message per malformed line: %r" % r.errors)
    for e in r.errors:
        check(re.match(r"^hopwatch: .*c\.ndjson:\d+: malformed event: \S", e), e)
        check(e.isprintable(), "printable: %r" % e)
    check_chain(only(r.of("hop-chain"), "hop-chain despite malformed lines"))
    check_eq(r.counters()["malformed"], len(bad), "malformed counted")
    check_eq(r.counters()["skipped"], 1, "the alert line skipped")


def test_replay_stdin_and_text_output():
    b, c, _, _ = two_hosts()
    p = hopwatch("collect", "-o", "text", "--replay", "-",
                 input="\n".join(interleave([b, c], 3)) + "\n")
    check_eq(p.returncode, 0, "exit status: " + p.stderr)
    lines = p.stdout.splitlines()
    check_eq(len(lines), 3, "started, the alert, stopped: %r" % lines)
    check(re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+ collector-started hopwatch \S+ pid=\d+ host=\S+ "
                   r"source=replay$", lines[0]), lines[0])
    check(re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+ ALERT    high hop-chain: %s$" % re.escape(
        CHAIN_MESSAGE), lines[1]), lines[1])
    check(re.search(r" collector-stopped .* messages=%d .* hop_chains=1 " % (
        len(b.lines) + len(c.lines)), lines[2]), lines[2])


def test_usage_errors():
    f = write(["{}"], "x.ndjson")
    cases = [
        ([], "no NATS server: give --nats URL"),
        (["--nats", "nats://127.0.0.1:4222", "--replay", f], "give one of --replay and --nats"),
        (["--replay", f, "--duration", "soon"], "--duration: invalid duration 'soon'"),
        (["--replay", f, "--bogus"], "unknown option '--bogus'"),
        (["--replay"], "option '--replay' needs a value"),
        (["extra"], "unexpected argument 'extra'"),
        (["--nats", "http://x:1"], "output.nats_url"),
        (["--replay", f, "--set", "collect.durable=a.b"], "collect.durable"),
        (["--replay", f, "--set", "collect.subject=a..b"], "collect.subject"),
        (["--replay", f, "-c", "/nonexistent/hw.conf"], "/nonexistent/hw.conf"),
        (["--replay", "/nonexistent/events"], "cannot open '/nonexistent/events'"),
    ]
    for args, want in cases:
        p = hopwatch("collect", *args)
        check_eq(p.returncode, 2, "exit status of collect %r (%s)" % (args, p.stderr))
        first = p.stderr.splitlines()[0] if p.stderr else ""
        check(want in first and first.startswith("hopwatch: "),
              "collect %r: %r should say %r" % (args, p.stderr, want))
    p = hopwatch("collect", "--help")
    check_eq(p.returncode, 0, "--help")
    check("--replay FILE" in p.stdout and "collect.durable" in p.stdout, "help text")


# --- NATS --------------------------------------------------------------------------------------


def test_nats_hop_chain_published_and_acknowledged():
    with NatsServer() as srv, Collector(srv.url, "--set", INTERNAL) as col:
        nc = Nats(srv.port)
        b, c, _, sc = two_hosts()
        total = publish_hosts(nc, [b, c])
        a = col.wait_for(lambda e: hw.get(e, "rule.id") == "hop-chain")
        check_chain(a)
        check_eq(hw.get(a, "hopwatch.session.id"), sc.id, "session of the chain's end")
        drained(nc, "hopwatch-collector")
        check_eq(col.stop(), 0, "exit status on SIGTERM: " + col.stderr())
        check_eq(len(col.alerts("hop-chain")), 1, "hop-chain alerts")
        k = col.final()
        check_eq((k["messages"], k["events"], k["acked"], k["malformed"], k["hosts"]),
                 (total, total, total, 0, 2), "counters")
        check_eq((k["hop_chains"], k["published"], k["publish_errors"]),
                 (1, len(col.alerts()), 0), "alerts published")
        check_eq((k["stream"], k["durable"], k["subject"]),
                 ("HOPWATCH", "hopwatch-collector", "hopwatch.*.events"), "what it consumed")
        # every alert on collect.subject, once, with its event.id as the message id
        published = [(mid, hw.parse_event(data)) for _, subj, mid, data in srv.dump()
                     if subj == "hopwatch.collector.alerts"]
        check_eq(sorted(mid for mid, _ in published),
                 sorted(hw.get(e, "event.id") for e in col.alerts()), "published alert ids")
        chain = [e for _, e in published if hw.get(e, "rule.id") == "hop-chain"]
        check_eq(len(chain), 1, "hop-chain alerts on collect.subject")
        check_chain(chain[0])
        err = col.stderr()
        check(re.search(r"^hopwatch: collected %d messages: .* %d acknowledged, %d alerts "
                        r"published \(0 failed\)$" % (total, total, len(col.alerts())), err,
                        re.M), "summary: %r" % err)
        nc.close()


def test_nats_hostile_messages_counted_and_skipped():
    with NatsServer() as srv, Collector(srv.url) as col:
        nc = Nats(srv.port)
        b, c, _, _ = two_hosts(b_name="b.example")  # subject token b_example
        good = interleave([b, c], 5)
        exec_line = b.lines[3]
        bad = [
            ("hopwatch.x.events", b"{not json"),
            ("hopwatch.x.events", b""),
            ("hopwatch.x.events", os.urandom(2000)),
            ("hopwatch.x.events", b'{"a":' * 40 + b"1" + b"}" * 40),  # too deep
            ("hopwatch.x.events", b'{"s":"' + b"x" * 900000 + b'"}'),  # huge
            ("hopwatch.x.events", b'{"@timestamp":"2026-13-45T99:00:00Z",'
                                  b'"event":{"action":"exec"}}'),
            # a good line on another host's subject, and on its name unmapped
            ("hopwatch.c.events", exec_line),
            ("hopwatch.b.events", exec_line),
            # no host
            ("hopwatch.unknown.events", b'{"@timestamp":"2026-11-27T10:00:00Z",'
                                        b'"event":{"action":"exec"}}'),
        ]
        for i, (subj, data) in enumerate(bad):
            nc.publish(subj, data)
            if i == 4:
                publish_hosts(nc, [b, c], seed=5)  # the real events, among the bad ones
        # not PREFIX.*.events: never delivered to the collector
        nc.publish("hopwatch.b_example.alerts", exec_line)
        nc.publish("hopwatch.b.example.events", exec_line)
        drained(nc, "hopwatch-collector")
        check_eq(col.proc.poll(), None, "the collector is still running")
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        a = only(col.alerts("hop-chain"), "hop-chain among hostile messages")
        check_chain(a, hosts=(A, "b.example", "c"), message=CHAIN_MESSAGE.replace(
            "→ b (", "→ b.example ("))
        k = col.final()
        check_eq(k["malformed"], len(bad), "malformed counted: %s" % col.stderr())
        check_eq(k["messages"], len(bad) + len(good), "messages consumed")
        check_eq(k["acked"], k["messages"], "every message acknowledged")
        err = [l for l in col.stderr().splitlines() if "malformed event" in l]
        check_eq(len(err), len(bad), "one line per malformed message: %r" % err)
        for line in err:
            check(line.isprintable() and len(line) < 1000, "one short printable line: %r" % line)
        check(any("is not hopwatch.b_example.events" in l for l in err),
              "the subject check says why: %r" % err)
        nc.close()


def test_nats_batches_split_and_hostile_batches_refused():
    """Batches (the sink's wire format: plain, gzip, zstd) are split into their lines, old
    one-line messages still read; a batch that fails its checks (its count, its encoding, a
    truncated or corrupt body, a decompression bomb) is refused whole with one line on
    standard error and counted, and costs nothing else: the hop chain among them is found."""
    with NatsServer() as srv, Collector(srv.url) as col:
        nc = Nats(srv.port)
        b, c, _, _ = two_hosts(b_name="b.example")  # subject token b_example
        good = interleave([b, c], 7)
        exec_line = b.lines[3]
        gz = batch([exec_line, exec_line], "gzip")[0]
        zs = batch([exec_line, exec_line], "zstd")[0]
        bomb = gzip.compress(b"\n" * (17 << 20))
        bad = [
            ({"Hopwatch-Count": "3"}, None),          # says 3, holds 2
            ({"Hopwatch-Count": "1"}, None),          # says 1, holds 2
            ({"Hopwatch-Count": "0"}, None),
            ({"Hopwatch-Count": "two"}, None),
            ({"Hopwatch-Count": "99999999999999999999999"}, None),
            ({"Hopwatch-Count": "10001"}, None),
            ({"Content-Encoding": "br"}, "gzip"),
            ({"Content-Encoding": "gzip"}, None),     # not gzip at all
            ({"Content-Encoding": "zstd"}, None),
            ({"Hopwatch-Count": None, "Content-Encoding": "gzip"}, "gzip"),  # no count
            ("truncated gzip", gz[:len(gz) // 2]),
            ("truncated zstd", zs[:len(zs) - 3]),
            ("corrupt zstd", zs[:6] + bytes(b ^ 0x5a for b in zs[6:])),
            ("bomb gzip", bomb),
        ]
        subj = "hopwatch.b_example.events"
        sent = 0
        for i, (what, enc) in enumerate(bad):
            if isinstance(what, dict):
                nc.publish_batch(subj, [exec_line, exec_line], encoding=enc, headers=what)
            else:
                count = "10000" if what == "bomb gzip" else "2"
                nc.publish(subj, enc, headers={"Hopwatch-Count": count, "Content-Encoding":
                                               what.split()[-1]})
            if i == 5:
                # the real events among the bad ones: batches of every encoding, and lines
                # as older agents sent them, each host's own order kept
                for k, host in enumerate(("b.example", "c")):
                    mine = [l for l in good if json.loads(l)["host"]["name"] == host]
                    hsubj = "hopwatch.%s.events" % host.replace(".", "_")
                    nc.publish(hsubj, mine[0])
                    rest = mine[1:]
                    for j, enc2 in enumerate((None, "gzip", "zstd")):
                        part = rest[j * len(rest) // 3:(j + 1) * len(rest) // 3]
                        if part:
                            nc.publish_batch(hsubj, part, encoding=enc2)
                    sent += len(mine)
        # a good batch with one bad line: only that line is lost
        nc.publish_batch(subj, [exec_line, "{not json", exec_line], encoding="zstd")
        drained(nc, "hopwatch-collector")
        check_eq(col.proc.poll(), None, "the collector is still running")
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        a = only(col.alerts("hop-chain"), "hop-chain among hostile batches")
        check_chain(a, hosts=(A, "b.example", "c"), message=CHAIN_MESSAGE.replace(
            "→ b (", "→ b.example ("))
        k = col.final()
        check_eq(sent, len(good), "every good line sent")
        check_eq(k["batches_refused"], len(bad), "refused batches: %s" % col.stderr())
        check_eq(k["malformed"], len(bad) + 1, "malformed: the refused batches and one line")
        check_eq(k["events"], len(good) + 2, "every good line fed once")
        err = [l for l in col.stderr().splitlines() if "malformed event" in l]
        check_eq(len(err), len(bad) + 1, "one line per refused batch and bad line: %r" % err)
        for line in err:
            check(line.isprintable() and len(line) < 1000, "one short printable line: %r" % line)
        for needle in ("says 3", "is not 1..10000", "'br' is not gzip or zstd",
                       "gzip body is truncated", "zstd body is truncated", "zstd body is corrupt",
                       "decompressed", "without Hopwatch-Count"):
            check(any(needle in l for l in err), "a line says %r: %r" % (needle, err))
        nc.close()


def test_nats_collectors_share_the_durable_and_resume():
    with NatsServer() as srv, contextlib.ExitStack() as stack:
        cols = [stack.enter_context(Collector(srv.url, name="c%d" % i)) for i in range(2)]
        nc = Nats(srv.port)
        s = Stream("web-1")
        s.agent_started()
        cron = s.existing(0, 600, "/usr/sbin/cron", ["cron"])
        for burst in range(30):
            for i in range(10):
                s.spawn(burst + i * 0.01, cron, "/usr/bin/true", ["true"])
        for i, line in enumerate(s.lines):
            nc.publish("hopwatch.web-1.events", line)
            if i % 20 == 19:
                time.sleep(0.05)
        total = len(s.lines)
        drained(nc, "hopwatch-collector")
        for col in cols:
            check_eq(col.stop(), 0, "exit status: " + col.stderr())
        got = [col.final()["messages"] for col in cols]
        check_eq(sum(got), total, "messages split between the collectors (%r)" % got)
        check(all(got), "both collectors got messages: %r" % got)
        # stopped, more events come; a new collector on the durable reads only those
        more = Stream("web-2")
        more.agent_started()
        more.existing(0, 600, "/usr/sbin/cron", ["cron"])
        for line in more.lines:
            nc.publish("hopwatch.web-2.events", line)
        col = stack.enter_context(Collector(srv.url, "--duration", "30s", name="c3"))
        drained(nc, "hopwatch-collector")
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        check_eq(col.final()["messages"], len(more.lines), "messages after the restart")
        # another durable reads the whole stream
        other = stack.enter_context(Collector(srv.url, "--set", "collect.durable=audit",
                                              name="c4"))
        drained(nc, "audit")
        check_eq(other.stop(), 0, "exit status: " + other.stderr())
        check_eq(other.final()["messages"], total + len(more.lines), "messages of a new durable")
        nc.close()


def test_nats_deleted_consumer_is_made_again():
    with NatsServer() as srv, Collector(srv.url, name="del") as col:
        nc = Nats(srv.port)
        check(nc.request("$JS.API.CONSUMER.DELETE.HOPWATCH.hopwatch-collector").get("success"),
              "the consumer deleted")
        b, c, _, _ = two_hosts()
        publish_hosts(nc, [b, c])
        check_chain(col.wait_for(lambda e: hw.get(e, "rule.id") == "hop-chain", 30))
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        check("consumer 'hopwatch-collector' of stream 'HOPWATCH' is gone; making it again"
              in col.stderr(), "it says so: %r" % col.stderr())
        nc.close()


def test_nats_server_late_and_never():
    port = free_port()
    # nothing listens: --duration ends it, exit 1, it says why
    p = hopwatch("collect", "--nats", "nats://127.0.0.1:%d" % port, "--duration", "1500ms",
                 "-o", "json")
    check_eq(p.returncode, 1, "exit status when NATS is never reached")
    check(re.search(r"^hopwatch: never consumed from NATS: ", p.stderr, re.M), p.stderr)
    check_eq(p.stdout, "", "no output")
    # the server comes a little later: the collector connects then
    col = Collector("nats://127.0.0.1:%d" % port, name="late")
    with contextlib.ExitStack() as stack:
        stack.push(col.__exit__)
        col.start(wait=False)
        time.sleep(1.5)
        srv = stack.enter_context(NatsServer(port=port))
        col.wait_for(lambda e: hw.get(e, "event.action") == "collector-started", 30)
        nc = Nats(srv.port)
        b, c, _, _ = two_hosts()
        publish_hosts(nc, [b, c])
        check_chain(col.wait_for(lambda e: hw.get(e, "rule.id") == "hop-chain"))
        check_eq(col.stop(signal.SIGINT), 0, "exit status on SIGINT: " + col.stderr())
        nc.close()


def test_nats_stream_subjects_follow_the_prefix():
    """output.nats_subject and output.nats_stream: the collector creates the stream when no
    agent did, and consumes PREFIX.*.events."""
    with NatsServer() as srv, Collector(srv.url, "--set", "output.nats_subject=corp.hw", "--set",
                                        "output.nats_stream=FLEET", "--set",
                                        "collect.subject=corp.hw.sec.alerts") as col:
        nc = Nats(srv.port)
        info = nc.stream_info("FLEET")
        check_eq(info["config"]["subjects"], ["corp.hw.>"], "subjects of the stream")
        b, c, _, _ = two_hosts()
        publish_hosts(nc, [b, c], prefix="corp.hw")
        check_chain(col.wait_for(lambda e: hw.get(e, "rule.id") == "hop-chain"))
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        subjects = {subj for _, subj, _, _ in srv.dump("FLEET")}
        check("corp.hw.sec.alerts" in subjects, "alerts published: %r" % subjects)
        nc.close()
