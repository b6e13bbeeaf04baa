#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The loader's life cycle, checked by traffic and by what the kernel holds:
# load and attach are idempotent, attaching in another mode switches, status
# -j reports it, unload removes everything but the state file, load refills
# the bindings from it, restore re-attaches the recorded interfaces, and with
# BPFPORT_NO_TCX=1 the tc mode uses legacy clsact filters, removing only its
# own on detach.
. "$(dirname "$0")/lib.sh"
e2e_init test_lifecycle

URL=http://$HOST_IP:80/

works() {
	local out
	out=$(http_get "$URL" 2>/dev/null) && [[ $out == "peer=$CLIENT_IP:"*" local=$CT_IP:8080" ]]
}
broken() { ! http_get "$URL" >/dev/null 2>&1; }

prog_ids() { bpl status -j 2>/dev/null | jq -c '[.programs[].id]'; }
# Every BPF link in the system that runs one of our programs, as "id:type".
our_links() {
	local ids
	ids=$(prog_ids)
	[ -n "$ids" ] || return 0
	bpftool -j link show | jq -c --argjson ids "$ids" \
		'[.[] | select(.prog_id as $p | $ids | index($p)) | "\(.id):\(.type)"] | sort'
}
xdp_mode() { # the XDP mode the kernel reports on ext0: none, native, generic
	in_ns "$HOST_NS" ip -j link show dev "$EXT_IF" | jq -r '.[0].xdp.mode // 0' |
		sed 's/^0$/none/; s/^1$/native/; s/^2$/generic/'
}
bindings_count() { bp list -j 2>/dev/null | jq length; }

test_load_twice() {
	local ids_before ids_after n_before why=
	ids_before=$(prog_ids)
	n_before=$(bindings_count)
	capture bpl load
	[ "$RC" -eq 0 ] || why+="second load exited $RC: $ERR; "
	ids_after=$(prog_ids)
	[ "$ids_before" = "$ids_after" ] || why+="program ids changed: $ids_before -> $ids_after; "
	[ "$(bindings_count)" = "$n_before" ] || why+="bindings changed; "
	if [ -z "$why" ]; then pass lifecycle_load_twice; else fail lifecycle_load_twice "$why"; fi
}

test_attach_twice() {
	local before after why=
	before=$(our_links)
	capture attach native
	[ "$RC" -eq 0 ] || why+="second attach exited $RC: $ERR; "
	after=$(our_links)
	[ "$before" = "$after" ] || why+="links changed: $before -> $after; "
	[ "$(attached_mode)" = native ] || why+="status mode $(attached_mode); "
	works || why+="traffic fails; "
	if [ -z "$why" ]; then pass lifecycle_attach_twice; else fail lifecycle_attach_twice "$why"; fi
}

# switch_to MODE KERNEL_XDP_MODE: attach in MODE over whatever is attached.
test_switch() {
	local mode=$1 want_xdp=$2 links why=
	capture attach "$mode"
	[ "$RC" -eq 0 ] || why+="attach --mode $mode exited $RC: $ERR; "
	[ "$(attached_mode)" = "$mode" ] || why+="status mode '$(attached_mode)'; "
	[ "$(xdp_mode)" = "$want_xdp" ] || why+="kernel XDP mode $(xdp_mode), want $want_xdp; "
	links=$(our_links)
	# One ingress and one egress link, nothing left over from the old mode.
	[ "$(jq length <<<"$links")" = 2 ] || why+="links to our programs: $links; "
	works || why+="traffic fails; "
	if [ -z "$why" ]; then pass "lifecycle_switch_to_$mode"; else fail "lifecycle_switch_to_$mode" "$why"; fi
}

