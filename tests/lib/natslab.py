"""A real nats-server with JetStream for the tests: on 127.0.0.1 and a free port, its store in
a temporary directory of this run, ended by PID (kill -9 on request, to test a crash), and
restartable on the same port and store. jsdump() reads a stream back (build/jsdump). Nats: a
client of the NATS text protocol that publishes with message ids and makes JetStream requests."""
import json
import os
import signal
import socket
import subprocess
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
    def __init__(self, port=None, tls_dir=None):
        """tls_dir: ca.pem, server.pem/key there (tests/lib/certs.py); clients must then show
        a certificate signed by the CA (mutual TLS)."""
        self.port = port or free_port()
        self.dir = hw.tempdir("nats")
        self.tls_dir = tls_dir
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
        """[(seq, subject, msg id, data line)] of every message of the stream."""
        env = dict(os.environ)
        if self.tls_dir:
            env.update(HW_NATS_CA=os.path.join(self.tls_dir, "ca.pem"),
                       HW_NATS_CERT=os.path.join(self.tls_dir, "client.pem"),
                       HW_NATS_KEY=os.path.join(self.tls_dir, "client.key"))
        p = subprocess.run([JSDUMP, self.url, stream], capture_output=True, text=True,
                           timeout=60, env=env)
        if p.returncode != 0:
            raise hw.TestFailure("jsdump: %s" % p.stderr.strip())
        out = []
        for line in p.stdout.splitlines():
            seq, subj, mid, data = line.split("\t", 3)
            out.append((int(seq), subj, mid, data))
        return out


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

    def request(self, subject, payload=b"", msg_id=None):
        self.n += 1
        inbox = b"_INBOX.hwtest.%d" % self.n
        subj = subject.encode() if isinstance(subject, str) else subject
        if msg_id is None:
            self.sock.sendall(b"PUB %s %s %d\r\n%s\r\n" % (subj, inbox, len(payload), payload))
        else:
            hdr = b"NATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n" % msg_id.encode()
            self.sock.sendall(b"HPUB %s %s %d %d\r\n%s%s\r\n" % (
                subj, inbox, len(hdr), len(hdr) + len(payload), hdr, payload))
        hdr, data = self._reply()
        check(b" 503" not in hdr, "no responders for %r" % subj)
        return json.loads(data) if data else {}

    def publish(self, subject, line, msg_id=None):
        """Into the stream, acknowledged (the agent's way: a message id per line)."""
        data = line if isinstance(line, bytes) else line.encode()
        ack = self.request(subject, data, msg_id or "t.%d.%d" % (os.getpid(), self.n + 1))
        check("error" not in ack and ack.get("seq"), "publish to %s: %r" % (subject, ack))
        return ack

    def consumer(self, durable, stream="HOPWATCH"):
        return self.request("$JS.API.CONSUMER.INFO.%s.%s" % (stream, durable))

    def stream_info(self, stream="HOPWATCH"):
        return self.request("$JS.API.STREAM.INFO.%s" % stream)
