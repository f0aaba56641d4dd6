"""`hopwatch sessions FILE` (docs/incident-response.md), no root: hand-built streams in the
agent's exact ECS shapes (tests/lib/ecs_builder.py) and what the table, --tree and -o json
make of them — an ended session and one found by the snapshot still open, two hosts, the
alerts the rules raise over the input, and bad input (one line, exit 2; malformed lines
counted, exit 3, the rest still read). Progress on stderr: drawn on a terminal (a pty), never
otherwise."""
import json
import os
import pty
import re
import select
import subprocess
import time

import hw
from ecs_builder import ATTACKER_IP, CLIENT_IP, LOCAL_IP, SEC, Session, Stream, ns_at, rfc3339
from hw import check, check_eq, hopwatch

INTERNAL = "--set", "detect.internal_nets=10.0.0.0/8"


def write(lines, tag="s"):
    d = hw.tempdir("sessions")
    path = os.path.join(d, tag + ".json")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def two_sessions(host="web-1"):
    """alice: logged in at 10, ran bash, ssh to an internal host (a hop), logged out at 100.
    bob: open since an hour before the agent (existing_session), a shell running."""
    s = Stream(host)
    s.agent_started(0)
    s.tick(0)
    s.sshd(0)
    # bob, before the agent: handler, its session, the shell, the connection with bytes
    handler = s.existing(0, 900, "/usr/sbin/sshd", ["sshd: bob [priv]"], s.sshd_master)
    bob = Session(s, "bob", (ATTACKER_IP, 51000), (LOCAL_IP, 22), handler, -3600, uid=1001)
    handler.session = bob
    s.lines.pop()  # the handler again, now with its session
    s.proc_event(0, "existing_process", handler, stdio=["unknown"] * 3)
    shell = s.existing(0, 901, "/usr/bin/bash", ["-bash"], handler, user="bob", uid=1001,
                       session=bob)
    s.existing_connection(0, handler, (LOCAL_IP, 22), (ATTACKER_IP, 51000), False, -3600)
    s.lines[-1] = s.lines[-1].replace('"destination":{"ip":"%s","port":22}' % LOCAL_IP,
                                      '"destination":{"ip":"%s","port":22,"bytes":7000}'
                                      % LOCAL_IP).replace(
        '"source":{"ip":"%s","port":51000}' % ATTACKER_IP,
        '"source":{"ip":"%s","port":51000,"bytes":5000}' % ATTACKER_IP)
    s.existing_session(0, bob)
    s.tick(1)
    # alice, while the agent runs
    alice = s.ssh_session(10, "alice", (CLIENT_IP, 50022), (LOCAL_IP, 22))
    ssh = s.spawn(20, alice.shell, "/usr/bin/ssh", ["ssh", "10.0.0.9"])
    hop = s.connect(20.5, ssh, ("10.0.0.9", 22))
    s.disconnect(60, ssh, hop, sent=1500, received=2500)
    s.exit(60, ssh)
    conn = (CLIENT_IP, 50022)
    s.net_event(100, "disconnect", s.sshd_master, conn, (LOCAL_IP, 22), "ingress",
                bytes_=(4000, 9000))
    s.exit(100, alice.shell)
    s.logout(100, alice)
    s.ticks(150, 200)
    s.spawn(180, shell, "/usr/bin/id", ["id"])  # bob's last activity: 180
    s.tick(200)
    return s, alice, bob


def sessions(*args, **kw):
    return hopwatch("sessions", *args, **kw)


