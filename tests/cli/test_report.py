"""`hopwatch report FILE...` (docs/incident-response.md), no root: hand-built streams in the
agent's exact ECS shapes (tests/lib/ecs_builder.py) — one host, a fleet of two with the
collector's output (`hopwatch collect --replay` over them) — and what the page's embedded data
says: nodes, arrows, timelines, alerts and their links. A hostile recording (markup, quotes,
U+2028, invalid UTF-8 in every name an attacker controls) cannot get out of the data block:
the block is ASCII with every < > & ' " escaped, the page outside it is the same whatever the
input, and the CSP pins the page's own script and style by their SHA-256. Bad input: one line,
exit 2. Output byte for byte the same for the same input, in any order of the files. Progress
on a terminal only. The page in a real browser: tests/e2e/test_report_browser.py."""
import base64
import hashlib
import json
import os
import pty
import re
import select
import subprocess
import time

import hw
from ecs_builder import ATTACKER_IP, CLIENT_IP, LOCAL_IP, Session, Stream
from hw import check, check_eq, hopwatch

INTERNAL = ("--set", "detect.internal_nets=10.0.0.0/8")
DATA_RE = re.compile(rb'<script type="application/json" id="hw-data">(.*?)</script>', re.S)
B_IP, C_IP = LOCAL_IP, "10.0.0.9"


def write(lines, tag="r"):
    path = os.path.join(hw.tempdir("report"), tag + ".json")
    with open(path, "wb") as f:
        f.write(lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode())
    return path


def report(*args, **kw):
    """runs hopwatch report -o FILE; returns (CompletedProcess, the page's bytes or None)"""
    out = os.path.join(hw.tempdir("report-out"), "report.html")
    p = hopwatch("report", "-o", out, *args, **kw)
    page = None
    if os.path.exists(out):
        with open(out, "rb") as f:
            page = f.read()
    return p, page


def data_of(page):
    m = DATA_RE.search(page)
    check(m, "the data block")
    return json.loads(m.group(1))


def one_host():
    """web-1: alice from CLIENT_IP hops with ssh to 10.0.0.9 (no agent there), bob open since
    before the agent (existing_session) from ATTACKER_IP."""
    s = Stream("web-1")
    s.agent_started(0)
    s.tick(0)
    s.sshd(0)
    handler = s.existing(0, 900, "/usr/sbin/sshd", ["sshd: bob [priv]"], s.sshd_master)
    bob = Session(s, "bob", (ATTACKER_IP, 51000), (LOCAL_IP, 22), handler, -3600, uid=1001)
    handler.session = bob
    s.lines.pop()
    s.proc_event(0, "existing_process", handler, stdio=["unknown"] * 3)
    s.existing(0, 901, "/usr/bin/bash", ["-bash"], handler, user="bob", uid=1001, session=bob)
    s.existing_session(0, bob)
    s.tick(1)
    alice = s.ssh_session(10, "alice", (CLIENT_IP, 50022), (LOCAL_IP, 22))
    ssh = s.spawn(20, alice.shell, "/usr/bin/ssh", ["ssh", C_IP])
    hop = s.connect(20.5, ssh, (C_IP, 22))
    s.disconnect(60, ssh, hop)
    s.exit(60, ssh)
    s.exit(100, alice.shell)
    s.logout(100, alice)
    s.ticks(150, 200)
    return s, alice, bob


def fleet(same_host_id=False):
    """b: alice from CLIENT_IP, ssh on to c from that session; c: her session from b.
    same_host_id: c has b's host.id (hosts cloned from one image share the machine id)."""
    b, c = Stream("b"), Stream("c")
    if same_host_id:
        c.host_id = b.host_id
    for s in (b, c):
        s.agent_started(0)
        s.tick(0)
        s.sshd(0)
    ab = b.ssh_session(10, "alice", (CLIENT_IP, 50022), (B_IP, 22))
    ssh = b.spawn(20, ab.shell, "/usr/bin/ssh", ["ssh", C_IP])
    hop = b.connect(20.5, ssh, (C_IP, 22), src=(B_IP, 41000))
    ac = c.ssh_session(20.6, "alice", (B_IP, 41000), (C_IP, 22))
    c.spawn(25, ac.shell, "/usr/bin/id", ["id"])
    c.exit(30, ac.shell)
    c.logout(30, ac)
    b.disconnect(31, ssh, hop)
    b.exit(31, ssh)
    b.exit(40, ab.shell)
    b.logout(40, ab)
    for s in (b, c):
        s.ticks(41, 42)
    return b, c, ab, ac


