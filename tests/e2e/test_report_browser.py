"""`hopwatch report` in a real browser (Debian's chromium, headless) over the e2e hop-chain
scenario: hosts A, B, C in network namespaces (tests/lib/lab3.py), real sshd on B and C, an
agent recording each of B and C (--record). ssh A -> B, in that session a program whose argv[0]
is markup (`</script><img src=x onerror=...>` and U+2028), then ssh on B -> C. `hopwatch
collect --replay` over the two recordings raises the hop-chain alert A -> B -> C, and `hopwatch
report` makes the page of the recordings and the collector's output.

Chromium loads the page inside a network namespace of its own (no interface up) with its net
log on; the DOM after the script ran (--dump-dom) must hold the nodes A (an address), b and c,
the arrows A -> b and b -> c alerted and linked to their sessions, the hop-chain alert linked to
both arrows and to c's session, the hostile argv as text and no element it tried to inject. The
net log must show no request the page made (the browser's own component updater is told apart:
it has no page behind it); a control page with a remote <img> shows the check sees one, and the
report with an injected remote <img> shows the CSP stops it. The screenshot is kept under
build/test-artifacts/report/."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from html.parser import HTMLParser

import hw
from hw import Agent, check, check_eq, get
from lab3 import ADDR, Lab3, marker
from sshlab import HOP_SSH_OPTS, SshServer, TestUser, give_key, ssh

A, B, C = ADDR["a"], ADDR["b"], ADDR["c"]
SETS = ("--set", "detect.internal_nets=198.18.0.0/15")
ARTIFACTS = os.path.join(hw.ROOT, "build", "test-artifacts", "report")
HOSTILE = "</script><img src=x onerror=\"document.title='pwned'\">&'"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--disable-spell-checking",
            "--disable-breakpad", "--net-log-capture-mode=Everything"]
_RESULT = None


def _scenario():
    d = hw.tempdir("report-e2e")
    recs = {h: os.path.join(d, h + ".rec") for h in "bc"}
    with Lab3() as lab, SshServer(lab.b, B) as sb, SshServer(lab.c, C) as sc, \
            TestUser("r") as u:
        u.authorize(sb)
        u.authorize(sc)
        give_key(u)
        with Agent("--netns", lab.b.path, "--host-name", "b", "--record", recs["b"],
                   *SETS) as ab, \
                Agent("--netns", lab.c.path, "--host-name", "c", "--record", recs["c"],
                      *SETS) as ac:
            # argv[0] markup and U+2028 (printf's octal: both dash and bash)
            cmd = ("echo %s; h=$(printf '\\342\\200\\250'); "
                   "bash -c 'exec -a \"$0\" true' \"%s$h\"; ssh %s %s true"
                   % (marker("report"), HOSTILE.replace('"', '\\"'), HOP_SSH_OPTS, C))
            r = ssh(lab.a, u, B, cmd)
            check_eq(r.returncode, 0, "ssh A->B->C: " + r.stderr)
            for ag in (ab, ac):
                ag.wait_for(lambda e: get(e, "event.action") == "user_logout", 15)
            time.sleep(1.5)
    col = os.path.join(d, "collector.json")
    with open(col, "w") as f:
        p = subprocess.run([hw.BIN, "collect", *SETS, "-o", "json", "--replay", recs["b"],
                            recs["c"]], stdout=f, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    check_eq(p.returncode, 0, "collect --replay: " + p.stderr)
    page = os.path.join(d, "report.html")
    p = hw.hopwatch("report", *SETS, "-o", page, recs["b"], recs["c"], col, timeout=120)
    check_eq((p.returncode, p.stderr), (0, ""), "hopwatch report")
    with open(col) as f:
        alerts = [json.loads(x) for x in f if '"alert"' in x]
    return {"page": page, "user": u.name, "dir": d, "alerts": alerts}


def result():
    global _RESULT
    if _RESULT is None:
        try:
            _RESULT = _scenario()
        except BaseException as e:  # noqa: BLE001 - every test reports the same failure
            _RESULT = e
    if isinstance(_RESULT, BaseException):
        raise hw.TestFailure("the report scenario failed: %s" % _RESULT)
    return _RESULT


def browse(page, tag, screenshot=None):
    """chromium on file://page in a network namespace of its own; returns (DOM or None, the
    URLs the page requested)"""
    d = hw.tempdir("chromium-" + tag)
    netlog = os.path.join(d, "netlog.json")
    argv = ["unshare", "--net", "--"] + CHROMIUM + [
        "--user-data-dir=" + os.path.join(d, "profile"), "--log-net-log=" + netlog]
    argv += ["--screenshot=" + screenshot, "--window-size=1400,1500"] if screenshot \
        else ["--dump-dom"]
    p = subprocess.Popen(argv + ["file://" + page], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # chromium and its helpers: its own group
        p.communicate()
        raise hw.TestFailure("chromium hung on %s" % page)
    check_eq(p.returncode, 0, "chromium: " + err[-2000:])
    return (None if screenshot else out), page_requests(netlog)


def page_requests(netlog):
    """URLs of the requests a page made: a request has a page behind it when its network
    isolation key names a site (the browser's own, like the component updater, has none)"""
    with open(netlog) as f:
        log = json.load(f)
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for e in log["events"]:
        prm = e.get("params") or {}
        if names.get(e["type"]) != "URL_REQUEST_START_JOB" or "url" not in prm:
            continue
        if prm.get("initiator") == "not an origin" and prm.get("network_isolation_key") == \
                "null null":
            continue
        urls.append(prm["url"])
    return urls


class Dom(HTMLParser):
    """elements as dicts: tag, attrs, text (of the element and its descendants), parent"""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.els, self.stack = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": "",
              "parent": self.stack[-1] if self.stack else None}
        self.els.append(el)
        if tag not in ("meta", "img", "br", "link", "input"):
            self.stack.append(el)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for el in self.stack:
            el["text"] += data

    def find(self, tag, cls=None):
        return [e for e in self.els if e["tag"] == tag and
                (cls is None or cls in e["attrs"].get("class", "").split())]

    def child(self, el, tag):
        return [e for e in self.els if e["parent"] is el and e["tag"] == tag]