def json_rows(path, *extra):
    p = sessions("-o", "json", *INTERNAL, *extra, path)
    check_eq(p.returncode, 0, "exit code: " + p.stderr)
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_json_open_and_ended_sessions():
    s, alice, bob = two_sessions()
    rows = json_rows(write(s.lines))
    check_eq([r["user"] for r in rows], ["bob", "alice"], "sorted by start")
    b, a = rows
    # bob: found by the snapshot, its true start an hour before the agent, still open
    check_eq(b["id"], bob.id, "bob's session id")
    check_eq(b["start"], rfc3339(ns_at(-3600)), "true start, not the agent's")
    check_eq((b["before_agent"], b["open"], b["end"]), (True, True, None), "open")
    check_eq(b["duration_ns"], 3800 * SEC, "duration to the end of the input (the last tick)")
    check_eq(b["idle_ns"], ns_at(200) - ns_at(180.001), "idle since its last event (id)")
    check_eq((b["bytes_from_client"], b["bytes_to_client"]), (5000, 7000), "bytes")
    check_eq((b["source"], b["service"]), ({"ip": ATTACKER_IP, "port": 51000}, "sshd"), "src")
    check_eq(b["processes"], 3, "handler, shell, id")
    check_eq((b["outbound"], b["connections"], b["alerts"]), (0, [], []), "nothing out")
    # alice: logged in and out, a hop to 10.0.0.9:22 and the rule's alert about it
    check_eq(a["id"], alice.id, "alice's session id")
    check_eq((a["start"], a["end"], a["open"]), (rfc3339(ns_at(10)), rfc3339(ns_at(100)), False),
             "start and end")
    check_eq(a["login"], rfc3339(ns_at(10.5)), "login")
    check_eq((a["duration_ns"], a["idle_ns"]), (90 * SEC, None), "duration, no idle")
    check_eq((a["bytes_from_client"], a["bytes_to_client"]), (4000, 9000), "bytes at close")
    check_eq(a["auth_method"], "publickey", "auth method")
    check_eq(a["outbound"], 1, "one outbound connection")
    c = a["connections"][0]
    check_eq((c["ip"], c["port"], c["hop"], c["process"], c["failed"]),
             ("10.0.0.9", 22, True, "ssh", False), "the hop")
    check_eq([x["rule"] for x in a["alerts"]], ["lateral-movement"], "alerts")
    check("ssh" in a["programs"] and "bash" in a["programs"], a["programs"])


def test_without_internal_nets_no_alert():
    """The alerts are the rules' over the input: with 10/8 not internal, no lateral-movement."""
    s, _, _ = two_sessions()
    p = sessions("-o", "json", "--set", "detect.internal_nets=192.168.0.0/16", write(s.lines))
    check_eq(p.returncode, 0, p.stderr)
    a = [json.loads(line) for line in p.stdout.splitlines()][1]
    check_eq(a["alerts"], [], "no alert")
    check_eq(a["connections"][0]["hop"], True, "still a hop (an admin port)")


def test_table():
    s, alice, bob = two_sessions()
    p = sessions(*INTERNAL, write(s.lines))
    check_eq(p.returncode, 0, p.stderr)
    lines = p.stdout.splitlines()
    check_eq(lines[0].split(), ["HOST", "USER", "SERVICE", "SOURCE", "SINCE", "END", "DURATION",
                                "IDLE", "IN", "OUT", "PROCS", "OUTBOUND", "HOPS", "ALERTS",
                                "SESSION"], "header")
    b = lines[1].split()
    check_eq(b, ["web-1", "bob", "sshd", ATTACKER_IP + ":51000", "2026-11-27", "09:00:00*",
                 "open", "1h03m", "19s", "4.9K", "6.8K", "3", "0", "-", "-", bob.id], "bob")
    a = lines[2].split()
    check_eq(a, ["web-1", "alice", "sshd", CLIENT_IP + ":50022", "2026-11-27", "10:00:10",
                 "2026-11-27", "10:01:40", "1m30s", "-", "3.9K", "8.8K", "4", "1",
                 "10.0.0.9:22", "1", "lateral-movement", alice.id], "alice")
    check("* found by the agent's snapshot" in p.stdout, "the legend of '*'")


def test_tree():
    s, alice, _ = two_sessions()
    p = sessions(*INTERNAL, "--tree", alice.id[:8], write(s.lines))
    check_eq(p.returncode, 0, p.stderr)
    out = p.stdout
    check(out.startswith("session %s on web-1: alice from %s:50022 via sshd (publickey)"
                         % (alice.id, CLIENT_IP)), out)
    check("ended 2026-11-27 10:01:40 UTC" in out, out)
    lines = out.splitlines()
    ssh = [i for i, line in enumerate(lines) if "ssh[" in line and "ssh 10.0.0.9" in line]
    check_eq(len(ssh), 1, "the ssh process: " + out)
    check(lines[ssh[0] + 1].strip().startswith("-> tcp 10.0.0.9:22 from %s:" % LOCAL_IP),
          "its connection under it: " + out)
    check("sent 1.5K received 2.4K" in lines[ssh[0] + 1], lines[ssh[0] + 1])
    check("a hop" in lines[ssh[0] + 2], lines[ssh[0] + 2])
    check("! high lateral-movement:" in lines[ssh[0] + 3], lines[ssh[0] + 3])
    # the shell is a child of the handler's child, the ssh a child of the shell
    bash = [line for line in lines if "bash[" in line][0]
    check(lines.index(bash) < ssh[0] and bash.index("bash[") < lines[ssh[0]].index("ssh["),
          "ssh below bash: " + out)
    # -o json with --tree: that one session
    p = sessions("-o", "json", "--tree", alice.id, write(s.lines))
    check_eq([json.loads(x)["id"] for x in p.stdout.splitlines()], [alice.id], "one object")


