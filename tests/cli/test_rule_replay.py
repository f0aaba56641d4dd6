"""`hopwatch replay`'s own contract, unit tier: malformed lines and fields reported and skipped
(one printable line each, the first 20), times and dates out of range refused, missing files,
stdin, alert lines in the input ignored, a separate engine per host in one file, the same alerts
from the same input and the text output. Streams from tests/lib/ecs_builder.py."""
import json
import re

import hw
from ecs_builder import Stream, ns_at, rfc3339
from hw import check, check_eq, hopwatch
from rule_streams import brute_stream, failures, session_stream
from rulelab import check_alert_common, only, replay, run, write_lines


def test_replay_malformed_lines_are_reported_and_skipped():
    s = brute_stream()
    failures(s, 10, 5)
    good = list(s.lines)
    ts = rfc3339(ns_at(5))
    host = '"host":{"name":"web-1","id":"%s"}' % s.host_id
    bad = {
        2: '{"@timestamp":"%s","event":{"action":"exec"' % ts,  # cut short
        4: '{"event":{"kind":"event","action":"exec"},%s}' % host,
        6: '{"@timestamp":"yesterday","event":{"kind":"event","action":"exec"},%s}' % host,
        8: '{"@timestamp":"%s","event":{"kind":"event","action":"exec"},%s,"x":"%s"}'
           % (ts, host, "a" * (2 << 20)),
        10: '{"@timestamp":"%s","@timestamp":"%s","event":{"action":"tick","kind":"state"},%s}'
            % (ts, ts, host),
    }
    lines = []
    for n in range(1, len(good) + len(bad) + 1):
        lines.append(bad[n] if n in bad else good.pop(0))
    path = write_lines(lines)
    r = replay(None, files=[path])
    check_eq(r.rc, 3, "exit status with malformed lines")
    check_eq(len(r.errors), len(bad), "one message per malformed line: %r" % r.errors)
    want = {2: "", 4: "no @timestamp", 6: "@timestamp 'yesterday' is not RFC 3339",
            8: "line longer than", 10: "duplicate member '@timestamp'"}
    for line, (n, why) in zip(r.errors, sorted(want.items())):
        prefix = "hopwatch: %s:%d: malformed event: " % (path, n)
        check(line.startswith(prefix), "message %r should start with %r" % (line, prefix))
        check(why in line, "message %r should say %r" % (line, why))
        check(len(line) < 300, "a short message: %d bytes" % len(line))
    check(re.search(r"hopwatch: replayed %d lines: %d events from 1 hosts, 1 alerts, 5 malformed"
                    % (len(lines), len(lines) - 5), r.stderr), "summary: %r" % r.stderr)
    a = only(r.of("brute-force"), "brute-force from the well-formed lines")
    check_eq(a["hopwatch"]["alert"]["count"], 5, "the failures counted")


def test_replay_malformed_fields_blank_lines_and_crlf():
    s = brute_stream()
    failures(s, 10, 5)
    ts = rfc3339(ns_at(5))
    host = '"host":{"name":"web-1","id":"%s"}' % s.host_id
    lines = [s.lines[0], "", "",
             '{"@timestamp":"%s","event":{"kind":"event"},%s}' % (ts, host),
             # a start time that is not RFC 3339
             s.lines[1].replace('"action":"tick"', '"action":"existing_session"')[:-1] +
             ',"hopwatch":{"session":{"id":"x","start":"2026-13-01T00:00:00Z"}}}',
             '["not", "an", "object"]',
             '{"@timestamp":"%s","event":{"kind":"event","action":"exec"},%s} trailing' %
             (ts, host)]
    lines += [line + "\r" for line in s.lines[1:]]  # CRLF line ends
    r = replay(lines)
    check_eq(r.rc, 3, "exit status")
    path_re = r"hopwatch: \S+events\.ndjson:%d: malformed event: "
    for n, why in [(4, "no event.action"), (5, "start time is not RFC 3339"),
                   (6, "expected a JSON object"), (7, "trailing characters")]:
        check(any(re.match(path_re % n, e) and why in e for e in r.errors),
              "line %d reported as %r: %r" % (n, why, r.errors))
    check_eq(len(r.errors), 4, "blank lines are not malformed: %r" % r.errors)
    only(r.of("brute-force"), "brute-force from the CRLF lines")


def test_replay_malformed_messages_are_one_printable_line():
    """The reason quotes the line's own text: a newline or an escape sequence in it must not
    forge another FILE:LINE message or reach the terminal."""
    s = brute_stream()
    failures(s, 10, 5)
    host = '"host":{"name":"web-1","id":"%s"}' % s.host_id
    lines = ['{"@timestamp":"x\\nhopwatch: forged.ndjson:99: malformed event: fake",'
             '"event":{"action":"exec"},%s}' % host,
             '{"@timestamp":"%s","event":{"action":"tick","kind":"state"},%s,'
             '"a\\u001b[31mb":1,"a\\u001b[31mb":2}' % (rfc3339(ns_at(1)), host)] + s.lines
    r = replay(lines)
    check_eq(r.rc, 3, "exit status")
    check_eq(len(r.errors), 2, "one message per malformed line: %r" % r.errors)
    for n, line in enumerate(r.errors, 1):
        check(re.match(r"hopwatch: \S+events\.ndjson:%d: malformed event: " % n, line),
              "message %d: %r" % (n, line))
    bad = sorted(set(c for c in r.stderr if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f))
    check_eq(bad, [], "control characters on stderr")
    only(r.of("brute-force"), "brute-force from the other lines")


