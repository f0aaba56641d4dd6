#!/bin/busybox sh
# /init of the kernel matrix's initramfs (tests/kernels): mounts what the agent needs, runs
# `hopwatch check`, then `hopwatch run` around a workload, prints everything on the serial
# console between markers, and powers off. The host side (test_kernels.py) judges the output.
/bin/busybox --install -s
# the initramfs root is world-writable by default: programs under it would not be trusted
/bin/busybox chmod 0755 /
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
hostname hwguest
ip link set lo up
modprobe inet_diag; modprobe tcp_diag; modprobe udp_diag
echo "==HW-UPTIME-START $(cut -d' ' -f1 /proc/uptime)"
echo "==HW-CHECK-BEGIN=="
hopwatch check 2>&1
rc=$?
echo "==HW-CHECK-RC=$rc"
if [ $rc -ne 0 ]; then
	# why: the end of libbpf's verifier log
	hopwatch run -v -d 1s --output /dev/null 2>&1 | tail -40
fi
echo "==HW-CHECK-END=="
hopwatch run -o json --output /tmp/events.json --set detect.remote_services=hwguest \
	--set agent.conn_report_interval=1s 2>/tmp/agent.err &
agent=$!
i=0
while ! grep -q agent-started /tmp/events.json 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 $agent 2>/dev/null; then break; fi
	sleep 0.2
done
echo "==HW-AGENT-READY after $((i / 5))s"
# wait_listen PORT: until a socket listens on PORT (/proc/net/tcp or tcp6, state 0A: busybox nc
# listens on IPv6), at most 20 s: a fixed pause lost the race on a loaded machine, and the
# connect was refused
wait_listen() {
	n=0
	# a 20 s timeout is no failure here: the connect then fails and the judge says so
	port=$(printf '%04X' "$1")
	while ! grep -qs ":$port [0-9A-F]*:0000 0A" /proc/net/tcp /proc/net/tcp6 &&
		[ $n -lt 200 ]; do
		n=$((n + 1))
		sleep 0.1
	done
}
# the workload: execs and exit codes, TCP on loopback (listen, accept, connect, close), a
# refused connect, UDP, a remote login that succeeds and one that fails
/bin/true
sh -c 'exit 3'
echo "exit=$?"
nc -l -p 8080 >/tmp/nc.out &
srv=$!
wait_listen 8080
echo hello | nc -w 5 127.0.0.1 8080
wait $srv
nc -w 5 127.0.0.1 1 </dev/null
echo "refused=$?"
hwguest udp 127.0.0.1 9999
# a connection open across periodic reports (connection_open: sock_diag finds it by key)
sleep 3 | nc -l -p 8081 >/dev/null &
srv=$!
wait_listen 8081
sleep 3 | nc -w 10 127.0.0.1 8081
wait $srv
hwguest serve hwok alice 2222 &
srv=$!
wait_listen 2222
nc -w 5 127.0.0.1 2222 </dev/null
wait $srv
echo "login-ok=$?"
hwguest serve hwbad alice 2223 &
srv=$!
wait_listen 2223
nc -w 5 127.0.0.1 2223 </dev/null
wait $srv
echo "login-bad=$?"
sleep 1
kill -INT $agent
wait $agent
echo "==HW-RUN-RC=$?"
echo "==HW-AGENT-STDERR-BEGIN=="
cat /tmp/agent.err
echo "==HW-AGENT-STDERR-END=="
echo "==HW-EVENTS-BEGIN=="
cat /tmp/events.json
echo "==HW-EVENTS-END=="
echo "==HW-UPTIME-END $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