def test_hosts_grouped_and_input_alerts_counted_once():
    """The collector's output: two hosts in one file, alert lines in it (the rules raise the
    same alert again: counted once)."""
    s1, alice, _ = two_sessions("web-1")
    s2, alice2, _ = two_sessions("db-1")
    p = hopwatch("replay", *INTERNAL, write(s1.lines, "in"))
    alerts = [line for line in p.stdout.splitlines() if line]
    check_eq(len(alerts), 1, "replay's alerts")
    mixed = []
    for a, b in zip(s2.lines, s1.lines):
        mixed += [a, b]
    rows = json_rows(write(mixed + alerts))
    check_eq([(r["host"]["name"], r["user"]) for r in rows],
             [("db-1", "bob"), ("db-1", "alice"), ("web-1", "bob"), ("web-1", "alice")],
             "grouped by host")
    check_eq([len(r["alerts"]) for r in rows], [0, 1, 0, 1], "each alert once")
    # rules that raise nothing here: web-1's alert line of the input still counts, on its host
    p = sessions("-o", "json", "--set", "detect.internal_nets=192.168.0.0/16",
                 write(mixed + alerts, "mixed2"))
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    check_eq([[a["rule"] for a in r["alerts"]] for r in rows],
             [[], [], [], ["lateral-movement"]], "the input's alert, on web-1's alice")


def test_failed_login_is_no_session():
    s = Stream()
    s.agent_started(0)
    s.sshd(0)
    sess = Session(s, "root", (ATTACKER_IP, 40000), (LOCAL_IP, 22), None, 5)
    s.login_failure(6, sess)
    p = sessions(write(s.lines))
    check_eq(p.returncode, 0, p.stderr)
    check("(no remote sessions)" in p.stdout, p.stdout)