def fleet_files():
    b, c, ab, ac = fleet()
    pb, pc = write(b.lines, "b"), write(c.lines, "c")
    col = os.path.join(hw.tempdir("report-col"), "collector.json")
    with open(col, "w") as f:
        p = subprocess.run([hw.BIN, "collect", *INTERNAL, "-o", "json", "--replay", pb, pc],
                           stdout=f, stderr=subprocess.PIPE, text=True, timeout=60)
    check_eq(p.returncode, 0, "collect --replay: " + p.stderr)
    with open(col) as f:
        rules = [json.loads(x).get("rule", {}).get("id") for x in f if x.strip()]
    check("hop-chain" in rules, "the collector's hop-chain alert: %r" % rules)
    return pb, pc, col, ab, ac


def node(d, label):
    got = [n for n in d["nodes"] if n["label"] == label]
    check_eq(len(got), 1, "one node %r in %r" % (label, [n["label"] for n in d["nodes"]]))
    return got[0]


def edges(d, src, dst):
    a, b = node(d, src)["id"], node(d, dst)["id"]
    return [e for e in d["edges"] if e["from"] == a and e["to"] == b]


# --- one host ---------------------------------------------------------------------------------

def test_one_host():
    s, alice, bob = one_host()
    p, page = report(*INTERNAL, write(s.lines))
    check_eq((p.returncode, p.stdout, p.stderr), (0, "", ""), "report of one host")
    d = data_of(page)
    check_eq(d["hosts"], 1, "one host")
    check_eq(node(d, "web-1")["kind"], "host", "the host")
    for ip in (CLIENT_IP, ATTACKER_IP, C_IP):
        check_eq(node(d, ip)["kind"], "address", "an address without an agent: " + ip)
    # logins: an arrow from each client; the hop: an arrow of its own, alerted
    (eb,) = edges(d, ATTACKER_IP, "web-1")
    (ea,) = edges(d, CLIENT_IP, "web-1")
    (eh,) = edges(d, "web-1", C_IP)
    check_eq((eb["user"], eb["method"], eb["alerted"]), ("bob", "sshd", False), "bob's login")
    check_eq((ea["user"], ea["method"]), ("alice", "sshd publickey"), "alice's login")
    check_eq((eh["user"], eh["method"], eh["via"], eh["alerted"]), ("alice", "ssh", "ssh", True),
             "the hop, alerted")
    check_eq(eh["time"], "2026-11-27 10:00:20.500", "the hop's time (UTC)")
    # sessions: bob first (started an hour before), his still open
    sb, sa = d["sessions"]
    check_eq((sb["sid"], sb["open"], sb["before_agent"]), (bob.id, True, True), "bob's")
    check_eq((sa["sid"], sa["open"], sa["user"]), (alice.id, False, "alice"), "alice's")
    check_eq(eh["source_session"], sa["id"], "the hop left alice's session")
    kinds = [e["kind"] for e in sa["events"]]
    check_eq((kinds[0], kinds[-1]), ("login", "logout"), "login first, logout last")
    check(kinds.index("hop") < kinds.index("alert") < kinds.index("logout"), kinds)
    execs = [e["text"] for e in sa["events"] if e["kind"] == "exec"]
    check("ssh %s" % C_IP in execs and "-bash" in execs, execs)
    hop = [e for e in sa["events"] if e["kind"] == "hop"][0]
    check_eq(hop["ref"], eh["id"], "the hop links its arrow")
    check(hop["text"].endswith("-> %s:22" % C_IP), hop["text"])
    # the alert: listed, linked to the session and to the hop, and back
    (al,) = d["alerts"]
    check_eq((al["rule"], al["session"], al["edges"], al["host"]),
             ("lateral-movement", sa["id"], [eh["id"]], "web-1"), "the alert's links")
    check_eq(eh["alerts"], [al["id"]], "the hop's alert")
    (ev,) = [e for e in sa["events"] if e["kind"] == "alert"]
    check_eq(ev["ref"], al["id"], "the timeline links the alert")