def data_of(page):
    with open(page, "rb") as f:
        m = re.search(rb'<script type="application/json" id="hw-data">(.*?)</script>', f.read(),
                      re.S)
    return json.loads(m.group(1))


def test_hop_chain_report_in_chromium():
    res = result()
    check("hop-chain" in [get(a, "rule.id") for a in res["alerts"]],
          "the collector saw the chain: %r" % [get(a, "rule.id") for a in res["alerts"]])
    html, urls = browse(res["page"], "report")
    check_eq(urls, [], "the page fetched nothing")
    dom = Dom(html)
    check_eq(dom.find("html")[0]["attrs"].get("data-hw-drawn"), "3", "the script drew 3 nodes")
    # nodes: A (no agent), b, c
    nodes = {dom.child(g, "title")[0]["text"].split(" (")[0]: g for g in dom.find("g", "node")}
    check_eq(sorted(nodes), sorted([A, "b", "c"]), "the nodes")
    check("address" in nodes[A]["attrs"]["class"] and "host" in nodes["b"]["attrs"]["class"],
          "A is an address, b a host")
    # arrows, as the data has them, each drawn with its class and link
    d = data_of(res["page"])
    label = {n["id"]: n["label"] for n in d["nodes"]}
    drawn = {g["attrs"]["id"]: g for g in dom.find("g", "edge")}
    check_eq(sorted(drawn), sorted(e["id"] for e in d["edges"]), "every arrow drawn")
    arrows = {(label[e["from"]], label[e["to"]]): e for e in d["edges"]}
    check_eq(sorted(arrows), sorted([(A, "b"), ("b", "c")]), "A -> b -> c")
    for e in arrows.values():
        g = drawn[e["id"]]
        check("alerted" in g["attrs"]["class"].split(), "alerted: %r" % g["attrs"])
        title = dom.child(g, "title")[0]["text"]
        check(title.startswith(res["user"] + ", ") and "sshd publickey" in title, title)
        check_eq(g["parent"]["tag"], "a", "the arrow is a link")
        check_eq(g["parent"]["attrs"]["href"], "#" + e["session"], "to its session")
        check(dom.find("section", "session") and
              [s for s in dom.find("section") if s["attrs"].get("id") == e["session"]],
              "the session %s is on the page" % e["session"])
    check_eq(arrows[("b", "c")]["via"], "ssh", "the hop's program")
    # the alert list: the hop-chain row links c's session and both arrows
    rows = {r["attrs"]["id"]: r for r in dom.find("tr", "alert")}
    chain = [a for a in d["alerts"] if a["rule"] == "hop-chain"]
    check_eq(len(chain), 1, "one hop-chain alert")
    row = rows[chain[0]["id"]]
    hrefs = [a["attrs"].get("href") for a in dom.els if a["tag"] == "a" and
             _inside(a, row)]
    check("#" + arrows[("b", "c")]["session"] in hrefs, "the row links c's session: %r" % hrefs)
    for e in arrows.values():
        check("#" + e["id"] in hrefs, "the row links the arrow %s: %r" % (e["id"], hrefs))
    check("hop-chain" in row["text"] and res["user"] + " hopped " + A in row["text"],
          row["text"])
    # the hostile argv: text on the page, no element of it, the title untouched
    check_eq(dom.find("title")[0]["text"], "hopwatch report", "document.title untouched")
    check_eq(dom.find("img"), [], "no <img> injected")
    check_eq(len(dom.find("script")), 2, "the page's two scripts, no other")
    texts = [td["text"] for td in dom.find("td", "text")]
    check(any(t.startswith(HOSTILE + "\u2028") for t in texts),
          "the hostile argv shown as text: %r" % [t for t in texts if "script" in t])


