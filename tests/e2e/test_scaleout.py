"""Collectors that scale out (docs/collector.md, "Scaling out"): a real nats-server whose
subject mapping puts each host in one of 4 partitions ({{partition(4,1)}}), and two real
`hopwatch collect --partition` processes taking two partitions each. Hosts b and c of a hop
chain A -> b -> c on different instances: the chain is stitched once, by the second stage on
partition 0's instance. An instance killed with SIGKILL while it consumes, then restarted: every
host judged, every alert on collect.subject exactly once. Bad partition options and keys: one
line, exit 2."""
import contextlib
import json
import os
import signal
import threading
import time

import hw
from hw import check, check_eq, get, hopwatch
from collectlab import A, Collector, drained
from ecs_builder import Proc, Stream
from natslab import Nats, NatsServer, partition_mapping, partition_of

N = 4
HALVES = ("0,1/4", "2,3/4")
SETS = ["--set", "detect.internal_nets=198.18.0.0/15"]


def durables(parts):
    ks = [int(k) for k in parts.split("/")[0].split(",")]
    return ["hopwatch-collector-%d" % k for k in ks] + (["hopwatch-collector-stitch"]
                                                         if 0 in ks else [])


def pair(i, b_name, c_name):
    """alice logs in to b from A_i (no agent) and sshes on to c from that session: one hop
    chain, and lateral-movement on b. Addresses of their own per pair."""
    bip, cip, aip = "198.18.1.%d" % i, "198.18.2.%d" % i, "198.18.3.%d" % i
    b, c = Stream(b_name), Stream(c_name)
    for st in (b, c):
        st.agent_started()
        st.sshd()
    sb = b.ssh_session(10, "alice", client=(aip, 50022), server=(bip, 22))
    ssh = b.spawn(15, sb.shell, "/usr/bin/ssh", ["ssh", cip])
    b.connect(16, ssh, (cip, 22), src=(bip, 41000))
    c.ssh_session(16, "alice", client=(bip, 41000), server=(cip, 22))
    return b, c, aip


def host_in(half, prefix, start=0):
    """A host name of that prefix whose partition is taken by half (0 or 1)."""
    i = start
    while True:
        name = "%s%d" % (prefix, i)
        if (partition_of(name, N) < 2) == (half == 0):
            return name
        i += 1


def publish_host(nc, st):
    """A host's stream as one batch, as an agent sends it: its lines are judged together."""
    nc.publish_batch("hopwatch.%s.events" % st.host_name, st.lines, encoding="zstd")


def published_alerts(srv):
    return [(mid, hw.parse_event(data)) for _, subj, mid, data in srv.dump()
            if subj == "hopwatch.collector.alerts"]


def test_two_instances_stitch_a_chain_across_them_once():
    b_name, c_name = host_in(0, "b"), host_in(1, "c")
    with NatsServer(mappings=partition_mapping(N)) as srv, contextlib.ExitStack() as stack:
        cols = [stack.enter_context(Collector(srv.url, "--partition", p, *SETS, name="p%d" % i))
                for i, p in enumerate(HALVES)]
        nc = Nats(srv.port)
        b, c, aip = pair(1, b_name, c_name)
        # line by line, interleaved, the old agents' way, and c's first: arrival order free
        for line in c.lines + b.lines:
            host = json.loads(line)["host"]["name"]
            nc.publish("hopwatch.%s.events" % host, line)
        # the server put b in partition 0 or 1, c in 2 or 3
        subjects = {subj for _, subj, _, _ in srv.dump()}
        check_eq(sorted(s for s in subjects if not s.startswith("hopwatch.collector.")),
                 sorted(["hopwatch.%s.events.%d" % (b_name, partition_of(b_name, N)),
                         "hopwatch.%s.events.%d" % (c_name, partition_of(c_name, N))]),
                 "subjects stored")
        cols[0].wait_for(lambda e: get(e, "rule.id") == "hop-chain", 30)
        for i, p in enumerate(HALVES):
            for d in durables(p):
                drained(nc, d)
        time.sleep(0.5)
        for col in cols:
            check_eq(col.stop(), 0, "exit status: " + col.stderr())
        k0, k1 = cols[0].final(), cols[1].final()
        # each host judged by one instance: b's engine on the first, c's on the second
        check_eq((k0["hosts"], k1["hosts"]), (1, 1), "engines per instance")
        check_eq(k0["events"] + k1["events"], len(b.lines) + len(c.lines), "events judged")
        check_eq((k0["partitions"], k1["partitions"]), HALVES, "partitions")
        check_eq((k0["stitch_stage"], k1["stitch_stage"]), (1, 0), "the second stage")
        check(k0["forwarded"] > 0 and k1["forwarded"] > 0, "both forwarded: %r %r"
              % (k0["forwarded"], k1["forwarded"]))
        check_eq(k0["forward_errors"] + k1["forward_errors"], 0, "forward errors")
        chains = cols[0].alerts("hop-chain") + cols[1].alerts("hop-chain")
        check_eq(len(chains), 1, "hop-chain alerts of both instances")
        check_eq(get(chains[0], "hopwatch.alert.hosts"), [aip, b_name, c_name], "the chain")
        check_eq(get(chains[0], "hopwatch.alert.count"), 2, "hops")
        check_eq(k0["hop_chains"], 1, "stitched on partition 0's instance")
        lm = cols[0].alerts("lateral-movement")
        check_eq([get(a, "host.name") for a in lm], [b_name], "b's rules on b's instance")
        check_eq(cols[1].alerts("lateral-movement"), [], "nothing of b on the other")
        pub = published_alerts(srv)
        check_eq(sorted(get(e, "rule.id") for _, e in pub), ["hop-chain", "lateral-movement"],
                 "alerts on collect.subject")
        nc.close()


