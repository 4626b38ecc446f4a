#!/bin/bash
# t-dnsmasq-wildcard.sh - t-dnsmasq.sh with dnsmasq in its default way of
# listening: wildcard UDP sockets that learn each query's destination from
# IP_PKTINFO / IPV6_RECVPKTINFO (carried by the image since v7), no
# bind-interfaces.
D_DNSMASQ=wildcard . "$(dirname "$0")/t-dnsmasq.sh"
