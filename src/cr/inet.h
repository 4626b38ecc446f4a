/*
 * inet.h - checkpoint and restore of one inet socket (TCP or UDP, IPv4 or
 * IPv6): the image-level model of its state and the calls that read it from
 * a socket and build a new socket from it.
 *
 * Kinds handled (enum cr_inet_state):
 *   - TCP not connected (socket(), maybe bound): recreated and bound again;
 *   - TCP listening: recreated, bound and listening with the old backlog
 *     (read with NETLINK_SOCK_DIAG), or taken from listener custody;
 *   - TCP established: TCP_REPAIR (tcp_repair.h), queues included, or
 *     taken from custody (the same socket, open all along);
 *   - UDP unbound, bound or connected.  Datagrams queued in a UDP socket
 *     are not saved: a recreated UDP socket starts empty (an unconnected one
 *     kept in custody keeps its queue, since it is the same socket).
 *
 * The dumper works on a duplicate of the app's fd (pidfd_getfd): inet_dump()
 * leaves an established TCP socket in repair mode, so that closing it (the
 * tree being killed after the dump) sends neither FIN nor RST.  If the dump
 * fails or the tree keeps running, call inet_dump_undo() on the duplicate.
 * A whole tree is dumped under a network lock (netlock.h) that freezes its
 * connections first; this file reads one socket at a time.
 *
 * Between the dump and the restore nothing holds a connection's addresses:
 * a packet its TCP peer sends then is answered by a RST from the kernel,
 * which resets the connection.  A peer that stays silent across the gap (an
 * idle keep-alive client) is unaffected.  Listening sockets kept in custody
 * keep accepting connections into their backlog all along, and connections
 * kept in custody stay open: what the peer sends waits in them.
 */
#ifndef PC_CR_INET_H
#define PC_CR_INET_H

#include <stddef.h>
#include <stdint.h>

#define CR_INET_QUEUE_MAX (64u << 20)  /* bytes per TCP queue in an image */

enum cr_inet_state {
	CR_INET_TCP_CLOSED = 1,  /* TCP socket never connected (maybe bound) */
	CR_INET_TCP_LISTEN,
	CR_INET_TCP_ESTABLISHED,
	CR_INET_UDP,             /* unbound, bound (local) or connected (peer) */
};

/* An address; port 0 and an all-zero addr mean "none" (unbound). */
struct cr_inet_addr {
	uint8_t addr[16];              /* IPv4: first 4 bytes, network order */
	uint16_t port;                 /* host order */
	uint32_t flowinfo;             /* IPv6 only */
	uint32_t scope_id;             /* IPv6 only */
};

/* TCP_REPAIR state of an established connection. */
#define CR_TCP_OPT_SACK   (1u << 0)
#define CR_TCP_OPT_TS     (1u << 1)
#define CR_TCP_OPT_WSCALE (1u << 2)

/* The scalar part (what an image stores besides the queues). */
struct cr_tcp_params {
	uint32_t snd_seq;              /* write_seq: after the last byte queued */
	uint32_t rcv_seq;              /* rcv_nxt: after the last byte received */
	uint32_t opts;                 /* CR_TCP_OPT_* negotiated */
	uint32_t mss;                  /* mss clamp */
	uint32_t snd_wscale, rcv_wscale;
	uint32_t timestamp;            /* TCP_TIMESTAMP (tsval clock) */
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	uint32_t unsent_len;           /* tail of the send queue never sent */
	uint32_t fin;                  /* CR_TCP_FIN_*: a closing connection */
};

/* A connection in a closing state (CLOSE_WAIT, FIN_WAIT1/2, LAST_ACK,
 * CLOSING) is carried as an established one whose FIN (sent, received)
 * is left out of snd_seq/rcv_seq; the restore shuts it down again. */
#define CR_TCP_FIN_SENT 1u             /* our FIN is queued (shutdown(SHUT_WR)) */
#define CR_TCP_FIN_RCVD 2u             /* the peer's FIN was received */

struct cr_tcp_conn {
	struct cr_tcp_params p;
	uint32_t outq_len;             /* send queue: sent-unacked + unsent */
	uint32_t inq_len;              /* receive queue, not read by the app */
	uint8_t *outq;                 /* outq_len bytes */
	uint8_t *inq;                  /* inq_len bytes */
};

