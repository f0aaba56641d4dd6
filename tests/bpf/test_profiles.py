"""Volume profiles (issue 14 part 2) against a real nats-server: what one TCP connection and
one process lifecycle (fork + exec + exit) cost in the stream, measured as the server counts
it (the stream's bytes), under output.nats_profile = full and fleet, with and without the
sink's zstd compression; and the attacker's angle: an unprivileged user flooding loopback
connections cannot make the fleet stream grow per connection (loopback_summary lines), nor
hide an outbound connection among them (198.18.x is never summarised).

The agent watches one network namespace (b, --netns): the other helpers' processes on the
machine are not in the figures. Connections come from namespace a (198.18.0.1) to a server in
b (198.18.0.2), the shape of a web server's: accepted, served, closed. Figures are written to
build/profiles.txt for docs/streaming.md."""
import os
import subprocess
import time

import ecs_schema
import hw
from hw import Lab, check, check_eq, get
from natslab import JSDUMP, NatsServer

STORM = os.path.join(hw.ROOT, "build", "storm")
N = 200
PORT = 8080
# a server in b: accepts, reads a byte, answers 10, closes (a tiny web server)
SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("%s", %d)); s.listen(128)
while True:
    c, _ = s.accept(); c.recv(1); c.sendall(b"0123456789"); c.close()
"""
CLIENT = """
import socket, sys
for _ in range(int(sys.argv[1])):
    c = socket.create_connection(("%s", %d)); c.sendall(b"x"); c.recv(10); c.close()
"""
# nobody in b: a loopback flood (its own listener), then one connection out to 198.18.0.1
FLOOD = """
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(128)
for _ in range(int(sys.argv[1])):
    c = socket.create_connection(l.getsockname()); s, _ = l.accept()
    c.sendall(b"y"); s.recv(1); c.close(); s.close()
c = socket.create_connection(("198.18.0.1", %d)); c.sendall(b"x"); c.recv(10); c.close()
print(l.getsockname()[1], flush=True)
"""


def stream_info(url):
    """(messages, bytes) of the stream, as the server counts them."""
    p = subprocess.run([JSDUMP, url, "HOPWATCH", "info"], capture_output=True, text=True,
                       timeout=30)
    if p.returncode:
        return 0, 0
    m, b = p.stdout.split()
    return int(m), int(b)


def settled(url, quiet=1.0, timeout=30):
    """The stream's (messages, bytes) once nothing has arrived for `quiet` seconds."""
    last, since, deadline = None, time.time(), time.time() + timeout
    while time.time() < deadline:
        now = stream_info(url)
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            return now
        time.sleep(0.1)
    return last


def agent(lab, srv, profile, compress, *extra):
    args = ["--netns", lab.b.path, "--host-name", "b",
            "--set", "output.nats_url=" + srv.url,
            "--set", "output.spool_dir=" + hw.tempdir("spool"),
            "--set", "output.nats_profile=" + profile,
            "--set", "output.nats_compress=" + compress]
    for s in extra:
        args += ["--set", s]
    return hw.Agent(*args)


def measure(profile, compress):
    """Stream bytes per connection and per lifecycle, and lines per each."""
    with Lab() as lab, NatsServer() as srv:
        server = lab.b.popen(["python3", "-c", SERVER % ("198.18.0.2", PORT)])
        try:
            with agent(lab, srv, profile, compress, "output.fleet_summary_interval=1s"):
                time.sleep(1.0)
                m0, b0 = settled(srv.url)
                r = lab.a.run(["python3", "-c", CLIENT % ("198.18.0.2", PORT), str(N)],
                              capture_output=True, text=True, timeout=60)
                check_eq(r.returncode, 0, "clients: " + r.stderr)
                m1, b1 = settled(srv.url, quiet=1.5)
                r = lab.b.run([STORM, "exec", str(N)], capture_output=True, text=True,
                              timeout=60)
                check_eq(r.returncode, 0, "storm exec: " + r.stderr)
                m2, b2 = settled(srv.url, quiet=1.5)
        finally:
            server.kill()
            server.wait()
        lines = [d for _, _, _, d in srv.dump()]
    return {"conn": (b1 - b0) / N, "proc": (b2 - b1) / N, "lines": lines}


_FIGURES = {}
_FLOOD = []


def figures():
    if not _FIGURES:
        for profile in ("full", "fleet"):
            for compress in ("none", "zstd"):
                _FIGURES[profile, compress] = measure(profile, compress)
        path = os.path.join(hw.ROOT, "build", "profiles.txt")
        with open(path, "w") as f:
            f.write("profile compress bytes/connection bytes/lifecycle (stream bytes, N=%d)\n"
                    % N)
            for (p, c), v in sorted(_FIGURES.items()):
                f.write("%-5s %-4s %7.0f %7.0f\n" % (p, c, v["conn"], v["proc"]))
    return _FIGURES


def test_fleet_meets_the_targets_in_the_stream():
    """The default sink (fleet, zstd): at most 500 stream bytes per TCP connection and 1 KB
    per process lifecycle, as nats-server counts them."""
    f = figures()[("fleet", "zstd")]
    check(f["conn"] <= 500, "fleet+zstd: %.0f stream bytes per connection" % f["conn"])
    check(f["proc"] <= 1024, "fleet+zstd: %.0f stream bytes per lifecycle" % f["proc"])


