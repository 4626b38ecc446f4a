#!/usr/bin/env python3
# inet_peer.py PORT LOG - the peer outside the tree for t-inet-peer.sh.
# Listens on 127.0.0.1:PORT and [::1]:PORT; to every connection it sends a
# 3000-byte greeting, then echoes what it receives.  Writes "READY" to LOG
# once listening, then one line per event: "ACCEPT addr", "ECHOED n addr",
# and "ERROR ..." on a reset or any error, "EOF addr" when a peer closes.
import socket, sys, threading

port, log = int(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
lock = threading.Lock()
GREET = bytes((i * 7 + 3) & 255 for i in range(3000))

def say(msg):
    with lock:
        log.write(msg + "\n")

def serve(conn, addr):
    total = 0
    try:
        conn.sendall(GREET)
        while True:
            data = conn.recv(65536)
            if not data:
                say("EOF %s" % (addr,))
                return
            conn.sendall(data)
            total += len(data)
            say("ECHOED %d %s" % (total, addr))
    except Exception as e:
        say("ERROR %s: %r" % (addr, e))

def listen(family, host):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(8)
    def loop():
        while True:
            c, a = s.accept()
            say("ACCEPT %s" % (a,))
            threading.Thread(target=serve, args=(c, a), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

listen(socket.AF_INET, "127.0.0.1")
listen(socket.AF_INET6, "::1")
say("READY")
threading.Event().wait()
