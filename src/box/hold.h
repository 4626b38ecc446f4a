/*
 * hold.h - the first-packet hold of asleep boxes (see hold.c).
 *
 * A packet for an asleep box's address, IPv4 or IPv6 (a connection's SYN, a datagram:
 * after the published port's DNAT, from the host itself or forwarded) is
 * queued in the kernel (the xtables NFQUEUE target, used from picocenter's
 * own nftables table) and its reader, the owner of a struct box_hold, is
 * told the address.  The reader wakes the box and restores its app, then
 * releases the held packets, which go on to the app as if nothing
 * happened: no SYN retransmit, no DNS retry.
 *
 * One queue per reader (a daemon), its number kept by the caller across
 * restarts: the queue's rule and its set of held addresses stay in the
 * kernel when the reader goes, and packets for a held address are dropped
 * while nobody reads (the client's retransmit is held by the next reader).
 *
 * Functions return 0 or -1 with err_* set.
 */
#ifndef PC_BOX_HOLD_H
#define PC_BOX_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "box/box.h"

/* Queue numbers hold_pick_queue() tries. */
#define HOLD_QUEUE_FIRST 31000
#define HOLD_QUEUE_LAST 31999

struct hold_packet {
	uint32_t id;              /* the kernel's packet id in the queue */
	uint32_t addr;            /* its box's IPv4 address, network order:
	                             the destination, or the last 32 bits of
	                             an IPv6 destination */
	uint32_t saddr;           /* its IPv4 source, network order */
	uint8_t saddr6[16];       /* its IPv6 source (v6) */
	int v6;
	uint8_t proto;            /* IPPROTO_* */
	uint16_t sport, dport;    /* TCP or UDP ports (host order), else 0 */
};

struct box_hold {
	int queue;
	struct mnl_socket *nl;    /* bound to the queue */
	struct hold_packet *held; /* packets waiting for a verdict */
	int nr_held, cap_held;
};

/* Bind queue (made ready in picocenter's table: its set hold_Q, chain and
 * rule, made or remade); fails if another reader has it. */
int hold_open(struct box_hold *h, int queue);
/* Open the first queue in HOLD_QUEUE_FIRST..LAST that no reader has and
 * that no other reader left rules for. */
int hold_open_free(struct box_hold *h);
/* The fd to poll for packets. */
int hold_fd(const struct box_hold *h);
/* Read what the kernel queued (without blocking): the destination of each
 * new packet goes into addrs (up to max, each address once); the number
 * of addresses, or -1. */
int hold_read(struct box_hold *h, uint32_t *addrs, int max);
/* Let every held packet for addr go on (NF_ACCEPT), or drop them all
 * (accept 0: the app could not be revived; the clients retransmit). */
int hold_release(struct box_hold *h, uint32_t addr, int accept);
/* The first packet held for addr in words ("tcp 10.0.0.1:4242 -> :80"),
 * for the log; "" if none. */
void hold_describe(const struct box_hold *h, uint32_t addr, char *buf, size_t len);
/* The number of packets held for addr. */
int hold_count(const struct box_hold *h, uint32_t addr);
/* Stop reading.  Held packets are dropped by the kernel; the rule and the
 * armed addresses stay for the next reader of the same queue. */
void hold_close(struct box_hold *h);

/* Hold (arm) or stop holding (disarm) the packets for addr (network
 * order: an asleep box's IPv4 address; its IPv6 address, made from it,
 * too) in queue's sets.  Disarming an address
 * that is not armed is fine. */
int hold_arm(int queue, uint32_t addr);
int hold_disarm(int queue, uint32_t addr);
/* Remove queue's rule and set (nothing is held for it any more). */
int hold_remove(int queue);

#endif
