"""Four hosts on one switch: A 198.18.0.1, B .2, C .3, D .4, each a network namespace named
for this run, joined by veth pairs to a bridge in a fifth namespace. Everything is deleted on
exit, also after a failure."""
import subprocess

import hw
from hw import Netns

ADDR = {"a": "198.18.0.1", "b": "198.18.0.2", "c": "198.18.0.3", "d": "198.18.0.4"}


class Lab3:
    def __init__(self):
        self.sw = Netns("sw")
        self.hosts = {h: Netns(h) for h in ADDR}
        self.a, self.b, self.c, self.d = (self.hosts[h] for h in "abcd")
        self._entered = []

    def __enter__(self):
        sh = lambda *c: subprocess.run(list(c), check=True, capture_output=True)  # noqa: E731
        try:
            for ns in [self.sw] + list(self.hosts.values()):
                ns.__enter__()
                self._entered.append(ns)
            sh("ip", "-n", self.sw.name, "link", "add", "br0", "type", "bridge")
            sh("ip", "-n", self.sw.name, "link", "set", "br0", "up")
            for h, ns in self.hosts.items():
                port = "p" + h + hw.RUN_ID[-8:]
                sh("ip", "link", "add", "eth0", "netns", ns.name, "type", "veth", "peer", "name",
                   port, "netns", self.sw.name)
                sh("ip", "-n", self.sw.name, "link", "set", port, "master", "br0")
                sh("ip", "-n", self.sw.name, "link", "set", port, "up")
                sh("ip", "-n", ns.name, "addr", "add", ADDR[h] + "/24", "dev", "eth0")
                sh("ip", "-n", ns.name, "link", "set", "eth0", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for ns in reversed(self._entered):
            ns.__exit__()
        self._entered = []


def marker(tag):
    """A word unique to this run and tag, put in a command line to find its processes."""
    return "hw-e2e-%s-%s" % (hw.RUN_ID, tag)
