"""Sends UDP datagrams the way an evasive program would: destinations on pages this process has
never touched (a file-backed private mapping: the bytes are in the page cache, but no page table
entry maps them until the kernel's own copy in the syscall faults them in), and batches through
sendmmsg(2).

usage: udpsend.py sendto|sendmmsg|mcast IP:PORT|[IPV6]:PORT...
  sendto    one sendto(2) per destination, each sockaddr on its own untouched page
  sendmmsg  one sendmmsg(2) of every destination, the sockaddrs and the mmsghdr vector on
            untouched pages
  mcast     as sendmmsg, on a socket with IP_MULTICAST_IF set (link-local multicast then
            takes no route lookup); the first argument is the interface address
An IPv6 last destination makes the socket a dual-stack IPv6 one (v4-mapped destinations too).

Prints "untouched N" (pages not mapped right before the syscalls, read from
/proc/self/pagemap) and "sent N" (datagrams the kernel accepted)."""
import ctypes
import os
import socket
import struct
import sys
import tempfile

PAGE = os.sysconf("SC_PAGE_SIZE")
PROT_READ, PROT_WRITE, MAP_PRIVATE = 1, 2, 2
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
libc.sendto.restype = ctypes.c_ssize_t
libc.sendto.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                        ctypes.c_void_p, ctypes.c_uint32]
libc.sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]


def sockaddr(dest):
    """IP:PORT or [IPV6]:PORT as struct sockaddr_in (16 bytes) or sockaddr_in6 (28)."""
    ip, port = dest.rsplit(":", 1)
    if ip.startswith("["):
        return (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", int(port), 0) +
                socket.inet_pton(socket.AF_INET6, ip[1:-1]) + bytes(4))
    return (struct.pack("=H", socket.AF_INET) + struct.pack("!H", int(port)) +
            socket.inet_aton(ip) + bytes(8))


def untouched(data, prot=PROT_READ):
    """Address of a fresh private mapping of a file holding data; never accessed here."""
    with tempfile.TemporaryFile() as f:
        f.write(data.ljust(PAGE, b"\0"))
        f.flush()
        addr = libc.mmap(None, PAGE, prot, MAP_PRIVATE, f.fileno(), 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        sys.exit("mmap failed: errno %d" % ctypes.get_errno())
    return addr


def mapped(addr):
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(addr // PAGE * 8)
        return struct.unpack("<Q", f.read(8))[0] >> 63


def main():
    mode, dests = sys.argv[1], sys.argv[2:]
    v6 = dests[-1].startswith("[")
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # v4-mapped too
    payload = ctypes.create_string_buffer(b"hopwatch-udp")
    if mode == "mcast":
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(dests[0]))
        dests = dests[1:]
    if mode == "sendto":
        addrs = [sockaddr(d) for d in dests]
        pages = [untouched(a) for a in addrs]
        print("untouched", sum(not mapped(p) for p in pages), flush=True)
        sent = 0
        for p, a in zip(pages, addrs):
            sent += libc.sendto(s.fileno(), payload, 12, 0, p, len(a)) == 12
        print("sent", sent, flush=True)
        return
    # struct iovec, then struct mmsghdr (x86_64 and aarch64 layout: 64 bytes)
    addrs = [sockaddr(d) for d in dests]
    names = untouched(b"".join(a.ljust(32, b"\0") for a in addrs))
    iov = ctypes.create_string_buffer(struct.pack("=QQ", ctypes.addressof(payload), 12))
    vec = b"".join(struct.pack("=QI4xQQQQi4xI4x", names + 32 * i, len(a),
                               ctypes.addressof(iov), 1, 0, 0, 0, 0)
                   for i, a in enumerate(addrs))
    vecp = untouched(vec, PROT_READ | PROT_WRITE)  # the kernel writes msg_len back
    print("untouched", (not mapped(names)) + (not mapped(vecp)), flush=True)
    n = libc.sendmmsg(s.fileno(), vecp, len(dests), 0)
    print("sent", n, flush=True)


main()