def test_stdin_and_malformed_lines():
    s, _, _ = two_sessions()
    lines = list(s.lines)
    lines.insert(5, "this is not json")
    lines.insert(9, '{"event":{"action":"exec"}}')
    p = subprocess.run([hw.BIN, "sessions", "-o", "json", "-"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=60)
    check_eq(p.returncode, 3, "exit 3: malformed lines, the rest read")
    check_eq(len(p.stdout.splitlines()), 2, "both sessions still found")
    err = p.stderr.splitlines()
    check(err[0].startswith("hopwatch: (stdin):6: malformed event:"), err[0])
    check(err[1].startswith("hopwatch: (stdin):10: malformed event:"), err[1])
    check_eq(err[-1], "hopwatch: 2 malformed lines skipped", "the count")


def expect_usage(args, needle):
    p = sessions(*args)
    check_eq(p.returncode, 2, "exit code of sessions %r: %s" % (args, p.stderr))
    check_eq(p.stdout, "", "nothing on stdout")
    first = p.stderr.splitlines()[0]
    check(first.startswith("hopwatch: ") and needle in first, "%r should say %r" % (first, needle))
    check(all(line.startswith("Try 'hopwatch") for line in p.stderr.splitlines()[1:]),
          "one line, and the hint: %r" % p.stderr)


def test_bad_input():
    s, _, _ = two_sessions()
    path = write(s.lines)
    expect_usage(["--tree", "nosuchid", path], "no session 'nosuchid' in the input")
    expect_usage(["--tree", "", path], "no session '' in the input")
    expect_usage(["/nonexistent/rec.json"], "cannot open '/nonexistent/rec.json'")
    expect_usage(["--bogus", path], "unknown option '--bogus'")
    expect_usage(["-o", "yaml", path], "unknown format 'yaml'")
    expect_usage(["--tree"], "'--tree' needs a value")
    expect_usage(["--set", "detect.long_session=forever", path], "long_session")
    expect_usage(["--netns", "/run/netns/x", path], "--netns is for the live host")
    expect_usage(["--snapshot", path], "--snapshot is for the live host")
    expect_usage(["--set", "agent.control_socket=relative.sock", path], "control_socket")
    d = hw.tempdir("sessions-dir")
    expect_usage([d], "cannot read '%s'" % d)


def test_help():
    p = sessions("--help")
    check_eq(p.returncode, 0, "help")
    for opt in ("--format", "--tree", "--config", "--set", "--netns", "--snapshot"):
        check(opt in p.stdout, opt)
    check("sessions" in hopwatch("help").stdout, "in the command list")


# --- progress -------------------------------------------------------------------------------

def big_stream(n_sessions=40):
    s = Stream("big")
    s.agent_started(0)
    s.sshd(0)
    for i in range(n_sessions):
        sess = s.ssh_session(10 + i, "u%d" % i, (CLIENT_IP, 20000 + i), (LOCAL_IP, 22))
        for k in range(20):
            s.spawn(10.8 + i + k * 0.01, sess.shell, "/usr/bin/true", ["true"])
    return s


def run_on_pty(argv, stdin_data=None, slow=False, timeout=60):
    """Runs argv with stderr on a pty (stdout to a pipe); returns (rc, what the pty got)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_data is not None else None,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    got = b""
    try:
        if stdin_data is not None:
            chunks = [stdin_data[i:i + 100000] for i in range(0, len(stdin_data), 100000)]
            for c in chunks:
                p.stdin.write(c)
                p.stdin.flush()
                if slow:
                    time.sleep(0.1)
                got += drain(master, 0)
            p.stdin.close()
        deadline = time.time() + timeout
        while p.poll() is None and time.time() < deadline:
            got += drain(master, 0.1)
        p.wait(timeout=5)
        got += drain(master, 0.1)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    return p.returncode, got.decode("utf-8", "replace")


def drain(fd, wait):
    out = b""
    while select.select([fd], [], [], wait)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
        wait = 0
    return out


def test_progress_on_a_terminal_only():
    data = ("\n".join(big_stream().lines) + "\n").encode()
    # a pipe fed over ~2 s: progress with bytes and events/s (no total: a pipe), then erased
    for argv in (["sessions", "-"], ["replay", "-"], ["collect", "--replay", "-"]):
        rc, tty = run_on_pty([hw.BIN] + argv + ["-o", "json"] if argv[0] != "sessions"
                             else [hw.BIN] + argv, data, slow=True)
        check(rc in (0, 3) or argv[0] == "collect", "%s: rc %r %r" % (argv, rc, tty[-300:]))
        check("hopwatch: (stdin): " in tty and "events/s" in tty,
              "%s: progress on the terminal: %r" % (argv, tty[:300]))
        check("\x1b[K" in tty and "\r" in tty, "%s: drawn in place" % argv)
        # every progress line is erased before the summary
        after = tty.split("events/s")[-1]
        check("\r\x1b[K" in after, "%s: erased at the end: %r" % (argv, after[-200:]))
    # a file: "of TOTAL" and a percentage; 97 MB, which takes well over a quarter second (32 MB
    # took 0.29-0.43 s on the 2-vCPU VM, its reading alone at times under the first drawing's
    # quarter second)
    one = "\n".join(big_stream(200).lines) + "\n"
    path = write([one * 12], "big")
    rc, tty = run_on_pty([hw.BIN, "sessions", "-o", "json", path])
    check_eq(rc, 0, "sessions of a file on a pty")
    check(re.search(r" of 92\.7 MiB \(\d+%\), \d+ events/s", tty) is not None,
          "the total and a percentage: %r" % tty[:300])
    # not a terminal: nothing but the summary lines
    p = subprocess.run([hw.BIN, "replay", "-o", "json", path], capture_output=True, text=True,
                       timeout=60)
    check("events/s" not in p.stderr and "\r" not in p.stderr,
          "no progress without a terminal: %r" % p.stderr[:300])
    check_eq(len(p.stderr.splitlines()), 1, "the summary alone: %r" % p.stderr)
    p = subprocess.run([hw.BIN, "sessions", path], capture_output=True, text=True, timeout=60)
    check_eq((p.returncode, p.stderr), (0, ""), "sessions: nothing on stderr")


def test_fleet_streams_with_the_collectors_alerts():
    """Two hosts' streams interleaved (a fleet's events) and the collector's output: alice's
    sessions on b and on c, grouped by host, c's carrying the collector's hop-chain alert
    (and each host's own rules' alerts, once)."""
    from collectlab import INTERNAL as FLEET_NETS, collect, interleave, two_hosts
    from collectlab import write as cwrite
    b, c, sb, sc = two_hosts()
    events = cwrite(interleave([b, c], 7), "fleet.ndjson")
    r = collect(events, sets=[FLEET_NETS])
    check_eq(len(r.of("hop-chain")), 1, "the collector's hop chain")
    out = cwrite([json.dumps(e) for e in r.lines], "collector.ndjson")
    p = sessions("-o", "json", "--set", FLEET_NETS, events, out)
    check_eq(p.returncode, 0, p.stderr)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    check_eq([(x["host"]["name"], x["id"]) for x in rows], [("b", sb.id), ("c", sc.id)],
             "one session per host, grouped")
    check_eq([a["rule"] for a in rows[0]["alerts"]], ["lateral-movement"], "b: its rule's")
    check_eq([a["rule"] for a in rows[1]["alerts"]], ["hop-chain"], "c: the collector's")
    check_eq(rows[0]["connections"][0]["ip"], "198.18.0.3", "b's hop goes to c")
    check_eq(rows[1]["source"]["ip"], "198.18.0.2", "c's session comes from b")
