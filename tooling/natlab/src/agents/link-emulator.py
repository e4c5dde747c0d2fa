#!/usr/bin/env python3
"""Delay and loss for the lab's NAT links on kernels without sch_netem.

Runs in the lab's internet namespace, where every NAT uplink ends. iptables sends each
forwarded packet that crosses an impaired uplink to NFQUEUE; this process holds it for
delay x (impaired links crossed) and drops it with the compound loss probability, which is
what `tc netem delay D loss L` on both ends of every impaired link would do. It speaks the
nfnetlink_queue protocol directly (linux/netfilter/nfnetlink_queue.h), so it needs no
library. Packets keep their order: the delay is fixed per path.

Usage: link-emulator.py --queue N --link IFNAME:DELAY_MS:LOSS_PERCENT [--link ...]
Stops when stdin closes (the harness went away) or after --lifetime seconds.
"""
import heapq
import os
import random
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_IFINDEX_INDEV = 5
NFQA_IFINDEX_OUTDEV = 6
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_DROP = 0
NF_ACCEPT = 1


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, kind) + payload + b'\0' * ((4 - length % 4) % 4)


def message(kind, queue, attributes, flags=NLM_F_REQUEST, sequence=0):
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + b''.join(attributes)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, sequence, 0) + body


def parse_attributes(data):
    result = {}
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from('=HH', data, offset)
        if length < 4:
            break
        result[kind & 0x7FFF] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return result


def main():
    arguments = sys.argv[1:]
    queue = 0
    lifetime = 3600.0
    links = {}
    index = 0
    while index < len(arguments):
        name, value = arguments[index], arguments[index + 1]
        index += 2
        if name == '--queue':
            queue = int(value)
        elif name == '--lifetime':
            lifetime = float(value)
        elif name == '--link':
            interface, delay, loss = value.split(':')
            links[socket.if_nametoindex(interface)] = (float(delay) / 1000.0, float(loss) / 100.0)

    netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    netlink.bind((0, 0))
    netlink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    setup = [
        message(NFQNL_MSG_CONFIG, queue, [attribute(NFQA_CFG_CMD, struct.pack('=BBH', NFQNL_CFG_CMD_BIND, 0, 0))], NLM_F_REQUEST | NLM_F_ACK, 1),
        message(NFQNL_MSG_CONFIG, queue, [attribute(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META))], NLM_F_REQUEST | NLM_F_ACK, 2),
        message(NFQNL_MSG_CONFIG, queue, [attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack('!I', 65536))], NLM_F_REQUEST | NLM_F_ACK, 3),
    ]
    for request in setup:
        netlink.send(request)
        reply = netlink.recv(65536)
        length, kind = struct.unpack_from('=IH', reply, 0)
        if kind == NLMSG_ERROR:
            error = struct.unpack_from('=i', reply, 16)[0]
            if error != 0:
                sys.stderr.write('nfqueue config failed: %s\n' % os.strerror(-error))
                return 1
    sys.stdout.write('{"type":"ready"}\n')
    sys.stdout.flush()

    deadline = time.monotonic() + lifetime
    pending = []  # heap of (due, sequence, packet id)
    sequence = 0
    counters = {'packets': 0, 'dropped': 0}
    while time.monotonic() < deadline:
        now = time.monotonic()
        verdicts = []
        while pending and pending[0][0] <= now:
            _, _, packet_id = heapq.heappop(pending)
            verdicts.append(message(NFQNL_MSG_VERDICT, queue, [attribute(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, packet_id))]))
        if verdicts:
            netlink.send(b''.join(verdicts))
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else 0.5
        readable, _, _ = select.select([netlink, sys.stdin], [], [], timeout)
        if sys.stdin in readable and not sys.stdin.buffer.read1(4096):
            break
        if netlink not in readable:
            continue
        try:
            data = netlink.recv(1 << 20, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        offset = 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from('=IH', data, offset)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                found = parse_attributes(data[offset + 20:offset + length])
                packet_id = struct.unpack('!I', found[NFQA_PACKET_HDR][:4])[0]
                delay = 0.0
                keep = 1.0
                for device in (NFQA_IFINDEX_INDEV, NFQA_IFINDEX_OUTDEV):
                    if device in found:
                        link = links.get(struct.unpack('!I', found[device][:4])[0])
                        if link:
                            delay += link[0]
                            keep *= 1.0 - link[1]
                counters['packets'] += 1
                if random.random() >= keep:
                    counters['dropped'] += 1
                    netlink.send(message(NFQNL_MSG_VERDICT, queue, [attribute(NFQA_VERDICT_HDR, struct.pack('!II', NF_DROP, packet_id))]))
                else:
                    sequence += 1
                    heapq.heappush(pending, (time.monotonic() + delay, sequence, packet_id))
            offset += (length + 3) & ~3
    for _, _, packet_id in pending:
        netlink.send(message(NFQNL_MSG_VERDICT, queue, [attribute(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, packet_id))]))
    sys.stdout.write('{"type":"counters","packets":%d,"dropped":%d}\n' % (counters['packets'], counters['dropped']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
