#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The demo (`make demo`): publish a container port between network
# namespaces and send real traffic through it. Uses the end-to-end test
# topology (tests/e2e/lib.sh) and removes everything at exit.
. "$(dirname "$0")/e2e/lib.sh"
e2e_init demo

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# Show a command as a user would type it (quoting words with spaces), then run it.
run() {
	local w line='$'
	for w in "$@"; do
		case $w in *' '*) line+=" '$w'" ;; *) line+=" $w" ;; esac
	done
	echo "$line"
	"$@"
}
bpfport() { "$BUILD/bpfport" "$@"; }
bpfport-loader() { "$BUILD/bpfport-loader" "$@"; }

say "1. Three namespaces: client $CLIENT_IP, host $HOST_IP (ext0) with bridge br0, container $CT_IP"
setup_topology || die "topology setup failed"
start_tcp_server "$CT_NS" 8080 || die "server did not start"
echo "a web server listens in the container on $CT_IP:8080"

say "2. Load the datapath and attach it to the host's external interface"
run bpfport-loader load || die "load failed"
run bpfport-loader --netns "$HOST_NS" attach ext0 || die "attach failed"
run bpfport-loader --netns "$HOST_NS" status

say "3. Publish 0.0.0.0:80 -> $CT_IP:8080/tcp (as docker run -p 80:8080)"
run bpfport add --id web --name web "0.0.0.0:80 -> $CT_IP:8080/tcp" || die "add failed"
run bpfport port web

say "4. A real HTTP request from the client namespace to the host's port 80"
printf '$ curl http://%s/\n' "$HOST_IP"
reply=$(http_get "http://$HOST_IP/") || die "the request did not cross the published port"
echo "$reply"
case $reply in
"peer=$CLIENT_IP:"*) echo "-> the container saw the client's own address ($CLIENT_IP), not the host's" ;;
*) die "unexpected reply: $reply" ;;
esac

say "5. Counters of the binding"
run bpfport list

say "6. Remove the binding: the port stops answering"
run bpfport rm web
if http_get "http://$HOST_IP/" >/dev/null 2>&1; then
	die "port 80 still answers after rm"
fi
echo "curl http://$HOST_IP/ now fails, as it should"

say "Demo complete; cleaning up namespaces and pins."