def exec_at(stream, when):
    """a reverse shell's exec line with @timestamp when"""
    stream.tick(0)
    cron = stream.existing(0, 600, "/usr/sbin/cron", ["cron"])
    stream.spawn(10, cron, "/usr/bin/bash", ["bash"], stdio=("tcp", "tcp", "tcp"))
    line = json.loads(stream.lines[-1])
    line["@timestamp"] = when
    stream.lines[-1] = json.dumps(line, separators=(",", ":"))
    return len(stream.lines)


def test_replay_refuses_times_beyond_its_range():
    """Nanoseconds since 1970 in 64 bits end in 2554: a later time must be refused, not wrap
    round to another date."""
    for when in ("2600-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2554-07-21T23:34:34Z"):
        s = Stream()
        n = exec_at(s, when)
        r = replay(s)
        check_eq([a["@timestamp"] for a in r.alerts], [],
                 "alerts from a line at %s, which cannot be represented" % when)
        check_eq(r.rc, 3, "exit status for @timestamp %s" % when)
        check(any(":%d: malformed event: " % n in e and when in e for e in r.errors),
              "line %d (%s) reported: %r" % (n, when, r.errors))
    s = Stream()
    exec_at(s, "2554-07-21T23:34:33Z")  # the last second that fits
    a = only(run(s).of("reverse-shell"), "reverse-shell at the end of the range")
    check(a["@timestamp"].startswith("2554-07-21T23:34:33."), a["@timestamp"])


def test_replay_refuses_impossible_dates():
    """RFC 3339 days depend on the month (and the year for February)."""
    for when in ("2026-02-31T00:00:00Z", "2026-04-31T10:00:00Z", "2025-02-29T10:00:00Z"):
        s = Stream()
        n = exec_at(s, when)
        r = replay(s)
        check_eq(r.rc, 3, "exit status for @timestamp %s (alerts: %s)" %
                 (when, [a["@timestamp"] for a in r.alerts]))
        check(any(":%d: malformed event: " % n in e for e in r.errors),
              "line %d (%s) reported: %r" % (n, when, r.errors))
    s = Stream()
    exec_at(s, "2028-02-29T10:00:00Z")  # a leap day
    a = only(run(s).of("reverse-shell"), "reverse-shell on a leap day")
    check(a["@timestamp"].startswith("2028-02-29T10:00:00."), a["@timestamp"])


def test_replay_reports_the_first_20_malformed_lines():
    s = brute_stream()
    failures(s, 10, 5)
    lines = ["garbage %d" % i for i in range(30)] + s.lines
    r = replay(lines)
    check_eq(r.rc, 3, "exit status")
    check_eq(len(r.errors), 21, "20 reports and one line saying more were left out: %r" %
             r.errors[-3:])
    check(r.errors[19].split(":")[-3] == "20" or ":20: malformed event" in r.errors[19],
          "the 20th report is of line 20: %r" % r.errors[19])
    check("only the count" in r.errors[20], "the last message: %r" % r.errors[20])
    check(", 30 malformed" in r.stderr, "summary counts all 30: %r" % r.stderr)
    only(r.of("brute-force"), "brute-force after the garbage")


def test_replay_missing_file():
    p = hopwatch("replay", "/nonexistent/hw-events.ndjson")
    check_eq(p.returncode, 2, "exit status for a missing file")
    check_eq(p.stdout, "", "stdout for a missing file")
    lines = p.stderr.splitlines()
    check_eq(len(lines), 1, "one line on stderr: %r" % p.stderr)
    check("/nonexistent/hw-events.ndjson" in lines[0] and "No such file" in lines[0],
          "the line names the file and the reason: %r" % lines[0])


def test_replay_missing_file_among_others_stops():
    s = brute_stream()
    failures(s, 10, 5)
    good = write_lines(s.lines)
    p = hopwatch("replay", "-o", "json", good, "/nonexistent/hw-events.ndjson")
    check_eq(p.returncode, 2, "exit status when the second file is missing")
    check("/nonexistent/hw-events.ndjson" in p.stderr, "the missing file is named")


