"""The long-session rule (docs/rules.md), unit tier: hand-written event streams in the agent's
exact ECS shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay`
(tests/lib/rulelab.py), no root and no kernel: a stream where it fires, once per entity however
often the trigger repeats, with its fields checked; and benign twins, the same stream with one
thing changed, where it does not."""
import hw
from ecs_builder import CLIENT_IP, LOCAL_IP, SEC, Session, Stream, ns_at, rfc3339
from hw import check, check_eq
from rule_streams import session_stream
from rulelab import expect, none_of, only, run


def test_long_session_fires_once_while_open():
    s, sess = session_stream()
    s.ticks(1800, 3609.9, 3610, 3610.5, 7200)  # sshd accepted the session at 10
    r = run(s, "detect.long_session=1h")
    a = only(r.of("long-session"), "long-session")
    check_eq(r.rules(), ["long-session"], "nothing else fires")
    expect(a, {
        "rule.name": "Long remote session",
        "event.severity": 47,
        "threat.technique.id": ["T1133", "T1078"],
        "@timestamp": rfc3339(ns_at(3610)),  # the first tick at or after 1 h
        "message": "alice has been logged in over sshd from 203.0.113.5 for 1h 0m and is still "
                   "connected (idle 50m 9s)",
        "hopwatch.session.id": sess.id,
        "user.name": "alice",
        "source.ip": CLIENT_IP,
        "destination.ip": LOCAL_IP,
        "destination.port": 22,
        "hopwatch.alert.related_ids": [sess.handler.eid],
        "hopwatch.alert.idle": ns_at(3610) - ns_at(600.001),  # the last exec in it
    })
    # the session starts when sshd accepted it (hopwatch.session.start), not at the login
    check_eq(hw.get(a, "hopwatch.alert.age"), 3600 * SEC, "hopwatch.alert.age")


def test_long_session_benign_twins():
    s, sess = session_stream()
    s.logout(3000, sess)
    s.ticks(1800, 3000.5, 3611, 7200, 20000)
    none_of(run(s, "detect.long_session=1h"), "long-session", "the session ended before")
    s, sess = session_stream()
    s.ticks(1800, 3609)
    none_of(run(s, "detect.long_session=1h"), "long-session", "the stream ends before 1 h")
    s, sess = session_stream()
    s.ticks(1800, 3611, 7200)
    none_of(run(s), "long-session", "below the default of 8h")


def test_long_session_found_by_the_snapshot_fires_at_the_first_tick():
    s = Stream()
    s.agent_started(0)
    s.tick(0)
    s.sshd(0.001)
    handler = s.existing(0.002, 900, "/usr/sbin/sshd", ["sshd: bob [priv]"], s.sshd_master)
    sess = Session(s, "bob", ("198.51.100.4", 40404), (LOCAL_IP, 22), handler, -10 * 3600)
    s.existing_session(0.003, sess)
    s.ticks(1, 2, 3)
    r = run(s)  # the default 8h
    a = only(r.of("long-session"), "long-session")
    expect(a, {
        "@timestamp": rfc3339(ns_at(1)),
        "hopwatch.session.id": sess.id,
        "hopwatch.alert.age": (10 * 3600 + 1) * SEC,
        "hopwatch.alert.related_ids": [handler.eid],
        "message": "bob has been logged in over sshd from 198.51.100.4 for 10h 0m and is still "
                   "connected (idle 0s)",
    })


def test_timed_rules_fire_without_tick_lines():
    """An output file has no ticks: replay ticks at each event's own time."""
    s = Stream()
    s.sshd()
    sess = s.ssh_session(10)
    other = s.existing(11, 700, "/usr/sbin/cron", ["cron"], s.systemd)
    s.spawn(3000, other, "/usr/bin/true")
    s.spawn(3700, other, "/usr/bin/true")  # the first event past 1 h
    s.spawn(3800, other, "/usr/bin/true")
    check(not any('"tick"' in line for line in s.lines), "no tick lines in this stream")
    a = only(run(s, "detect.long_session=1h").of("long-session"), "long-session")
    expect(a, {"@timestamp": rfc3339(ns_at(3700)), "hopwatch.session.id": sess.id})