# --- a fleet ------------------------------------------------------------------------------------

def test_fleet_with_the_collectors_output():
    pb, pc, col, ab, ac = fleet_files()
    p, page = report(*INTERNAL, pb, pc, col)
    check_eq(p.returncode, 0, p.stderr)
    d = data_of(page)
    check_eq(d["hosts"], 2, "b and c")
    (e1,) = edges(d, CLIENT_IP, "b")
    (e2,) = edges(d, "b", "c")
    check(C_IP not in [n["label"] for n in d["nodes"]], "the hop is c's login arrow, no address")
    check_eq((e2["user"], e2["method"], e2["via"]), ("alice", "sshd publickey", "ssh"),
             "the hop: who, how, the program that made it")
    s_of = {s["id"]: s for s in d["sessions"]}
    check_eq(s_of[e2["session"]]["sid"], ac.id, "the arrow's session on c")
    check_eq(s_of[e2["source_session"]]["sid"], ab.id, "the session on b it left")
    chain = [a for a in d["alerts"] if a["rule"] == "hop-chain"]
    check_eq(len(chain), 1, "one hop-chain alert: %r" % [a["rule"] for a in d["alerts"]])
    check_eq(sorted(chain[0]["edges"]), sorted([e1["id"], e2["id"]]), "it lights both hops")
    check_eq(chain[0]["hosts"], [CLIENT_IP, "b", "c"], "its hosts")
    check_eq(s_of[chain[0]["session"]]["sid"], ac.id, "on c's session")
    check(e1["alerted"] and e2["alerted"], "both arrows alerted")
    lat = [a for a in d["alerts"] if a["rule"] == "lateral-movement"]
    check_eq(len(lat), 1, "lateral-movement once: the rules' and the collector's are one")
    check_eq(lat[0]["edges"], [e2["id"]], "lateral-movement lights the hop")


def test_hosts_sharing_a_host_id():
    """The lab's namespaces (and cloned machines) share /etc/machine-id: the hop is still
    c's login arrow, b and c still two nodes."""
    b, c, ab, ac = fleet(same_host_id=True)
    p, page = report(*INTERNAL, write(b.lines, "b"), write(c.lines, "c"))
    check_eq(p.returncode, 0, p.stderr)
    d = data_of(page)
    (e,) = edges(d, "b", "c")
    check_eq((e["via"], e["method"]), ("ssh", "sshd publickey"), "matched to c's session")
    check(C_IP not in [n["label"] for n in d["nodes"]], "no arrow to c's address")


def test_another_hosts_start_is_no_restart():
    """b and c share host.id; c's agent-started, read after b's events, is not a restart of b:
    b's open session stays open (it was shown ended, end unknown), in the page and the table."""
    b, c = Stream("b"), Stream("c")
    c.host_id = b.host_id
    for s in (b, c):
        s.agent_started(0)
        s.tick(0)
        s.sshd(0)
    ab = b.ssh_session(10, "alice", (CLIENT_IP, 50022), (B_IP, 22))
    ac = c.ssh_session(12, "bob", (CLIENT_IP, 50023), (C_IP, 22))
    b.ticks(20)
    c.ticks(20)
    files = write(b.lines, "b"), write(c.lines, "c")
    p, page = report(*files)
    check_eq(p.returncode, 0, p.stderr)
    got = {s["sid"]: (s["host"], s["open"], s["end"]) for s in data_of(page)["sessions"]}
    check_eq(got, {ab.id: ("b", True, ""), ac.id: ("c", True, "")}, "both open")
    p = hopwatch("sessions", "-o", "json", *files)
    check_eq(p.returncode, 0, p.stderr)
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    check_eq([(r["host"]["name"], r["open"], r["end_unknown"]) for r in rows],
             [("b", True, False), ("c", True, False)], "sessions: both open")