def test_replay_reads_stdin():
    s = brute_stream()
    failures(s, 10, 5)
    text = "\n".join(s.lines[:3] + ["not json"] + s.lines[3:]) + "\n"
    r = replay(None, stdin=text)
    check_eq(r.rc, 3, "exit status with one malformed line")
    check_eq(len(r.errors), 1, "one message: %r" % r.errors)
    check(r.errors[0].startswith("hopwatch: (stdin):4: malformed event: "), r.errors[0])
    only(r.of("brute-force"), "brute-force read from stdin")
    r = replay(None, stdin="\n".join(s.lines) + "\n")
    check_eq(r.rc, 0, "exit status of a clean stdin")
    only(r.of("brute-force"), "brute-force read from stdin")


def test_replay_ignores_alert_lines():
    s = brute_stream()
    failures(s, 10, 5)
    first = run(s)
    only(first.of("brute-force"), "brute-force")
    alert_lines = first.stdout.splitlines()
    # the alerts themselves, replayed: nothing
    r = replay(alert_lines)
    check_eq((r.rc, r.errors, r.stdout), (0, [], ""), "replay of alert lines only")
    # an output file, alerts among the events: the same alerts, byte for byte
    mixed = s.lines[:-1] + alert_lines + s.lines[-1:] + alert_lines
    r = replay(mixed)
    check_eq((r.rc, r.errors), (0, []), "replay of events and alerts")
    check_eq(r.stdout, first.stdout, "alerts of the stream with alert lines in it")
    check(re.search(r"replayed %d lines: %d events" % (len(mixed), len(s.lines)), r.stderr),
          "alert lines are not counted as events: %r" % r.stderr)


def three_failures_on_each(name_b, same_id):
    """Hosts web-1 and name_b, 3 failures on each from the same source (6 in all, but 3 per
    host), their lines interleaved: no alert and two hosts; then 2 more on web-1: its own
    brute-force, counting its 5."""
    a, b = Stream("web-1"), Stream(name_b)
    if same_id:
        b.host_id = a.host_id
    for st in (a, b):
        st.agent_started()
        st.tick(0)
        st.sshd()
    failures(a, 10, 3)
    failures(b, 10, 3)
    lines = []
    for la, lb in zip(a.lines, b.lines):
        lines += [la, lb]
    r = replay(lines)
    check_eq((r.rc, r.errors), (0, []), "replay of two hosts")
    check_eq(r.rules(), [], "alerts when no host has 5 failures")
    check(re.search(r"from 2 hosts", r.stderr), "two hosts in the summary: %r" % r.stderr)
    failures(a, 20, 2)
    lines += a.lines[len(lines) // 2:]
    r = replay(lines)
    alert = only(r.of("brute-force"), "brute-force")
    check_alert_common(alert, a)
    check_eq((hw.get(alert, "host.name"), alert["hopwatch"]["alert"]["count"]), ("web-1", 5),
             "failures counted on web-1")


def test_replay_separate_engine_per_host():
    three_failures_on_each("db-1", same_id=False)
    # the same processes on two hosts are different entities: reverse shells on both
    lines = []
    for st in (Stream("web-1", id_scope="same"), Stream("db-1", id_scope="same")):
        st.tick(0)
        cron = st.existing(0, 600, "/usr/sbin/cron", ["cron"])
        st.spawn(10, cron, "/usr/bin/bash", ["bash"], stdio=("tcp", "tcp", "tcp"), pid=4242)
        lines += st.lines
    r = replay(lines)
    check_eq(sorted(hw.get(x, "host.name") for x in r.of("reverse-shell")), ["db-1", "web-1"],
             "one reverse-shell per host")


def test_replay_clones_sharing_a_host_id_are_two_hosts():
    """Machines cloned from one image share /etc/machine-id (host.id): their names still make
    them two hosts, each with its own engine (as sessions and report have them). Keyed by the
    id alone, their 3 + 3 failures made one brute-force, and the second host's agent-started
    wiped the first host's engine."""
    three_failures_on_each("web-2", same_id=True)


def test_replay_is_deterministic_and_text_output():
    s, sess = session_stream()
    s.ticks(3611, 7200)
    s.connect(7300, sess.shell, ("10.0.0.7", 22))
    path = write_lines(s.lines)
    p1 = hopwatch("replay", "-o", "json", "--set", "detect.long_session=1h", path)
    p2 = hopwatch("replay", "-o", "json", "--set", "detect.long_session=1h", path)
    check_eq(p1.returncode, 0, "exit status")
    check_eq(p1.stdout, p2.stdout, "two replays of one file")
    check_eq(len(p1.stdout.splitlines()), 2, "two alerts")
    p = hopwatch("replay", "-o", "text", "--set", "detect.long_session=1h", path)
    lines = p.stdout.splitlines()
    check_eq(len(lines), 2, "one text line per alert: %r" % p.stdout)
    check_eq(lines[0], "2026-11-27T11:00:11.000 ALERT    medium long-session: alice has been "
             "logged in over sshd from 203.0.113.5 for 1h 0m and is still connected (idle "
             "50m 10s)", "text line")
    check(lines[1].startswith("2026-11-27T12:01:40.000 ALERT    high lateral-movement: alice, "
                              "logged in over sshd from 203.0.113.5, connected to 10.0.0.7:22"),
          "text line: %r" % lines[1])
