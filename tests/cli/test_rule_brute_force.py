"""The brute-force rule (docs/rules.md), unit tier: hand-written event streams in the agent's exact
ECS shapes (tests/lib/ecs_builder.py) replayed with `hopwatch replay` (tests/lib/rulelab.py), no
root and no kernel: a stream where it fires, once per entity however often the trigger repeats,
with its fields checked; and benign twins, the same stream with one thing changed, where it does
not."""
import hw
from ecs_builder import ATTACKER_IP, ns_at, rfc3339
from hw import check, check_eq
from rule_streams import brute_stream, failures, success_from
from rulelab import expect, none_of, only, run, threshold_beyond_memory


def test_brute_force_then_success_escalates():
    s = brute_stream()
    failures(s, 10, 7, users=("root", "admin", "root", "oracle", "test"))
    sess = success_from(s, 40)
    success_from(s, 50)  # a second login: no third alert
    r = run(s)
    alerts = r.of("brute-force")
    check_eq(len(alerts), 2, "brute-force alerts: the burst, then the success (%s)" %
             [a["message"] for a in alerts])
    check_eq(r.rules(), ["brute-force"] * 2, "nothing else fires")
    first, second = alerts
    expect(first, {
        "rule.name": "Brute force of a login service",
        "event.severity": 47,
        "threat.technique.id": ["T1110.001"],
        "@timestamp": rfc3339(ns_at(10 + 2 * 4 + 1)),  # the 5th failure
        "message": "5 failed logins from 198.51.100.66 within 300s over sshd (users tried: "
                   "root, admin, oracle, test)",
        "source.ip": ATTACKER_IP,
        "hopwatch.alert.count": 5,
        "hopwatch.session.service": "sshd",
    })
    expect(second, {
        "rule.name": "Brute force, then a successful login",
        "event.severity": 99,
        "hopwatch.alert.severity": "critical",
        "threat.technique.id": ["T1110.001", "T1078"],
        "@timestamp": rfc3339(ns_at(40.5)),
        "message": "after 7 failed logins from 198.51.100.66 (users tried: root, admin, oracle, "
                   "test), oracle logged in from there over sshd",
        "source.ip": ATTACKER_IP,
        "user.name": "oracle",
        "hopwatch.session.id": sess.id,
        "hopwatch.alert.count": 7,
    })
    check(first["event"]["id"] != second["event"]["id"], "two alerts, two event ids")


def test_brute_force_lists_every_user_tried():
    """The users-tried list must name each user once, also one whose name is part of a name
    tried before ('admin' after 'administrator')."""
    s = brute_stream()
    failures(s, 10, 5, users=("administrator", "admin", "rooter", "root", "oracle"))
    a = only(run(s).of("brute-force"), "brute-force")
    check_eq(a["message"], "5 failed logins from 198.51.100.66 within 300s over sshd (users "
             "tried: administrator, admin, rooter, root, oracle)", "message")


def test_brute_force_benign_twins():
    s = brute_stream()
    failures(s, 10, 4)
    success_from(s, 30)
    check_eq(run(s).rules(), [], "alerts for bruteforce_failures - 1 failures and a login")
    s = brute_stream()
    failures(s, 10, 5, gap=30.0)  # 3 at most within any minute
    s.ticks(200, 400)
    none_of(run(s, "detect.bruteforce_window=1m"), "brute-force",
            "the failures are spread wider than the window")
    s = brute_stream()
    for i in range(5):
        failures(s, 10 + i, 1, src="198.51.100.%d" % (10 + i))
    none_of(run(s), "brute-force", "each failure comes from another source")
    s = brute_stream()
    failures(s, 10, 5)
    success_from(s, 30, src="198.51.100.200")
    a = only(run(s).of("brute-force"), "brute-force with a success from elsewhere")
    check_eq(a["event"]["severity"], 47, "no escalation for a success from another source")
    s = brute_stream()
    failures(s, 10, 6)
    only(run(s, "detect.bruteforce_failures=6").of("brute-force"),
         "brute-force at exactly bruteforce_failures")


def test_brute_force_threshold_above_64_failures():
    if not threshold_beyond_memory("detect.bruteforce_failures", 70):
        return
    s = brute_stream()
    failures(s, 10, 80, gap=0.5)
    only(run(s, "detect.bruteforce_failures=60").of("brute-force"),
         "brute-force at 60 (control)")
    a = only(run(s, "detect.bruteforce_failures=70").of("brute-force"),
             "brute-force when 80 failures come and bruteforce_failures is 70")
    check_eq(hw.get(a, "hopwatch.alert.count"), 70, "failures counted")


def test_brute_force_one_source_under_two_spellings():
    """Failures from one host seen through a dual-stack socket (::ffff:198.18.0.2) and through
    an IPv4 one (198.18.0.2) come from one source: the engine once counted the spellings apart
    (3 and 2 here: no alert) while the stitcher unmapped them (lib/addr.h does it for both)."""
    s = brute_stream()
    failures(s, 10, 3, src="::ffff:198.18.0.2", users=("root",))
    failures(s, 10.5, 2, src="198.18.0.2", users=("admin",))
    a = only(run(s).of("brute-force"), "brute-force over both spellings")
    check_eq(a["source"]["ip"], "198.18.0.2", "source.ip in one spelling")
    check_eq(hw.get(a, "hopwatch.alert.count"), 5, "failures counted")
    check_eq(a["message"], "5 failed logins from 198.18.0.2 within 300s over sshd (users "
             "tried: root, admin)", "message")
    # the success after it escalates whichever spelling it comes under
    success_from(s, 30, src="::ffff:198.18.0.2")
    check_eq([hw.get(x, "event.severity") for x in run(s).of("brute-force")], [47, 99],
             "the burst, then the success from the same host")