def test_fleet_in_any_order_and_deterministic():
    pb, pc, col, _, _ = fleet_files()
    _, first = report(*INTERNAL, pb, pc, col)
    _, again = report(*INTERNAL, pb, pc, col)
    _, reordered = report(*INTERNAL, col, pc, pb)
    check(first == again, "the same page for the same input")
    check(first == reordered, "the same page whatever the order of the files")


def test_collectors_output_alone():
    """Only the collector's lines: no session, but the chain is drawn from its hosts."""
    _, _, col, _, _ = fleet_files()
    p, page = report(*INTERNAL, col)
    check_eq(p.returncode, 0, p.stderr)
    d = data_of(page)
    check_eq(d["sessions"], [], "no session without the hosts' events")
    (e1,) = edges(d, CLIENT_IP, "b")
    (e2,) = edges(d, "b", "c")
    check_eq((e1["method"], e1["alerted"], e2["user"]), ("hop-chain", True, "alice"), "drawn")
    check_eq(len(d["alerts"]), 2, "both alerts listed: %r" % d["alerts"])


# --- hostile input ------------------------------------------------------------------------------

# fits process.args' 64 bytes a word as the model keeps them (and a user name)
EVIL = "</script><x onerror=\"alert(1)\">'&<!--\u2028BADUTF8"
BAD = "\ufffd\ufffd\ufffd(\ufffd\ufffd\ufffd\ufffd\ufffd"


def hostile_stream():
    s = Stream("h" + EVIL + "\u2029 \u00e9 \U0001F600 <script>alert(2)</script>")
    s.agent_started(0)
    s.tick(0)
    s.sshd(0)
    a = s.ssh_session(10, "m" + EVIL, (CLIENT_IP, 50022), (LOCAL_IP, 22))
    p = s.spawn(20, a.shell, "/tmp/" + EVIL, [EVIL, "--x=" + EVIL])
    s.connect(21, p, (C_IP, 22))
    s.exit(30, p)
    s.exit(31, a.shell)
    s.logout(32, a)
    s.ticks(33)
    raw = ("\n".join(s.lines) + "\n").encode()
    return raw.replace(b"BADUTF8", b"\xff\xfe\xc3(\xed\xa0\x80\xc0\xaf")


def template(page):
    return DATA_RE.sub(b"DATA", page)


def test_hostile_recording_stays_data():
    p, page = report(*INTERNAL, write(hostile_stream(), "evil"))
    check_eq(p.returncode, 0, p.stderr)
    block = DATA_RE.search(page).group(1)
    check(all(0x20 <= b < 0x7f for b in block), "the data block is printable ASCII")
    for ch in b"<>&'":
        check(bytes([ch]) not in block, "no raw %r in the data block" % chr(ch))
    check_eq(page.count(b"</script"), 2, "only the page's own two script elements end")
    check_eq(page.count(b"<script"), 2, "only the page's own two script elements")
    # the page outside the data is the same as for a benign input
    s, _, _ = one_host()
    _, benign = report(*INTERNAL, write(s.lines))
    check(template(page) == template(benign), "the page around the data depends on no input")
    # and the data says exactly what the events said (invalid UTF-8 as U+FFFD)
    d = data_of(page)
    want = EVIL.replace("BADUTF8", BAD)
    (host,) = [n for n in d["nodes"] if n["kind"] == "host"]
    check_eq(host["label"], "h" + want + "\u2029 \u00e9 \U0001F600 <script>alert(2)</script>",
             "the host name, whole")
    (sess,) = d["sessions"]
    check_eq(sess["user"], "m" + want, "the user name")
    execs = [e["text"] for e in sess["events"] if e["kind"] == "exec"]
    check_eq(execs[-1], want + " --x=" + want, "the hostile argv, whole")
    check("\u2028" in execs[-1], "U+2028 kept as data")
    check(any(e["detail"].endswith("/tmp/" + want) for e in sess["events"]), "the executable")


