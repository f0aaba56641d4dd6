"""The JetStream sink's batches against a real nats-server (issue 14): many lines per message
within output.nats_batch_lines / nats_batch_bytes, headers that say whose lines they are
(host, run, first sequence, count) and a message id per batch; compressed bodies (gzip, zstd)
that hold exactly the agent's lines; a lone line waits at most output.nats_batch_delay; and a
round of batches whose acknowledgements were lost, then the agent killed with -9, is sent
again by the next agent cut the same way, under the same ids: the server drops it, the stream
holds every line once."""
import json
import os
import signal
import subprocess
import time

import hw
from hw import check, check_eq, get
from natslab import FreezeProxy, Nats, NatsServer

STORM = os.path.join(hw.ROOT, "build", "storm")
COMPRESS_NONE = ["output.nats_compress=none"]


def nats_agent(url, spool, *sets):
    # the full profile: the stream holds exactly the lines the agent writes
    args = ["--set", "output.nats_url=" + url, "--set", "output.spool_dir=" + spool,
            "--set", "output.nats_profile=full"]
    for s in sets:
        args += ["--set", s]
    return hw.Agent(*args)


def wait_stream(srv, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            d = srv.dump()
            if len(d) >= n:
                return d
        except hw.TestFailure:
            pass  # no stream yet
        time.sleep(0.2)
    return srv.dump()


def check_lines(dump, lines, what):
    data = [d for _, _, _, d in dump]
    if data != lines:
        first = next((i for i, (a, b) in enumerate(zip(data, lines)) if a != b),
                     min(len(data), len(lines)))
        raise hw.TestFailure("%s: the stream holds %d lines, the agent wrote %d; first "
                             "difference at %d" % (what, len(data), len(lines), first))


def check_batches(msgs, lines, max_lines, encoding):
    """Every message a batch of at most max_lines; headers and ids consistent; together the
    sequence numbers 1..len(lines) of one run, each once."""
    host_id = get(hw.parse_event(lines[0]), "host.id")
    check(len(msgs) < len(lines) / 3, "%d messages for %d lines: batched" % (len(msgs),
                                                                            len(lines)))
    seqs = []
    for m in msgs:
        check(m["count"] is not None and 1 <= m["count"] <= max_lines,
              "count within output.nats_batch_lines: %r" % m)
        check_eq(m["encoding"], encoding or "-", "Content-Encoding")
        check_eq(m["host"], host_id, "Hopwatch-Host is the host.id")
        check_eq(m["id"], "%s.%s.%d.%d" % (m["host"], m["run"], m["first"], m["count"]),
                 "the message id")
        seqs += range(m["first"], m["first"] + m["count"])
    check_eq(len({m["run"] for m in msgs}), 1, "one run")
    check_eq(sorted(seqs), list(range(1, len(lines) + 1)), "each sequence number once")


def test_batches_bounded_with_headers_and_compressed():
    for encoding, max_lines in ((None, 25), ("gzip", 1000), ("zstd", 60), ("", 1000)):
        spool = hw.tempdir("spool")
        with NatsServer() as srv:
            sets = ["output.nats_batch_lines=%d" % max_lines]
            if encoding is None:
                sets.append("output.nats_compress=none")
            elif encoding:
                sets.append("output.nats_compress=" + encoding)
            else:
                encoding = "zstd"  # the default
            with nats_agent(srv.url, spool, *sets) as agent:
                subprocess.run([STORM, "exec", "300"], check=True, capture_output=True)
                time.sleep(0.3)
            check_eq(agent.rc, 0, "agent exit")
            lines = agent.lines()
            dump = wait_stream(srv, len(lines))
            check(len(lines) > 600, "a busy run: %d lines" % len(lines))
            check_lines(dump, lines, "compress=%s" % encoding)
            msgs = srv.messages()
            check_batches(msgs, lines, max_lines, encoding)
            if encoding:
                plain = sum(len(l) + 1 for l in lines)
                packed = sum(m["bytes"] for m in msgs)
                check(packed * 4 < plain, "%s: %d bytes for %d" % (encoding, packed, plain))


def test_batch_bytes_bound():
    """output.nats_batch_bytes: a message's lines (with their newlines) stay under it."""
    spool = hw.tempdir("spool")
    with NatsServer() as srv:
        with nats_agent(srv.url, spool, "output.nats_batch_bytes=8K") as agent:
            subprocess.run([STORM, "exec", "100"], check=True, capture_output=True)
            time.sleep(0.3)
        lines = agent.lines()
        dump = wait_stream(srv, len(lines))
        check_lines(dump, lines, "batch_bytes=8K")
        msgs = srv.messages()
        check(all(m["bytes"] <= 8192 for m in msgs),
              "bodies within 8K: %r" % max(m["bytes"] for m in msgs))
        check(any(m["count"] > 2 for m in msgs), "still several lines a message")


def test_a_lone_line_waits_at_most_the_delay():
    """With output.nats_batch_delay=1s, a line written while nothing else comes is in the
    stream within about a second (not held until a batch fills)."""
    spool = hw.tempdir("spool")
    with NatsServer() as srv:
        with nats_agent(srv.url, spool, "output.nats_batch_delay=1s") as agent:
            time.sleep(2.5)  # the start's lines sent
            before = len(wait_stream(srv, 1))
            check(before > 0, "the start's lines arrived")
            subprocess.run([STORM, "exec", "1"], check=True, capture_output=True)
            written = time.monotonic()
            deadline = written + 5
            got = None
            while time.monotonic() < deadline:
                if any('"/bin/true"' in d or "/bin/true" in d for _, _, _, d in
                       srv.dump()[before:]):
                    got = time.monotonic() - written
                    break
                time.sleep(0.05)
        check(got is not None, "the exec arrived")
        check(got < 2.0, "the exec arrived %.2fs after it ran (cap 1s)" % got)
        check(got > 0.5, "the exec waited for more lines (%.2fs), as the cap allows" % got)


def test_lost_acks_then_agent_killed_sends_the_same_batches_again():
    """The server stores a round of batches but its acks never reach the agent (a relay holds
    them back); the agent keeps sending that round again, then is killed with -9. The next
    agent on the spool sends it again cut as it was (the spool held the cut), under the same
    message ids: the server drops the repeats. Without the held cut, the next agent cut the
    spooled lines afresh (a partial batch the delay cap had sent became part of a fuller
    one): other ids, and those lines stored twice."""
    spool = hw.tempdir("spool")
    with NatsServer() as srv:
        proxy = FreezeProxy(srv.port)
        try:
            a1 = nats_agent(proxy.url, spool, "output.nats_batch_lines=1000",
                            "output.nats_batch_delay=100ms").start()
            try:
                wait_stream(srv, 1)
                time.sleep(1)  # the start's lines acknowledged
                acked = len(srv.dump())
                proxy.freeze()
                # a few lines, sent as a partial batch once the delay passes (stored, its
                # ack held) ...
                subprocess.run([STORM, "exec", "3"], check=True, capture_output=True)
                deadline = time.time() + 10
                while len(srv.dump()) == acked and time.time() < deadline:
                    time.sleep(0.05)
                partial = srv.messages()[-1]
                check(partial["count"] < 1000, "a partial batch stored: %r" % partial)
                # ... then many more behind them, while the acks are held
                subprocess.run([STORM, "exec", "100"], check=True, capture_output=True)
                time.sleep(1.5)
                stored = len(srv.dump())
                check(stored > acked, "the server stored the round whose acks were held "
                                      "(%d > %d)" % (stored, acked))
                a1.proc.send_signal(signal.SIGKILL)
                a1.proc.wait(10)
            finally:
                a1.stop(judge=False)
        finally:
            proxy.close()
        first = a1.lines()
        with nats_agent(srv.url, spool, "output.nats_batch_lines=1000",
                        "output.nats_batch_delay=100ms") as a2:
            time.sleep(2)
        check_eq(a2.rc, 0, "second agent exit")
        second = a2.lines()
        dump = wait_stream(srv, len(second))
        data = [d for _, _, _, d in dump]
        dups = len(data) - len(set(data))
        check_eq(dups, 0, "lines stored twice")
        # the first run's lines: those it spooled before the kill, in order, then the second's
        n1 = len(data) - len(second)
        check_eq(data[:n1], first[:n1], "the first agent's lines, in order")
        check_eq(data[n1:], second, "the second agent's lines")
        check(n1 > stored - 1 and n1 >= len(first) - 200,
              "the spooled lines delivered: %d of %d written" % (n1, len(first)))
        runs = {m["run"] for m in srv.messages()}
        check_eq(len(runs), 2, "two runs")


def test_long_lines_held_round_sent_again_as_cut():
    """Commands with 4 KB of arguments (about 9 KB of lines an exec, with its exit): with
    compression, up to 32 MB of lines may be in flight. The server stores a round of them but
    its acks are held back past the 5-second wait, so the agent sends the round again, cut as
    it was. Before, it read the held batches again only up to 9 MB: a longer round was cut
    afresh, under other message ids, and its lines stored twice."""
    spool = hw.tempdir("spool")
    args = ["/bin/true"] + ["%02d" % i + "x" * 98 for i in range(40)]
    with NatsServer() as srv:
        proxy = FreezeProxy(srv.port)
        try:
            with nats_agent(proxy.url, spool) as agent:
                wait_stream(srv, 1)
                time.sleep(1)  # the start's lines acknowledged
                acked = len(srv.dump())
                proxy.freeze()
                for _ in range(1500):
                    subprocess.run(args, check=True)
                # until the server has stored what the agent may send unacknowledged
                nc = Nats(srv.port)
                deadline, last, since = time.time() + 30, -1, time.time()
                while time.time() < deadline and time.time() - since < 1:
                    n = nc.stream_info()["state"]["messages"]
                    if n != last:
                        last, since = n, time.time()
                    time.sleep(0.1)
                nc.close()
                dump = srv.dump()
                stored = len(dump) - acked
                held = sum(len(d) for _, _, _, d in dump[acked:])
                check(held > 10 << 20, "more than the old 9 MB room stored unacknowledged: "
                                       "%d lines, %d bytes" % (stored, held))
                time.sleep(6)  # past the acks' wait: the round is sent again
                proxy.thaw()
                time.sleep(2)
        finally:
            proxy.close()
        check_eq(agent.rc, 0, "agent exit")
        lines = agent.lines()
        data = [d for _, _, _, d in wait_stream(srv, len(lines))]
        check_eq(len(data) - len(set(data)), 0, "lines stored twice")
        check_eq(data, lines, "the agent's lines, each once, in order")


def test_a_stalled_server_never_blocks_the_agent():
    """nats-server stopped (SIGSTOP: connected, reading nothing) during a storm of some 40 MB
    of lines. Before, the agent's loop blocked in a write to the full socket: it stopped
    reading the ring buffer and writing its output (the kernel dropped events). Now its writes
    have a deadline and it never waits for acks: the output keeps up with the storm, nothing
    is dropped, and once the server goes on every line is stored once, in order."""
    spool = hw.tempdir("spool")
    srv = NatsServer()
    try:
        srv.start()
        with nats_agent(srv.url, spool, *COMPRESS_NONE) as agent:
            wait_stream(srv, 1)
            before = len(agent.lines())
            srv.proc.send_signal(signal.SIGSTOP)
            try:
                subprocess.run([STORM, "connect", "10000"], check=True, capture_output=True,
                               timeout=120)
                deadline = time.time() + 60  # a loaded machine
                while time.time() < deadline and len(agent.lines()) < before + 40000:
                    time.sleep(0.2)
                written = len(agent.lines()) - before
                check(written >= 40000, "the agent wrote the storm's lines while the server "
                                        "was stalled: %d of 40000" % written)
            finally:
                srv.proc.send_signal(signal.SIGCONT)
            wait_stream(srv, len(agent.lines()), timeout=90)
        check_eq(agent.rc, 0, "agent exit")
        lines = agent.lines()
        check_eq(get(hw.parse_event(lines[-1]), "hopwatch.agent.drops"), 0, "ring drops")
        check_lines(wait_stream(srv, len(lines), timeout=60), lines, "stalled server")
    finally:
        srv.stop()
