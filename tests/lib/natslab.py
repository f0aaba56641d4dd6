"""A real nats-server with JetStream for the tests: on 127.0.0.1 and a free port, its store in
a temporary directory of this run, ended by PID (kill -9 on request, to test a crash), and
restartable on the same port and store. jsdump() reads a stream back (build/jsdump)."""
import os
import signal
import socket
import subprocess
import time

import hw

NATS_SERVER = "/usr/sbin/nats-server"
JSDUMP = os.path.join(hw.ROOT, "build", "jsdump")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NatsServer:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = hw.tempdir("nats")
        self.proc = None
        self.log = None

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self, timeout=10):
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port),
                                      "-js", "-sd", os.path.join(self.dir, "store")],
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
        p = subprocess.run([JSDUMP, self.url, stream], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise hw.TestFailure("jsdump: %s" % p.stderr.strip())
        out = []
        for line in p.stdout.splitlines():
            seq, subj, mid, data = line.split("\t", 3)
            out.append((int(seq), subj, mid, data))
        return out