def test_csp_pins_the_pages_own_script_and_style():
    s, _, _ = one_host()
    _, page = report(*INTERNAL, write(s.lines))
    text = page.decode()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', text)
    check(csp, "a CSP meta element")
    csp = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.group(1).split(";"))
    check_eq(csp["default-src"], "'none'", "nothing by default")
    for d in ("img-src", "connect-src", "base-uri", "form-action"):
        check_eq(csp[d], "'none'", d)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    check_eq((len(scripts), len(styles)), (1, 1), "one script, one style")

    def h(s):
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
    check_eq(csp["script-src"], h(scripts[0]), "the script's hash")
    check_eq(csp["style-src"], h(styles[0]), "the style's hash")
    check("unsafe" not in text.split("</head>")[0], "no unsafe-inline, no unsafe-eval")
    check(not re.search(r"(src|href)=\"(https?:)?//", text), "no remote resource")
    check(" style=" not in text, "no inline style attribute")


# --- bad input, output, progress ----------------------------------------------------------------

def expect_usage(args, needle, out=True):
    p, page = report(*args) if out else (hopwatch("report", *args), None)
    check_eq(p.returncode, 2, "exit code of report %r: %s" % (args, p.stderr))
    check_eq((p.stdout, page), ("", None), "nothing written")
    lines = p.stderr.splitlines()
    check(lines[0].startswith("hopwatch: ") and needle in lines[0],
          "%r should say %r" % (lines[0], needle))
    check(all(x.startswith("Try 'hopwatch report --help'") for x in lines[1:]),
          "one line, and the hint: %r" % p.stderr)


def test_bad_input():
    s, _, _ = one_host()
    path = write(s.lines)
    expect_usage([], "report needs FILE")
    expect_usage(["/nonexistent/rec.json"], "cannot open '/nonexistent/rec.json'")
    expect_usage(["--bogus", path], "unknown option '--bogus'")
    expect_usage(["--set", "detect.long_session=forever", path], "long_session")
    expect_usage([path, "-o"], "'-o' needs a value", out=False)
    expect_usage([hw.tempdir("report-dir")], "cannot read")
    expect_usage([write([""], "empty")], "no hopwatch event in the input")
    # every line malformed: described, then the one summary line, exit 2
    p, page = report(write(["not json", "{\"a\":1}"], "junk"))
    check_eq((p.returncode, page), (2, None), "junk: exit 2, no page: " + p.stderr)
    check_eq(p.stderr.splitlines()[-1],
             "hopwatch: no hopwatch event in the input (every line was malformed)", p.stderr)
    # -o through a symbolic link: refused, the target untouched
    d = hw.tempdir("report-link")
    target, link = os.path.join(d, "target"), os.path.join(d, "link.html")
    with open(target, "w") as f:
        f.write("keep")
    os.symlink(target, link)
    p = hopwatch("report", "-o", link, path)
    check_eq(p.returncode, 2, "symlink: " + p.stderr)
    check_eq(p.stderr, "hopwatch: cannot create '%s': it is a symbolic link\n" % link, "says so")
    with open(target) as f:
        check_eq(f.read(), "keep", "the link's target untouched")
    # a FIFO: not a regular file (and no hang on its open)
    fifo = os.path.join(d, "fifo.html")
    os.mkfifo(fifo)
    p = hopwatch("report", "-o", fifo, path, timeout=20)
    check_eq((p.returncode, p.stderr), (2, "hopwatch: cannot create '%s': not a regular file\n"
                                        % fifo), "a FIFO")
    # another user's file: refused before it is emptied
    if os.geteuid() == 0:  # only root can give a file away; CI runs the cli tier as root too
        theirs = os.path.join(d, "theirs.html")
        with open(theirs, "w") as f:
            f.write("keep")
        os.chown(theirs, 65534, 65534)
        p = hopwatch("report", "-o", theirs, path)
        check_eq((p.returncode, p.stderr), (2, "hopwatch: cannot create '%s': another user "
                                            "owns it\n" % theirs), "another user's file")
        with open(theirs) as f:
            check_eq(f.read(), "keep", "their file untouched")


