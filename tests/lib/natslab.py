"""A real nats-server with JetStream for the tests: on 127.0.0.1 and a free port, its store in
a temporary directory of this run, ended by PID (kill -9 on request, to test a crash), and
restartable on the same port and store. NatsCluster: three of them routed into one JetStream
cluster on loopback (unique ports and directories per run). dump() reads a stream back
(build/jsdump, batches split). Nats: a client of the NATS text protocol that publishes with
message ids and headers (batches: batch()) and makes JetStream requests. FreezeProxy: a TCP
relay between a client and a server that can hold back everything the server says (its
acknowledgements), to lose acks on purpose."""
import gzip
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time

import hw
from hw import check

NATS_SERVER = "/usr/sbin/nats-server"
JSDUMP = os.path.join(hw.ROOT, "build", "jsdump")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NatsServer:
    def __init__(self, port=None, tls_dir=None, cluster=None, mappings=None):
        """mappings: {source: destination} subject mappings of the server (partitions:
        partition_mapping()). tls_dir: ca.pem, server.pem/key there (tests/lib/certs.py); clients must then show
        a certificate signed by the CA (mutual TLS). cluster: (name, server name, its route
        port, [every node's route port]) for a node of a NatsCluster."""
        self.port = port or free_port()
        self.dir = hw.tempdir("nats")
        self.tls_dir = tls_dir
        self.cluster = cluster
        self.mappings = mappings
        self.proc = None
        self.log = None

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("tls" if self.tls_dir else "nats", self.port)

    def _config(self):
        path = os.path.join(self.dir, "server.conf")
        t = self.tls_dir
        with open(path, "w") as f:
            f.write("listen: 127.0.0.1:%d\njetstream { store_dir: %s }\n"
                    % (self.port, os.path.join(self.dir, "store")))
            if self.cluster:
                name, server, rport, routes = self.cluster
                f.write("server_name: %s\ncluster { name: %s\n listen: 127.0.0.1:%d\n "
                        "routes: [%s] }\n" % (server, name, rport, ", ".join(
                            "nats-route://127.0.0.1:%d" % p for p in routes)))
            if self.mappings:
                f.write("mappings = {\n%s}\n" % "".join(
                    ' "%s": "%s"\n' % kv for kv in self.mappings.items()))
            if t:
                f.write("tls { cert_file: %s\n key_file: %s\n ca_file: %s\n verify: true }\n"
                        % (os.path.join(t, "server.pem"), os.path.join(t, "server.key"),
                           os.path.join(t, "ca.pem")))
        return path

    def start(self, timeout=10):
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen([NATS_SERVER, "-c", self._config()],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise hw.TestFailure("nats-server exited with %d" % self.proc.returncode)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise hw.TestFailure("nats-server did not listen within %ds" % timeout)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def kill9(self):
        self.stop(signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def dump(self, stream="HOPWATCH"):
        """[(seq, subject, id, data line)] of every line of the stream, batches split (id:
        the message id, for a batch's lines with "#INDEX")."""
        return jsdump(self.url, stream, self.tls_dir)

    def messages(self, stream="HOPWATCH"):
        """[{seq, subject, id, count, bytes, encoding, host, run, first}] per message."""
        return jsmessages(self.url, stream)


def partition_mapping(n, prefix="hopwatch"):
    """The server's mapping that puts each host in one of n partitions (docs/collector.md):
    PREFIX.HOST.events stored as PREFIX.HOST.events.P."""
    return {"%s.*.events" % prefix: "%s.{{wildcard(1)}}.events.{{partition(%d,1)}}"
            % (prefix, n)}


def partition_of(host_token, n):
    """The partition nats-server's {{partition(n,1)}} gives a host token: FNV-1a 32 of the
    token, modulo n."""
    h = 0x811c9dc5
    for b in host_token.encode():
        h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h % n


def jsdump(url, stream="HOPWATCH", tls_dir=None):
    env = dict(os.environ)
    if tls_dir:
        env.update(HW_NATS_CA=os.path.join(tls_dir, "ca.pem"),
                   HW_NATS_CERT=os.path.join(tls_dir, "client.pem"),
                   HW_NATS_KEY=os.path.join(tls_dir, "client.key"))
    p = subprocess.run([JSDUMP, url, stream], capture_output=True, text=True, timeout=60,
                       env=env)
    if p.returncode != 0:
        raise hw.TestFailure("jsdump: %s" % p.stderr.strip())
    out = []
    for line in p.stdout.splitlines():
        seq, subj, mid, data = line.split("\t", 3)
        out.append((int(seq), subj, mid, data))
    return out


def jsmessages(url, stream="HOPWATCH"):
    p = subprocess.run([JSDUMP, url, stream, "msgs"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise hw.TestFailure("jsdump: %s" % p.stderr.strip())
    keys = ("seq", "subject", "id", "count", "bytes", "encoding", "host", "run", "first")
    out = []
    for line in p.stdout.splitlines():
        m = dict(zip(keys, line.split("\t")))
        for k in ("seq", "bytes"):
            m[k] = int(m[k])
        for k in ("count", "first"):
            m[k] = None if m[k] == "-" else int(m[k])
        out.append(m)
    return out


class NatsCluster:
    """Three JetStream nodes routed into one cluster on 127.0.0.1 (free ports, directories
    of this run), each ended by PID; a node can be killed with -9 and started again."""

    def __init__(self, n=3):
        routes = [free_port() for _ in range(n)]
        name = "hw%d" % os.getpid()
        self.nodes = [NatsServer(cluster=(name, "n%d" % i, routes[i], routes))
                      for i in range(n)]

    @property
    def url(self):
        """every node, as the agents and collectors are given them"""
        return ",".join(n.url for n in self.nodes)

    def live_url(self):
        return ",".join(n.url for n in self.nodes if n.proc is not None)

    def start(self, timeout=30):
        try:
            for node in self.nodes:
                node.start()
            self.wait_jetstream(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for node in self.nodes:
            node.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def node(self, server_name):
        return next(n for n in self.nodes if n.cluster[1] == server_name)

    def client(self):
        """a Nats client on a live node"""
        for node in self.nodes:
            if node.proc is not None:
                try:
                    return Nats(node.port)
                except (OSError, hw.TestFailure):
                    continue
        raise hw.TestFailure("no node of the cluster answers")

    def wait_jetstream(self, timeout=30):
        """until JetStream's meta group has a leader (account info answers)"""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                nc = self.client()
                try:
                    last = nc.request("$JS.API.INFO")
                finally:
                    nc.close()
                if "error" not in last and "memory" in last:
                    return
            except (OSError, hw.TestFailure) as e:
                last = str(e)
            time.sleep(0.2)
        raise hw.TestFailure("the cluster's JetStream has no leader: %r" % last)

    def create_stream(self, name="HOPWATCH", subjects=("hopwatch.>",), replicas=3, timeout=30):
        """the stream as an operator makes it for a cluster (what the agents would make, with
        replicas): file storage, a 2-minute duplicates window"""
        cfg = {"name": name, "subjects": list(subjects), "storage": "file",
               "num_replicas": replicas, "duplicate_window": 120 * 10**9}
        deadline = time.time() + timeout
        while True:
            nc = self.client()
            try:
                r = nc.request("$JS.API.STREAM.CREATE." + name, json.dumps(cfg).encode())
            finally:
                nc.close()
            if "error" not in r:
                break
            if time.time() > deadline:
                raise hw.TestFailure("creating stream %s: %r" % (name, r))
            time.sleep(0.5)
        return self.stream_leader(name, timeout)

    def stream_info(self, name="HOPWATCH"):
        nc = self.client()
        try:
            return nc.stream_info(name)
        finally:
            nc.close()

    def stream_leader(self, name="HOPWATCH", timeout=30):
        """the server name of the stream's leader, once it has one and every replica is
        current"""
        deadline = time.time() + timeout
        info = None
        while time.time() < deadline:
            try:
                info = self.stream_info(name)
                c = info.get("cluster", {})
                if c.get("leader") and all(r.get("current") for r in c.get("replicas", [])):
                    return c["leader"]
            except (OSError, hw.TestFailure) as e:
                info = str(e)
            time.sleep(0.2)
        raise hw.TestFailure("stream %s has no current leader: %r" % (name, info))


class FreezeProxy:
    """127.0.0.1:port relays to a server; while frozen, what the server sends (its acks) is
    held back, what the client sends still goes through. thaw() delivers the held bytes.
    One thread, ended by close()."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.frozen = False
        self.stopping = False
        self.pairs = []  # [client, server, held bytes]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def freeze(self):
        self.frozen = True

    def thaw(self):
        self.frozen = False

    def _run(self):
        while not self.stopping:
            socks = [self.lsock] + [s for p in self.pairs for s in p[:2]]
            r, _, _ = select.select(socks, [], [], 0.05)
            for s in r:
                if s is self.lsock:
                    c, _ = self.lsock.accept()
                    try:
                        t = socket.create_connection(("127.0.0.1", self.target))
                    except OSError:
                        c.close()
                        continue
                    self.pairs.append([c, t, b""])
                    continue
                pair = next((p for p in self.pairs if s in p[:2]), None)
                if pair is None:
                    continue  # dropped with its other end this round
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._drop(pair)
                    continue
                if s is pair[0]:
                    pair[1].sendall(data)
                else:
                    pair[2] += data
            for pair in list(self.pairs):
                if pair[2] and not self.frozen:
                    try:
                        pair[0].sendall(pair[2])
                        pair[2] = b""
                    except OSError:
                        self._drop(pair)

    def _drop(self, pair):
        for s in pair[:2]:
            s.close()
        if pair in self.pairs:
            self.pairs.remove(pair)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        for pair in list(self.pairs):
            self._drop(pair)
        self.lsock.close()


class Nats:
    """Just enough of the NATS text protocol to publish with a message id, wait for JetStream's
    acknowledgement, and make API requests (there is no NATS client library for Python here)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rd = self.sock.makefile("rb")
        check(self.rd.readline().startswith(b"INFO "), "the server's INFO")
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,'
                          b'"no_responders":true,"protocol":1}\r\nSUB _INBOX.hwtest.* 1\r\n'
                          b'PING\r\n')
        self._until_pong()
        self.n = 0

    def close(self):
        self.rd.close()
        self.sock.close()

    def _until_pong(self):
        while True:
            line = self.rd.readline()
            check(line, "the server closed the connection")
            if line.startswith(b"PONG"):
                return
            check(not line.startswith(b"-ERR"), "server error: %r" % line)

    def _reply(self):
        """The next message on our inbox: (headers, payload)."""
        while True:
            line = self.rd.readline()
            check(line, "the server closed the connection")
            if line.startswith(b"PING"):
                self.sock.sendall(b"PONG\r\n")
                continue
            check(not line.startswith(b"-ERR"), "server error: %r" % line)
            parts = line.split()
            if parts[0] == b"MSG":
                data = self.rd.read(int(parts[-1]) + 2)[:-2]
                return b"", data
            if parts[0] == b"HMSG":
                hlen, tlen = int(parts[-2]), int(parts[-1])
                data = self.rd.read(tlen + 2)[:-2]
                return data[:hlen], data[hlen:]

    def request(self, subject, payload=b"", msg_id=None, headers=None):
        self.n += 1
        inbox = b"_INBOX.hwtest.%d" % self.n
        subj = subject.encode() if isinstance(subject, str) else subject
        if msg_id is None and not headers:
            self.sock.sendall(b"PUB %s %s %d\r\n%s\r\n" % (subj, inbox, len(payload), payload))
        else:
            hdr = b"NATS/1.0\r\n"
            if msg_id is not None:
                hdr += b"Nats-Msg-Id: %s\r\n" % msg_id.encode()
            for k, v in (headers or {}).items():
                hdr += b"%s: %s\r\n" % (k.encode(), v.encode())
            hdr += b"\r\n"
            self.sock.sendall(b"HPUB %s %s %d %d\r\n%s%s\r\n" % (
                subj, inbox, len(hdr), len(hdr) + len(payload), hdr, payload))
        hdr, data = self._reply()
        check(b" 503" not in hdr, "no responders for %r" % subj)
        return json.loads(data) if data else {}

    def publish(self, subject, line, msg_id=None, headers=None):
        """Into the stream, acknowledged (older agents' way: a message id per line)."""
        data = line if isinstance(line, bytes) else line.encode()
        ack = self.request(subject, data, msg_id or "t.%d.%d" % (os.getpid(), self.n + 1),
                           headers)
        check("error" not in ack and ack.get("seq"), "publish to %s: %r" % (subject, ack))
        return ack

    def publish_batch(self, subject, lines, encoding=None, headers=None):
        """Lines as one batch, the sink's wire format (docs/streaming.md); headers replace
        or add to the ones made here (None as a value: left out)."""
        body, hdrs = batch(lines, encoding)
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        return self.publish(subject, body, headers=hdrs)

    def consumer(self, durable, stream="HOPWATCH"):
        return self.request("$JS.API.CONSUMER.INFO.%s.%s" % (stream, durable))

    def stream_info(self, stream="HOPWATCH"):
        return self.request("$JS.API.STREAM.INFO.%s" % stream)


def batch(lines, encoding=None, host="testhost", run="testrun", first=1):
    """(body, headers) of a batch of lines as the agent's sink makes it: NDJSON, compressed
    with encoding (gzip, zstd, or None)."""
    body = b"".join((l if isinstance(l, bytes) else l.encode()) + b"\n" for l in lines)
    hdrs = {"Hopwatch-Host": host, "Hopwatch-Run": run, "Hopwatch-First-Seq": str(first),
            "Hopwatch-Count": str(len(lines))}
    if encoding == "gzip":
        body = gzip.compress(body)
    elif encoding == "zstd":
        body = subprocess.run(["zstd", "-q", "-c"], input=body, capture_output=True,
                              check=True).stdout
    if encoding:
        hdrs["Content-Encoding"] = encoding
    return body, hdrs