def test_fleet_costs_less_than_full():
    """Uncompressed, fleet ships far less per connection (one connection_closed for accepted
    + disconnect) and per lifecycle (slim fork and exit) than full. (Compressed, these
    repeated lines shrink so much that the codec decides the figures, not the profile.)"""
    f = figures()
    full, fleet = f[("full", "none")], f[("fleet", "none")]
    check(fleet["conn"] * 2 < full["conn"], "connection %.0f vs full %.0f"
          % (fleet["conn"], full["conn"]))
    check(fleet["proc"] * 1.2 < full["proc"], "lifecycle %.0f vs full %.0f"
          % (fleet["proc"], full["proc"]))


def test_fleet_lines_per_connection_and_lifecycle():
    """What the fleet stream holds of them: one connection_closed per served connection (no
    accepted, no disconnect: port 8080 is no admin port, the server in no session), the
    served bytes each way; fork and exit slim, exec full."""
    ev = [hw.parse_event(l) for l in figures()[("fleet", "none")]["lines"]]
    closed = [e for e in ev if get(e, "event.action") == "connection_closed"
              and get(e, "destination.port") == PORT]
    check_eq(len(closed), N, "connection_closed lines")
    check_eq({(get(e, "source.ip"), get(e, "source.bytes"), get(e, "destination.bytes"),
               get(e, "network.direction")) for e in closed},
             {("198.18.0.1", 1, 10, "ingress")}, "both ends, bytes each way")
    check(all(get(e, "event.duration") is not None and get(e, "hopwatch.connection.start")
              and get(e, "hopwatch.connection.closed_by") for e in closed),
          "duration, start, who closed")
    check(not [e for e in ev if get(e, "event.action") in ("connection_accepted", "disconnect")
               and get(e, "destination.port") == PORT], "no accepted or disconnect line")
    forks = [e for e in ev if get(e, "event.action") == "fork"]
    execs = [e for e in ev if get(e, "event.action") == "exec"
             and get(e, "process.executable") in ("/bin/true", "/usr/bin/true")]
    check(len(forks) >= N and len(execs) >= N, "%d forks, %d execs" % (len(forks), len(execs)))
    check(all("args" not in e["process"] and "working_directory" not in e["process"]
              for e in forks), "forks slim")
    check(all(get(e, "process.args") == ["/bin/true"] for e in execs), "execs full")


def test_loopback_flood_is_summarised_and_hides_nothing():
    """nobody floods 2000 loopback connections in b, then connects once to 198.18.0.1: the
    fleet stream grows by a few summary lines, not per connection (the flood's counts in
    them), and the outbound connection is there as its own connection_closed."""
    n = 2000
    with Lab() as lab, NatsServer() as srv:
        server = lab.a.popen(["python3", "-c", SERVER % ("198.18.0.1", PORT)])
        try:
            with agent(lab, srv, "fleet", "none", "output.fleet_summary_interval=1s") as ag:
                time.sleep(1.0)
                m0, b0 = settled(srv.url)
                before = len(srv.dump())
                r = lab.b.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               "python3", "-c", FLOOD % PORT, str(n)],
                              capture_output=True, text=True, timeout=120)
                check_eq(r.returncode, 0, "the flood: " + r.stderr)
                lport = int(r.stdout.split()[0])
                time.sleep(1.5)  # the summary interval passes, a tick flushes it
                m1, b1 = settled(srv.url, quiet=1.5)
            full = [e for e in ag.events() if get(e, "event.action") == "disconnect"]
        finally:
            server.kill()
            server.wait()
        raw = [d for _, _, _, d in srv.dump()]
        _FLOOD.extend(raw)
        new = [hw.parse_event(d) for d in raw[before:]]
    check(len(full) >= 2 * n, "the agent's own output has every disconnect: %d" % len(full))
    acts = [get(e, "event.action") for e in new]
    check(len(new) <= 20, "the fleet stream grew by %d lines for %d connections: %r"
          % (len(new), n, acts))
    check(b1 - b0 < 20000, "the fleet stream grew by %d bytes for %d connections"
          % (b1 - b0, n))
    sums = [e for e in new if get(e, "event.action") == "loopback_summary"
            and get(e, "destination.port") == lport]
    counted = {get(e, "network.direction"): get(e, "hopwatch.summary.connections")
               for e in sums}
    check_eq(counted, {"egress": n, "ingress": n}, "the flood counted both ways")
    check(all(get(e, "process.executable", "").split("/")[-1].startswith("python")
              for e in sums), "the flooding process named")
    out = [e for e in new if get(e, "event.action") == "connection_closed"]
    check_eq([(get(e, "destination.ip"), get(e, "destination.port"), get(e, "source.bytes"))
              for e in out], [("198.18.0.1", PORT, 1)],
             "the outbound connection on its own line, the only connection_closed")
    check(not [e for e in new if get(e, "destination.ip") == "198.18.0.1"
               and get(e, "event.action") == "loopback_summary"], "never summarised")


def test_stream_lines_conform_to_ecs():
    """Every line of the fleet streams above (connection_closed, loopback_summary, slim fork
    and exit, the full lines) conforms to Elastic's ECS schema."""
    lines = figures()[("fleet", "none")]["lines"] + _FLOOD
    kinds = {get(hw.parse_event(l), "event.action") for l in lines}
    check({"connection_closed", "loopback_summary", "fork", "exec", "exit"} <= kinds,
          "kinds checked: %r" % sorted(kinds))
    errs = ecs_schema.validate_lines(lines, "fleet line")
    check_eq(errs[:20], [], "ECS violations (%d in all)" % len(errs))
