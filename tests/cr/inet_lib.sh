# inet_lib.sh - helpers of the inet tests (sourced after lib.sh).

# inet_port: a TCP+UDP port free on 127.0.0.1 and ::1 right now.
inet_port() {
	python3 - <<'PY'
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    try:
        for fam, host, typ in ((socket.AF_INET6, "::1", socket.SOCK_STREAM),
                               (socket.AF_INET, "127.0.0.1", socket.SOCK_DGRAM)):
            t = socket.socket(fam, typ); t.bind((host, p)); t.close()
    except OSError:
        s.close(); continue
    s.close(); print(p); break
PY
}