def test_partitioned_stitching_alerts_as_one_collector_does():
    """The second stage reads what the stitcher needs of each fact (collect/stitch_line.c), not
    the agents' lines: hop chains whose hops spread over both instances, with users and programs
    whose names hold tabs, backslashes and UTF-8, give the same hop-chain alerts (message, hosts,
    user, sessions, related ids, severity) as one collector reading the same lines."""
    names = [("alice", "/usr/bin/ssh"), ("b\\ob", "/opt/t\tools/ssh"),
             ("ca\trol", "/usr/bin/sš h"), ("dave\u00e9", "/tmp/x\\y/ssh")]
    streams = []
    for i, (user, exe) in enumerate(names):
        bh, ch = host_in(i % 2, "db%d-" % i), host_in((i // 2 + 1) % 2, "dc%d-" % i)
        bip, cip, aip = "198.18.4.%d" % (i + 1), "198.18.5.%d" % (i + 1), "198.18.6.%d" % (i + 1)
        b, c = Stream(bh), Stream(ch)
        for st in (b, c):
            st.agent_started()
            st.sshd()
        sb = b.ssh_session(10, user, client=(aip, 50022), server=(bip, 22))
        ssh = b.spawn(15, sb.shell, exe, [exe.rsplit("/", 1)[-1], cip])
        b.connect(16, ssh, (cip, 22), src=(bip, 41000 + i))
        c.ssh_session(16, user, client=(bip, 41000 + i), server=(cip, 22))
        streams += [b, c]

    def chains(alerts):
        return sorted((get(a, "message"), tuple(get(a, "hopwatch.alert.hosts")),
                       get(a, "user.name"), get(a, "hopwatch.session.id"),
                       tuple(get(a, "related.id") or ()), get(a, "event.severity"),
                       get(a, "hopwatch.alert.count"), get(a, "host.name"))
                      for a in alerts)

    lines = [l for st in streams for l in st.lines]
    path = os.path.join(hw.tempdir("scaleout"), "all.ndjson")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = hopwatch("collect", "-o", "json", "--replay", path, *SETS)
    check_eq(p.returncode, 0, "collect --replay: " + p.stderr)
    one = [e for e in map(hw.parse_event, p.stdout.splitlines())
           if get(e, "event.kind") == "alert" and get(e, "rule.id") == "hop-chain"]
    check_eq(len(one), len(names), "hop chains of one collector")
    with NatsServer(mappings=partition_mapping(N)) as srv, contextlib.ExitStack() as stack:
        cols = [stack.enter_context(Collector(srv.url, "--partition", q, *SETS, name="d%d" % i))
                for i, q in enumerate(HALVES)]
        nc = Nats(srv.port)
        for st in streams:
            publish_host(nc, st)
        cols[0].wait_for(lambda e: len(cols[0].alerts("hop-chain")) >= len(names), 30)
        for q in HALVES:
            for d in durables(q):
                drained(nc, d)
        time.sleep(0.5)
        for col in cols:
            check_eq(col.stop(), 0, "exit status: " + col.stderr())
        k0, k1 = cols[0].final(), cols[1].final()
        check(k0["forwarded"] > 0 and k1["forwarded"] > 0, "both forwarded")
        check_eq(cols[1].alerts("hop-chain"), [], "chains only on the second stage's instance")
        check_eq(chains(cols[0].alerts("hop-chain")), chains(one),
                 "hop chains of two instances against one collector")
        # what went to the second stage was the stitcher's lines, not the agents'
        body = [d.decode("utf-8", "replace") if isinstance(d, bytes) else d
                for _, subj, _, d in srv.dump() if subj == "hopwatch.collector.stitch._group"]
        body = [l for l in body if l and not l.startswith("#")]
        check(body and all(l.startswith("~1\t") for l in body),
              "the second stage's input: %r" % body[:3])
        nc.close()


def test_instance_killed_mid_run_every_host_judged_once():
    """Pairs of hosts spread over both instances, a flood of filler events on the second
    instance's partitions, and that instance killed with SIGKILL while it consumes them. It is
    started again: its durables give it back what it had not acknowledged (ack_wait 2s)."""
    npairs = 16
    pairs = []
    used = set()
    for i in range(npairs):
        # every combination: b and c on the same instance, or on different ones
        bh, ch = host_in(i % 2, "b%d-" % i), host_in((i // 2) % 2, "c%d-" % i)
        pairs.append(pair(i + 1, bh, ch))
        used.update((bh, ch))
    fillers = []
    for j in range(6):
        name = host_in(1, "fill%d-" % j)
        st = Stream(name)
        st.agent_started()
        cron = st.existing(0, 600, "/usr/sbin/cron", ["cron"])
        for n in range(4000):
            st.spawn(1 + n * 0.001, cron, "/usr/bin/true", ["true"])
        fillers.append(st)
    ack = ["--set", "collect.ack_wait=2s"]
    with NatsServer(mappings=partition_mapping(N)) as srv, contextlib.ExitStack() as stack:
        cols = [stack.enter_context(Collector(srv.url, "--partition", p, *(SETS + ack),
                                              name="k%d" % i))
                for i, p in enumerate(HALVES)]
        nc = Nats(srv.port)
        for b, c, _ in pairs[:npairs // 2]:
            publish_host(nc, b)
            publish_host(nc, c)
        # the filler in batches of 1000 lines, then the other half of the pairs, while the
        # second instance is stopped: it finds them all waiting, and cannot be through them
        # before the loop below looks
        victim = cols[1]
        os.kill(victim.proc.pid, signal.SIGSTOP)
        for st in fillers:
            for k in range(0, len(st.lines), 1000):
                nc.publish_batch("hopwatch.%s.events" % st.host_name, st.lines[k:k + 1000],
                                 headers={"Hopwatch-First-Seq": str(k + 1)})
        for b, c, _ in pairs[npairs // 2:]:
            publish_host(nc, b)
            publish_host(nc, c)
        # killed while it consumes: some of its messages delivered, not acknowledged. Once the
        # server says so, the instance is stopped (SIGSTOP: it can acknowledge nothing more)
        # and the server asked again; a fast instance may have acknowledged everything in
        # between, and is then let go on until it is caught holding some
        os.kill(victim.proc.pid, signal.SIGCONT)
        deadline = time.time() + 30
        pending = 0
        while time.time() < deadline:
            if any(nc.consumer(d).get("num_ack_pending", 0) for d in durables(HALVES[1])):
                os.kill(victim.proc.pid, signal.SIGSTOP)
                pending = sum(nc.consumer(d).get("num_ack_pending", 0)
                              for d in durables(HALVES[1]))
                if pending:
                    break
                os.kill(victim.proc.pid, signal.SIGCONT)
            time.sleep(0.005)
        victim.proc.kill()
        victim.proc.wait()
        victim.err.close()
        check(pending > 0, "the instance was killed with messages not acknowledged")
        left = sum(nc.consumer(d).get("num_pending", 0) + nc.consumer(d).get(
            "num_ack_pending", 0) for d in durables(HALVES[1]))
        check(left > 0, "the killed instance left work: %d" % left)
        again = stack.enter_context(Collector(srv.url, "--partition", HALVES[1],
                                              *(SETS + ack), name="k1-again"))
        for p in HALVES:
            for d in durables(p):
                drained(nc, d, 60)
        time.sleep(0.5)
        check_eq(cols[0].stop(), 0, "exit status: " + cols[0].stderr())
        check_eq(again.stop(), 0, "exit status: " + again.stderr())
        pub = published_alerts(srv)
        ids = [mid for mid, _ in pub]
        check_eq(len(ids), len(set(ids)), "no alert twice on collect.subject")
        check_eq(sorted(ids), sorted(get(e, "event.id") for _, e in pub), "ids are event.id")
        chains = sorted(tuple(get(e, "hopwatch.alert.hosts")) for _, e in pub
                        if get(e, "rule.id") == "hop-chain")
        check_eq(chains, sorted((aip, b.host_name, c.host_name) for b, c, aip in pairs),
                 "every chain, once")
        lm = sorted(get(e, "host.name") for _, e in pub if get(e, "rule.id") ==
                    "lateral-movement")
        check_eq(lm, sorted(b.host_name for b, _, _ in pairs), "every b judged, once")
        # the restarted instance judged what the killed one left
        k = again.final()
        check(k["acked"] >= left, "the restarted instance took back the %d messages left: %d"
              % (left, k["acked"]))
        nc.close()


def test_bad_partition_options_one_line_exit_2():
    url = "nats://127.0.0.1:1"
    cases = [
        (["--partition", "2/2"], "partition '2' is not below collect.partitions (2)"),
        (["--partition", "0"], "--partition: invalid value '0'"),
        (["--partition", "a/4"], "--partition: invalid value 'a/4'"),
        (["--partition", "0/0"], "--partition: invalid value '0/0'"),
        (["--partition", "3-1/4"], "--partition: invalid value '3-1/4'"),
        (["--partition", "0/65"], "--partition: invalid value '0/65'"),
        (["--set", "collect.partitions=4"], "collect.partitions is set but not "
         "collect.partition"),
        (["--set", "collect.partition=1"], "collect.partition is set but not "
         "collect.partitions"),
        (["--set", "collect.partition=1,,2"], "collect.partition"),
        (["--set", "collect.partitions=65"], "collect.partitions"),
        (["--set", "collect.partitions=4", "--set", "collect.partition=4"],
         "partition '4' is not below collect.partitions (4)"),
    ]
    for args, want in cases:
        p = hopwatch("collect", "--nats", url, *args)
        lines = p.stderr.splitlines()
        check_eq(p.returncode, 2, "exit status of %r: %r" % (args, p.stderr))
        check(lines and lines[0].startswith("hopwatch: ") and want in lines[0],
              "%r: %r should say %r" % (args, p.stderr, want))
        check(len([l for l in lines if not l.startswith("Try ")]) == 1,
              "one line for %r: %r" % (args, p.stderr))
    # a config file too
    path = os.path.join(hw.tempdir("part"), "c.conf")
    with open(path, "w") as f:
        f.write("[collect]\npartitions = 2\npartition = 0-2\n")
    p = hopwatch("collect", "--nats", url, "-c", path)
    check_eq(p.returncode, 2, "exit status: " + p.stderr)
    check("partition '0-2' is not below collect.partitions (2)" in p.stderr, p.stderr)
    p = hopwatch("collect", "--partition", "0/2", "--replay", path)
    check_eq(p.returncode, 2, "--replay with --partition: " + p.stderr)
    check("--partition and collect.partition(s) are for NATS" in p.stderr, p.stderr)


def test_second_stage_killed_keeps_what_it_had_acknowledged():
    """The instance of partition 0 (the second stage) killed with SIGKILL after it had taken
    and acknowledged b's half of a hop, the other half (c's login) published while it is down:
    started again, it reads its acknowledged messages again (alerts muted) and stitches the
    chain when c's half comes. A chain completed before the kill is not raised again."""
    ack = ["--set", "collect.ack_wait=2s"]
    b1, c1 = host_in(0, "ob"), host_in(1, "oc")
    b2, c2 = host_in(1, "nb"), host_in(0, "nc")
    done_b, done_c, done_a = pair(1, b1, c1)
    new_b, new_c, new_a = pair(2, b2, c2)
    with NatsServer(mappings=partition_mapping(N)) as srv, contextlib.ExitStack() as stack:
        cols = [stack.enter_context(Collector(srv.url, "--partition", p, *(SETS + ack),
                                              name="s%d" % i))
                for i, p in enumerate(HALVES)]
        nc = Nats(srv.port)
        for st in (done_b, done_c, new_b):
            publish_host(nc, st)
        cols[0].wait_for(lambda e: get(e, "rule.id") == "hop-chain", 30)
        for p in HALVES:
            for d in durables(p):
                drained(nc, d)
        victim = cols[0]
        victim.proc.kill()
        victim.proc.wait()
        victim.err.close()
        publish_host(nc, new_c)
        again = stack.enter_context(Collector(srv.url, "--partition", HALVES[0],
                                              *(SETS + ack), name="s0-again"))
        chain = again.wait_for(lambda e: get(e, "rule.id") == "hop-chain", 30)
        check_eq(get(chain, "hopwatch.alert.hosts"), [new_a, b2, c2], "the chain across the kill")
        for p in HALVES:
            for d in durables(p):
                drained(nc, d)
        time.sleep(0.5)
        check_eq(again.stop(), 0, "exit status: " + again.stderr())
        check_eq(cols[1].stop(), 0, "exit status: " + cols[1].stderr())
        check_eq([get(a, "hopwatch.alert.hosts") for a in again.alerts("hop-chain")],
                 [[new_a, b2, c2]], "only the new chain raised after the restart")
        k = again.final()
        check(k["stitch_replayed"] >= 3, "messages read again: %r" % k["stitch_replayed"])
        check(k["stitch_muted"] >= 1, "the old chain not raised again: %r" % k["stitch_muted"])
        check("the second stage read" in again.stderr(), again.stderr())
        pub = published_alerts(srv)
        chains = sorted(tuple(get(e, "hopwatch.alert.hosts")) for _, e in pub
                        if get(e, "rule.id") == "hop-chain")
        check_eq(chains, sorted([(done_a, b1, c1), (new_a, b2, c2)]), "each chain once")
        nc.close()


def group(*parts):
    """A message for the second stage as a partitioned instance makes it: each part of a
    source message, (SEQ, K, HOST, lines), after "#SEQ HOST" or "#SEQ/K HOST"
    (docs/streaming.md)."""
    lines = []
    for seq, k, host, src in parts:
        lines.append("#%d%s %s" % (seq, "/%d" % k if k else "", host))
        lines.extend(src)
    return "".join(l + "\n" for l in lines).encode(), {
        "Hopwatch-Count": str(len(lines)), "Hopwatch-Sources": str(len(parts))}


def test_second_stage_feeds_a_source_message_once_whatever_its_group():
    """A partition's message judged twice (its instance was killed before acknowledging it)
    has its lines forwarded twice, grouped with other messages the second time: the second
    stage feeds each of its parts once, by the source message's stream sequence and the
    part's index. Here the test is the first stage: the first part of b's message 5 in one
    group, then that part again with its second part and c's message 9. A group with a line
    before any source line, or a source line that is not '#SEQ HOST', costs those lines only."""
    b_name, c_name = host_in(0, "gb"), host_in(1, "gc")
    b, c, aip = pair(3, b_name, c_name)
    half = len(b.lines) // 2
    subject = "hopwatch.collector.stitch._group"
    with NatsServer(mappings=partition_mapping(N)) as srv, \
            Collector(srv.url, "--partition", "0/4", *SETS, name="g0") as col:
        nc = Nats(srv.port)
        for body, hdrs in (group((5, 0, b_name, b.lines[:half])),
                           group((5, 0, b_name, b.lines[:half]),
                                 (5, 1, b_name, b.lines[half:]), (9, 0, c_name, c.lines))):
            nc.publish(subject, body, headers=hdrs)
        chain = col.wait_for(lambda e: get(e, "rule.id") == "hop-chain", 30)
        check_eq(get(chain, "hopwatch.alert.hosts"), [aip, b_name, c_name], "the chain")
        body, hdrs = group((12, 0, "bad host!", b.lines[:1]), (13, 0, c_name, c.lines[:1]))
        nc.publish(subject, b'{"stray": 1}\n' + body,
                   headers=dict(hdrs, **{"Hopwatch-Count": str(int(hdrs["Hopwatch-Count"]) + 1)}))
        drained(nc, "hopwatch-collector-stitch")
        time.sleep(0.3)
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        check_eq(len(col.alerts("hop-chain")), 1, "one chain")
        k = col.final()
        check_eq(k["stitch_repeats"], 1, "b's first part fed once")
        check_eq(k["batches"], 3, "groups read")
        check_eq(k["batches_refused"], 0, "groups refused")
        err = col.stderr()
        check("a line before its source line" in err, err)
        check("a source line that is not '#SEQ HOST'" in err, err)
        nc.close()


def test_a_message_with_many_lines_goes_in_parts():
    """A host's batch of 10,000 lines all for the stitcher (its start and 9,999 listeners, 6 MB)
    is more than one message to the server may hold (1 MB): it goes to the second stage in parts
    of its own lines, "#SEQ/K HOST", in groups under the server's limit, beside the groups that
    carry a hop chain's halves; nothing is refused or forwarded twice."""
    big = Stream(host_in(0, "big"))
    big.agent_started()
    daemon = Proc(big, 4242, "/usr/sbin/nginx", ["nginx"])
    for i in range(9999):
        big.listen(1 + i * 0.001, daemon, port=1024 + i)
    check_eq(len(big.lines), 10000, "lines of the big batch")
    check(sum(len(l) for l in big.lines) > 2 << 20, "the big batch is larger than a message")
    b, c, aip = pair(4, host_in(0, "lb"), host_in(1, "lc"))
    with NatsServer(mappings=partition_mapping(N)) as srv, \
            Collector(srv.url, "--partition", "0-3/4", *SETS, name="a0") as col:
        nc = Nats(srv.port)
        for st in (big, b, c):
            publish_host(nc, st)
        col.wait_for(lambda e: get(e, "rule.id") == "hop-chain", 30)
        for d in durables("0,1,2,3/4"):
            drained(nc, d)
        time.sleep(0.3)
        check_eq(col.stop(), 0, "exit status: " + col.stderr())
        groups = [m for m in srv.messages() if m["subject"].startswith("hopwatch.collector.")
                  and m["subject"] != "hopwatch.collector.alerts"]
        check(all(m["subject"] == "hopwatch.collector.stitch._group" for m in groups),
              [m["subject"] for m in groups])
        check(len(groups) >= 3, "groups: %d" % len(groups))
        check(all(m["bytes"] < 1 << 20 and m["count"] <= 10000 for m in groups),
              [(m["bytes"], m["count"]) for m in groups])
        k = col.final()
        check_eq((k["malformed"], k["identity_refused"], k["forward_errors"],
                  k["stitch_repeats"]), (0, 0, 0, 0), "refused, not forwarded, fed twice")
        check(k["forwarded"] >= 10000, "forwarded: %r" % k["forwarded"])
        check_eq(len(col.alerts("hop-chain")), 1, "the pair's chain")
        nc.close()


def add_durable(nc, name, filt, ack_policy):
    reply = nc.request("$JS.API.CONSUMER.DURABLE.CREATE.HOPWATCH.%s" % name, json.dumps({
        "stream_name": "HOPWATCH", "config": {
            "durable_name": name, "deliver_policy": "all", "ack_policy": ack_policy,
            "filter_subject": filt}}).encode())
    check("error" not in reply, "durable %s: %r" % (name, reply))


def test_durables_acknowledging_all_up_to_a_message_refused():
    """A partitioned instance acknowledges each message by itself: one held back for the second
    stage, or lost with a dropped connection, is delivered again. A partition's or the second
    stage's durable made with ack policy 'all' would take it with the next acknowledgement:
    refused in one line (and the summary), exit 1. The instance makes its durables with
    explicit acknowledgements."""
    with NatsServer(mappings=partition_mapping(N)) as srv:
        nc = Nats(srv.port)
        nc.request("$JS.API.STREAM.CREATE.HOPWATCH", json.dumps({
            "name": "HOPWATCH", "subjects": ["hopwatch.>"], "storage": "file"}).encode())
        for name, filt, parts in (
                ("hopwatch-collector-5", "hopwatch.*.events.5", "4,5/6"),
                ("hopwatch-collector-stitch", "hopwatch.collector.stitch.*", "0/6")):
            add_durable(nc, name, filt, "all")
            p = hopwatch("collect", "--nats", srv.url, "--partition", parts, "--output",
                         os.devnull, *SETS, timeout=30)
            check_eq(p.returncode, 1, "exit status: " + p.stderr)
            lines = p.stderr.strip().splitlines()
            check_eq(len(lines), 2, "the reason, then the summary: %r" % p.stderr)
            check(("consumer '%s' of stream 'HOPWATCH' exists and does not acknowledge "
                   "messages one by one" % name) in lines[0], lines[0])
            check(lines[1].startswith("hopwatch: collected 0 messages"), lines[1])
        for d in ("hopwatch-collector-4", "hopwatch-collector-0"):
            check_eq(nc.consumer(d)["config"]["ack_policy"], "explicit", d)
        nc.close()