/* Socket options; restored only when they differ from a new socket's. */
struct cr_inet_opts {
	uint32_t reuseaddr, reuseport, keepalive, v6only, broadcast;
	uint32_t rcvbuf, sndbuf;       /* getsockopt values (twice what was set) */
	uint32_t linger_on, linger_secs;
	uint64_t rcvtimeo_us, sndtimeo_us;
	uint32_t nodelay, cork, keepidle, keepintvl, keepcnt;   /* TCP only */
	uint32_t defer_accept, fastopen;                        /* TCP only */
	/* image v7: what servers set on listening and UDP sockets */
	uint32_t pktinfo, recvttl, recvtos, recverr, origdstaddr;    /* IP_RECV* 0/1 */
	uint32_t tos, ttl, mtu_discover;                            /* IP_TOS, IP_TTL, ... */
	uint32_t freebind, transparent;                             /* IP_* 0/1 */
	uint32_t v6_recvpktinfo, v6_recvhoplimit, v6_recvtclass;    /* IPv6 only, 0/1 */
	uint32_t v6_recverr;                                        /* IPv6 only, 0/1 */
	uint32_t v6_tclass, v6_hops, v6_mtu_discover;               /* IPv6 only */
	uint32_t timestamp, timestampns;                            /* SO_TIMESTAMP(NS) 0/1 */
	uint32_t priority, mark;                                    /* SO_PRIORITY, SO_MARK */
};

struct cr_inet {
	uint32_t family;               /* AF_INET or AF_INET6 */
	uint32_t type;                 /* SOCK_STREAM or SOCK_DGRAM */
	uint32_t state;                /* enum cr_inet_state */
	uint32_t backlog;              /* TCP_LISTEN: listen(2) backlog */
	struct cr_inet_addr local, peer;
	struct cr_inet_opts opts;
	char bound_dev[16];            /* SO_BINDTODEVICE: the interface's name, "" none */
	struct cr_tcp_conn tcp;        /* TCP_ESTABLISHED only */
	const uint8_t *mcast;          /* UDP: its multicast state (inet_mcast.c), */
	uint32_t mcast_len;            /* 0: none; not owned */
};

/* Read the state of socket fd (a duplicate of the app's).  An established
 * TCP socket is left in repair mode.  Errors name the socket. */
int inet_dump(int fd, struct cr_inet *sk);
/* Undo what inet_dump did to fd (repair mode off), for a failed dump or a
 * tree left running.  Never fails (a problem is ignored: nothing to do). */
void inet_dump_undo(int fd, const struct cr_inet *sk);
/* Build a new socket in this process from sk; *fd is it (close-on-exec).
 * An established TCP socket is left in repair mode (silent): call
 * inet_finish once every socket of the tree exists.  trial: a trial
 * restore's (cr_verify), in a namespace without the app's addresses. */
int inet_open(const struct cr_inet *sk, int trial, int *fd);
/* Bring a socket inet_open made to life (TCP: repair off, unsent data out,
 * the remaining options); nothing to do for other kinds. */
int inet_finish(int fd, const struct cr_inet *sk);
/* Whether sk is one that listener custody keeps (listening TCP, an
 * established TCP connection, or UDP that is bound and not connected). */
int inet_custody_kind(const struct cr_inet *sk);
/* Check a socket read from an image; err_set names the problem. */
int inet_validate(const struct cr_inet *sk);
/* Free the queues. */
void inet_free(struct cr_inet *sk);
/* inet_mcast.c: a UDP socket's multicast memberships (with their source
 * filters) and IP(V6)_MULTICAST_* options as one byte string.  Dump: *out
 * (malloc'd) and *len, 0 if the socket has nothing a new one lacks; the
 * calling thread must be in the socket's network namespace. */
int mcast_dump(int fd, int family, uint8_t **out, uint32_t *len);
int mcast_check(int family, const uint8_t *p, uint32_t len);
/* Join the memberships and set the options on fd, a new socket. */
int mcast_restore(int fd, int family, const uint8_t *p, uint32_t len);

/* "tcp4 listen 0.0.0.0:80" style description into buf. */
const char *inet_describe(const struct cr_inet *sk, char *buf, size_t len);

#endif
