#!/usr/bin/env python3
# dns_first_byte.py - the time from a client's DNS query to the first byte
# of the app's answer, as a client sees it: one A query over UDP to the
# hub (no resolver cache), then a TCP connect to the answered address and
# PORT (tried again every 2 ms while refused: the revival is under way),
# REQUEST sent, first byte read.  Prints one JSON object: ms, address,
# connect tries, end_ns (the wall clock at the first byte).  With HUB_PORT
# 0, NAME is the address (no query).
#
#   dns_first_byte.py HUB_IP HUB_PORT NAME PORT REQUEST
import json, socket, struct, sys, time

def query(hub, port, name):
    qid = 0x5a5a
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(q, (hub, port))
    a, _ = s.recvfrom(1500)
    s.close()
    if len(a) < 12 or struct.unpack(">H", a[:2])[0] != qid or struct.unpack(">H", a[6:8])[0] < 1:
        raise SystemExit("no answer for " + name)
    return socket.inet_ntoa(a[-4:])   # the one A record ends the answer

def main():
    hub, hport, name, port, req = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    t0 = time.monotonic()
    addr = query(hub, hport, name) if hport else name
    tries = 0
    while True:
        tries += 1
        c = socket.socket()
        c.settimeout(10)
        try:
            c.connect((addr, port))
            break
        except ConnectionRefusedError:
            c.close()
            if time.monotonic() - t0 > 30:
                raise SystemExit("refused for 30 s")
            time.sleep(0.002)
    c.sendall(req.encode().decode("unicode_escape").encode())
    first = c.recv(1)
    t1 = time.monotonic()
    end_ns = time.time_ns()
    c.close()
    if not first:
        raise SystemExit("no answer from the app")
    print(json.dumps({"ms": round((t1 - t0) * 1000, 1), "address": addr, "connect_tries": tries,
                      "end_ns": end_ns}))

main()