def _inside(el, anc):
    while el is not None:
        if el is anc:
            return True
        el = el["parent"]
    return False


def test_screenshot_kept():
    res = result()
    os.makedirs(ARTIFACTS, exist_ok=True)
    png = os.path.join(ARTIFACTS, "hop-chain-report.png")
    shutil.copyfile(res["page"], os.path.join(ARTIFACTS, "hop-chain-report.html"))
    if os.path.exists(png):
        os.unlink(png)
    _, urls = browse(res["page"], "shot", screenshot=png)
    check_eq(urls, [], "nothing fetched while drawing")
    with open(png, "rb") as f:
        head = f.read(24)
    check(head.startswith(b"\x89PNG\r\n\x1a\n"), "a PNG")
    w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    check_eq((w, h), (1400, 1500), "the window's size")
    check(os.path.getsize(png) > 20000, "a drawn page, not a blank one")


def test_netlog_sees_a_fetch_and_the_csp_stops_one():
    """The check above can fail: a page with a remote image shows in the net log; the report
    with the same image (and a stylesheet) put into it by hand does not: its CSP forbids it."""
    res = result()
    d = hw.tempdir("report-ctl")
    ctl = os.path.join(d, "control.html")
    with open(ctl, "w") as f:
        f.write('<!DOCTYPE html><html><body><img src="http://198.18.0.9/x.png"></body></html>')
    _, urls = browse(ctl, "control")
    check_eq(urls, ["http://198.18.0.9/x.png"], "the control page's fetch is seen")
    with open(res["page"]) as f:
        page = f.read()
    inj = os.path.join(d, "injected.html")
    with open(inj, "w") as f:
        f.write(page.replace("<h1>hopwatch report</h1>", '<h1>hopwatch report</h1>'
                             '<img src="http://198.18.0.9/y.png">'
                             '<link rel="stylesheet" href="http://198.18.0.9/z.css">', 1))
    html, urls = browse(inj, "injected")
    check_eq(urls, [], "the CSP forbids the injected fetches")
    check_eq(Dom(html).find("html")[0]["attrs"].get("data-hw-drawn"), "3",
             "the page's own script still runs")