def test_malformed_lines_counted():
    s, _, _ = one_host()
    lines = list(s.lines)
    lines.insert(5, "{broken")
    p, page = report(*INTERNAL, write(lines))
    check_eq(p.returncode, 3, "malformed lines: exit 3: " + p.stderr)
    check(page and len(data_of(page)["sessions"]) == 2, "the page from the rest")
    check_eq(p.stderr.splitlines()[-1], "hopwatch: 1 malformed lines skipped", p.stderr)


def test_stdout_and_mode():
    s, _, _ = one_host()
    path = write(s.lines)
    p = subprocess.run([hw.BIN, "report", *INTERNAL, path], capture_output=True, timeout=60)
    check_eq(p.returncode, 0, p.stderr)
    _, page = report(*INTERNAL, path)
    check(p.stdout == page, "standard output and -o write the same page")
    with open(path, "rb") as f:
        p = subprocess.run([hw.BIN, "report", *INTERNAL, "-"], stdin=f, capture_output=True,
                           timeout=60)
    check(p.stdout == page, "'-' reads standard input")
    out = os.path.join(hw.tempdir("report-mode"), "r.html")
    hopwatch("report", "-o", out, path)
    check_eq(os.stat(out).st_mode & 0o777, 0o600, "the page is the owner's only")
    # a terminal on standard output: refused before reading anything
    mfd, sfd = pty.openpty()
    try:
        p = subprocess.run([hw.BIN, "report", path], stdout=sfd, stderr=subprocess.PIPE,
                           timeout=60)
    finally:
        os.close(sfd)
        os.close(mfd)
    check_eq(p.returncode, 2, "stdout a terminal")
    check(b"standard output is a terminal" in p.stderr.splitlines()[0], p.stderr)



def drain(fd, wait):
    """What the terminal fd holds now (waiting up to wait seconds for each read)."""
    got = b""
    while select.select([fd], [], [], wait)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    return got

def test_progress_on_a_terminal_only():
    """progress on a terminal's stderr while the input is read, erased at the end; nothing
    without a terminal. The input comes through standard input a chunk at a time, so that the
    read lasts past the first quarter second however fast the machine (a file read in less
    than that draws nothing, by design)."""
    s, _, _ = one_host()
    path = write(s.lines * 1)
    with open(path, "rb") as f:
        body = f.read()
    data = body * 400
    out = os.path.join(hw.tempdir("report-out"), "p.html")
    mfd, sfd = pty.openpty()
    tty = b""
    try:
        p = subprocess.Popen([hw.BIN, "report", "-o", out, "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=sfd)
        os.close(sfd)
        step = max(1, len(data) // 20)
        for i in range(0, len(data), step):
            p.stdin.write(data[i:i + step])
            p.stdin.flush()
            time.sleep(0.05)
            tty += drain(mfd, 0)
        p.stdin.close()
        rc = p.wait(timeout=120)
        tty += drain(mfd, 0.2)
    finally:
        os.close(mfd)
    check(rc in (0, 3), "rc %r" % rc)
    text = tty.decode(errors="replace")
    check("hopwatch: (stdin): " in text and "events/s" in text, "progress: %r" % text[:300])
    check("\r\x1b[K" in text.split("events/s")[-1], "erased at the end")
    p = subprocess.run([hw.BIN, "report", "-o", out, path], capture_output=True, text=True,
                       timeout=60)
    check_eq((p.returncode, p.stderr), (0, ""), "nothing on stderr without a terminal")


def test_help():
    p = hopwatch("report", "--help")
    check_eq(p.returncode, 0, "help")
    for opt in ("--output", "--config", "--set", "Content-Security-Policy", "Exit status"):
        check(opt in p.stdout, opt)
    check("report" in hopwatch("help").stdout, "in the command list")
