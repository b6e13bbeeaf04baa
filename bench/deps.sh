#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make bench-deps`: the Debian packages the benchmarks use, and docker-proxy
# taken out of docker.io's package (nothing of Docker is installed or run
# besides that one binary, in the benchmark's own namespace).
#
# A package that cannot be had is reported, not fatal: bench.sh checks for
# each tool and skips the peer or workload that needs a missing one.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
PROXY=$BUILD/bench/docker-proxy

# tool:package
WANT=(wrk:wrk iperf3:iperf3 sockperf:sockperf nginx:nginx-light gnuplot:gnuplot-nox
	ethtool:ethtool conntrack:conntrack)

if [ "$(id -u)" -ne 0 ]; then
	echo "bench-deps: needs root (apt-get)" >&2
	exit 1
fi

missing=()
for w in "${WANT[@]}"; do
	command -v "${w%%:*}" >/dev/null || missing+=("${w#*:}")
done
[ -x "$PROXY" ] || need_proxy=1

if [ ${#missing[@]} -eq 0 ] && [ -z "${need_proxy:-}" ]; then
	echo "bench-deps: everything is installed"
	exit 0
fi

apt-get update -qq || echo "bench-deps: apt-get update failed; trying with the lists we have" >&2

if [ ${#missing[@]} -gt 0 ]; then
	# Debian starts nginx on install unless policy-rc.d forbids it; it would
	# listen in the root namespace. Forbid it for the duration, if no policy
	# is in place already.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d &&
			policy=1
	fi
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null; then
		# One at a time, so that one unavailable package does not stop the others.
		for p in "${missing[@]}"; do
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				"$p" >/dev/null 2>&1 ||
				echo "bench-deps: package $p is not available; the benchmarks that need it will be skipped" >&2
		done
	fi
	[ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d
fi

if [ -n "${need_proxy:-}" ]; then
	tmp=$(mktemp -d /tmp/bpfport-bench-deps.XXXXXX) || exit 1
	chmod 755 "$tmp" # apt's _apt user downloads into it
	mkdir -p "$(dirname "$PROXY")"
	if (cd "$tmp" && apt-get download -qq docker.io >/dev/null 2>&1) &&
		dpkg-deb -x "$tmp"/docker.io_*.deb "$tmp/x" &&
		[ -x "$tmp/x/usr/sbin/docker-proxy" ]; then
		cp "$tmp/x/usr/sbin/docker-proxy" "$PROXY.tmp" && mv "$PROXY.tmp" "$PROXY"
		dpkg-deb -f "$tmp"/docker.io_*.deb Version >"$PROXY.version"
		echo "bench-deps: $PROXY (docker.io $(cat "$PROXY.version"))"
	else
		echo "bench-deps: could not get docker-proxy from docker.io's package; that peer will be skipped" >&2
	fi
	case $tmp in /tmp/bpfport-bench-deps.?*) rm -rf "$tmp" ;; esac
fi
exit 0
