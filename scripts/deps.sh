#!/bin/sh
# deps.sh - install the Debian packages picocenter builds and tests with.
# Idempotent and quick when everything is present.
set -e
PKGS="gcc make clang libclang-rt-14-dev pkg-config libcurl4-openssl-dev libssl-dev
libzstd-dev libxxhash-dev iproute2 procps curl python3 xxd zstd
libmnl-dev libnftables-dev libnftnl-dev libseccomp-dev libsqlite3-dev libmicrohttpd-dev libjansson-dev
umoci libldns-dev libpq-dev"
# Packages the tests add (servers driven by their own clients) are listed
# in tests/*/packages, one per line.
for f in "$(dirname "$0")"/../tests/*/packages; do
	[ -f "$f" ] && PKGS="$PKGS $(grep -v '^#' "$f" | tr '\n' ' ')"
done
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix (tests/daemons) asks how it is used: a local-only mail system.
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