test_status_json() {
	local st ifindex why=
	st=$(bplh status -j)
	ifindex=$(ip -n "$HOST_NS" -j link show dev "$EXT_IF" | jq '.[0].ifindex')
	jq -e '.loaded == true' <<<"$st" >/dev/null || why+="not loaded; "
	jq -e --arg p "$PIN_DIR" '.pin_dir == $p' <<<"$st" >/dev/null || why+="pin_dir; "
	jq -e '[.programs[] | select(.id > 0)] | length == 3' <<<"$st" >/dev/null ||
		why+="programs; "
	jq -e --arg i "$EXT_IF" --argjson x "$ifindex" \
		'.interfaces == [{"name": $i, "ifindex": $x, "mode": "tc"}]' <<<"$st" >/dev/null ||
		why+="interfaces $(jq -c .interfaces <<<"$st") (want $EXT_IF ifindex $ifindex mode tc); "
	jq -e '.maps[] | select(.name == "bp_bindings") | .entries == 1' <<<"$st" >/dev/null ||
		why+="bp_bindings entries; "
	if [ -z "$why" ]; then pass lifecycle_status_json; else fail lifecycle_status_json "$why: $st"; fi
}

test_unload() {
	local ids why=
	ids=$(prog_ids)
	capture bplh unload
	[ "$RC" -eq 0 ] || why+="unload exited $RC: $ERR; "
	[ -e "$PIN_DIR" ] && why+="pin dir left: $(find "$PIN_DIR" | tr '\n' ' '); "
	for id in $(jq '.[]' <<<"$ids"); do
		bpftool prog show id "$id" >/dev/null 2>&1 && why+="program $id still loaded; "
	done
	[ "$(xdp_mode)" = none ] || why+="XDP still on $EXT_IF; "
	grep -q 'binding .*host=0.0.0.0:80 ' "$BPFPORT_STATE" || why+="binding gone from state; "
	[ "$(bpl status -j | jq .loaded)" = false ] || why+="status says loaded; "
	broken || why+="still forwards; "
	if [ -z "$why" ]; then pass lifecycle_unload; else fail lifecycle_unload "$why"; fi
}

test_load_restores_bindings() {
	local why=
	capture bpl load
	[ "$RC" -eq 0 ] || why+="load exited $RC: $ERR; "
	[ "$(list_field 80 tcp container_port)" = 8080 ] || why+="binding not back: $(bp list -j); "
	capture attach tc
	[ "$RC" -eq 0 ] || why+="attach exited $RC: $ERR; "
	works || why+="traffic fails; "
	if [ -z "$why" ]; then pass lifecycle_load_restores_bindings; else
		fail lifecycle_load_restores_bindings "$why"; fi
}

test_restore() {
	local why=
	capture attach generic
	[ "$RC" -eq 0 ] || why+="attach generic exited $RC: $ERR; "
	capture bplh unload
	[ "$RC" -eq 0 ] || why+="unload exited $RC: $ERR; "
	broken || why+="still forwards after unload; "
	capture bplh restore
	[ "$RC" -eq 0 ] || why+="restore exited $RC: $ERR; "
	[ "$(attached_mode)" = generic ] || why+="status mode '$(attached_mode)', want generic; "
	[ "$(xdp_mode)" = generic ] || why+="kernel XDP mode $(xdp_mode); "
	works || why+="traffic fails after restore; "
	if [ -z "$why" ]; then pass lifecycle_restore; else fail lifecycle_restore "$why"; fi
}

# --- legacy tc (no TCX) ---

tc_filters() { in_ns "$HOST_NS" tc filter show dev "$EXT_IF" "$1"; }
# Two filters that are not ours, one on each side of our priority. This
# kernel has no matchall or gact, so they are plain u32 filters: one that
# never matches, before ours, and a catch-all after ours.
add_foreign_filters() {
	in_ns "$HOST_NS" tc filter add dev "$EXT_IF" ingress prio 1 protocol ip \
		u32 match ip dst 198.51.100.99/32 classid 1:1 &&
		in_ns "$HOST_NS" tc filter add dev "$EXT_IF" ingress prio 65000 protocol all \
			u32 match u32 0 0 classid 1:2
}
has_foreign_filters() {
	local f
	f=$(tc_filters ingress)
	grep -q 'pref 1 u32' <<<"$f" && grep -q 'pref 65000 u32' <<<"$f"
}

test_legacy_tc_attach() {
	local why=
	if [ -n "$(attached_mode)" ]; then
		capture detach
		[ "$RC" -eq 0 ] || why+="detach exited $RC: $ERR; "
	fi
	in_ns "$HOST_NS" tc qdisc add dev "$EXT_IF" clsact || why+="cannot add clsact; "
	add_foreign_filters || why+="cannot add the unrelated filters; "
	if [ -n "$why" ]; then
		fail lifecycle_legacy_tc_attach "setup: $why"
		return 1
	fi
	capture env BPFPORT_NO_TCX=1 "$BUILD/bpfport-loader" --netns "$HOST_NS" \
		attach "$EXT_IF" --mode tc
	[ "$RC" -eq 0 ] || why+="attach exited $RC: $ERR; "
	[ "$(attached_mode)" = tc ] || why+="status mode '$(attached_mode)'; "
	tc_filters ingress | grep -q 'bpf.*tc_ingress' ||
		why+="no bpf filter on ingress: $(tc_filters ingress); "
	tc_filters egress | grep -q 'bpf.*tc_egress' ||
		why+="no bpf filter on egress: $(tc_filters egress); "
	has_foreign_filters || why+="unrelated filters gone: $(tc_filters ingress); "
	[ "$(our_links)" = "[]" ] || why+="TCX links despite BPFPORT_NO_TCX: $(our_links); "
	works || why+="traffic fails; "
	if [ -z "$why" ]; then pass lifecycle_legacy_tc_attach; else fail lifecycle_legacy_tc_attach "$why"; fi
}

test_legacy_tc_detach() {
	local why=
	capture detach
	[ "$RC" -eq 0 ] || why+="detach exited $RC: $ERR; "
	tc_filters ingress | grep -q bpf && why+="bpf filter left on ingress; "
	tc_filters egress | grep -q bpf && why+="bpf filter left on egress; "
	has_foreign_filters || why+="unrelated filters removed: $(tc_filters ingress); "
	in_ns "$HOST_NS" tc qdisc show dev "$EXT_IF" | grep -q clsact || why+="clsact removed; "
	broken || why+="still forwards; "
	if [ -z "$why" ]; then pass lifecycle_legacy_tc_detach; else fail lifecycle_legacy_tc_detach "$why"; fi
}

# unload must find legacy filters too, and still leave the others alone.
test_legacy_tc_unload() {
	local why=
	capture env BPFPORT_NO_TCX=1 "$BUILD/bpfport-loader" --netns "$HOST_NS" \
		attach "$EXT_IF" --mode tc
	[ "$RC" -eq 0 ] || why+="attach exited $RC: $ERR; "
	works || why+="traffic fails before unload; "
	capture bplh unload
	[ "$RC" -eq 0 ] || why+="unload exited $RC: $ERR; "
	tc_filters ingress | grep -q bpf && why+="bpf filter left on ingress; "
	tc_filters egress | grep -q bpf && why+="bpf filter left on egress; "
	has_foreign_filters || why+="unrelated filters removed: $(tc_filters ingress); "
	[ -e "$PIN_DIR" ] && why+="pin dir left; "
	if [ -z "$why" ]; then pass lifecycle_legacy_tc_unload; else fail lifecycle_legacy_tc_unload "$why"; fi
}

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bp add '0.0.0.0:80 -> 198.51.100.8:8080/tcp'
[ "$RC" -eq 0 ] || die "bpfport add: $ERR"
capture attach native
[ "$RC" -eq 0 ] || die "attach native: $ERR"
works || die "no traffic through the published port after attach native"

test_load_twice
test_attach_twice
test_switch generic generic
test_switch tc none
test_status_json
test_unload
test_load_restores_bindings
test_restore
test_legacy_tc_attach && test_legacy_tc_detach && test_legacy_tc_unload
e2e_finish
