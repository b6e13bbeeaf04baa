#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Control-plane hardening, checked by exit status, messages, pins and traffic:
#  - destructive commands (unload, detach; rm, del, sync, ct flush) run only
#    when spelled out: a prefix is a usage error (exit 2) naming the command,
#    and nothing changes; other commands keep prefix matching;
#  - a pin directory that is a symlink, has a symlinked subdirectory, belongs
#    to another user or is writable by group or others is refused by the
#    loader and the CLI (exit 1, nothing pinned or removed through it); the
#    one load creates is 0700;
#  - `bpfport sync` reconciles the maps with the state file: an orphan binding
#    (an add killed before its state write), one on a slot a later add reused,
#    a binding the map lacks (a del killed after the map step), port and
#    endpoint counts, the published bitmap and allow-list prefixes; one line
#    per fix, "nothing to fix" otherwise, a JSON list with -j, --dry-run
#    changing nothing.
. "$(dirname "$0")/lib.sh"
e2e_init test_cli_hardening

CT_SPEC=$CT_IP:8080/tcp
MAPS=$PIN_DIR/maps

answers() { # PORT: the container answers on HOST_IP:PORT
	local out
	out=$(http_get "http://$HOST_IP:$1/" 2>/dev/null) && [[ $out == "peer=$CLIENT_IP:"* ]]
}
no_answer() { ! http_get "http://$HOST_IP:$1/" >/dev/null 2>&1; }
loaded() { [ "$(bpl status -j 2>/dev/null | jq -r .loaded)" = true ]; }
listed() { # PORT
	bp list -j | jq -e --argjson p "$1" 'any(.[]; .host_port == $p)' >/dev/null
}

# map_update MAP KEY_BYTES VALUE_BYTES: write an entry behind bpfport's back
# (bytes as bpftool takes them: hex words after "hex").
map_update() {
	# shellcheck disable=SC2086 # the bytes are words
	bpftool map update pinned "$MAPS/$1" key hex $2 value hex $3
}
map_has() { # MAP KEY_BYTES
	# shellcheck disable=SC2086
	bpftool map lookup pinned "$MAPS/$1" key hex $2 >/dev/null 2>&1
}
map_value() { # MAP KEY_BYTES: the value as a little-endian integer
	# shellcheck disable=SC2086
	bpftool -j map lookup pinned "$MAPS/$1" key hex $2 2>/dev/null |
		jq -r '.value | map(ltrimstr("0x")) | reverse | join("")' |
		python3 -c 'import sys; s = sys.stdin.read().strip(); print(int(s, 16) if s else "")'
}
le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
be16() { printf '%02x %02x' $(($1 >> 8 & 255)) $(($1 & 255)); }
# shellcheck disable=SC2086 # split on the dots
ip4() { local IFS=.; set -- $1; printf '%02x %02x %02x %02x' "$1" "$2" "$3" "$4"; }
ZERO12='00 00 00 00 00 00 00 00 00 00 00 00'
# Keys (bpf/bpfport.h): bp_ports {port be16, family, proto}; bp_backends
# {addr[16], port be16, family, proto}; bp_allow {prefixlen, slot, addr[16]}.
port_key() { echo "$(be16 "$1") 02 06"; }
backend_key() { echo "$(ip4 "$1") $ZERO12 $(be16 "$2") 02 06"; }
allow_key() { echo "$(le32 $((32 + $3))) $(le32 "$1") $(ip4 "$2") $ZERO12"; } # SLOT ADDR LEN
word_key() { le32 $(($1 / 64)); } # the bp_published word of an IPv4 TCP port
published() { # PORT: 1 or 0
	local w
	w=$(map_value bp_published "$(word_key "$1")")
	echo $((w >> ($1 % 64) & 1))
}
bind_key() { echo "00 00 00 00 $ZERO12 $(be16 "$1") 02 06"; } # 0.0.0.0:PORT/tcp
map_bytes() { # MAP KEY_BYTES: the value as hex bytes
	# shellcheck disable=SC2086
	bpftool -j map lookup pinned "$MAPS/$1" key hex $2 | jq -r '.value | map(ltrimstr("0x")) | join(" ")'
}
slot_of() { # PORT: the slot the state file gives the binding on 0.0.0.0:PORT/tcp
	sed -n "s/^binding .*proto=tcp host=0\.0\.0\.0:$1 .* slot=\([0-9]*\).*/\1/p" "$BPFPORT_STATE"
}

# --- destructive commands spelled out -------------------------------------------

# refused NAME WANT_COMMAND ARGS...: exit 2, the message, nothing else on stderr but usage.
refused() {
	local name=$1 want=$2
	shift 2
	capture "$@"
	if [ "$RC" -ne 2 ]; then
		fail "$name" "'${*: -2}' exited $RC (want 2): $ERR $OUT"
		return 1
	fi
	if [[ $ERR != "Error: '"*"' is ambiguous or abbreviates the destructive command '$want': spell it out"* ]]; then
		fail "$name" "stderr: '$ERR'"
		return 1
	fi
	return 0
}

test_loader_prefixes() {
	local w why=
	for w in u un unloa; do
		refused hardening_loader_unload_prefix unload bpl "$w" || return
		loaded || { fail hardening_loader_unload_prefix "'$w' unloaded the datapath"; return; }
	done
	pass hardening_loader_unload_prefix
	for w in d de detac; do
		refused hardening_loader_detach_prefix detach bplh "$w" "$EXT_IF" || return
		[ "$(attached_mode)" = tc ] ||
			{ fail hardening_loader_detach_prefix "'$w $EXT_IF' detached it"; return; }
	done
	answers 80 || why+="traffic stopped; "
	if [ -z "$why" ]; then pass hardening_loader_detach_prefix; else
		fail hardening_loader_detach_prefix "$why"; fi
	# Non-destructive commands keep prefix matching.
	capture bpl st -j
	if [ "$RC" -eq 0 ] && [ "$(jq -r .loaded <<<"$OUT")" = true ]; then
		pass hardening_loader_status_prefix
	else
		fail hardening_loader_status_prefix "'st -j' exited $RC: $ERR $OUT"
	fi
}

test_cli_prefixes() {
	local before why=
	before=$(bp list -j)
	refused hardening_cli_rm_prefix rm bp r web &&
		pass hardening_cli_rm_prefix
	refused hardening_cli_del_prefix del bp d "0.0.0.0:80 -> $CT_SPEC" &&
		refused hardening_cli_del_prefix del bp de "0.0.0.0:80 -> $CT_SPEC" &&
		pass hardening_cli_del_prefix
	refused hardening_cli_sync_prefix sync bp s && refused hardening_cli_sync_prefix sync bp syn &&
		pass hardening_cli_sync_prefix
	[ "$(bp list -j)" = "$before" ] || why+="bindings changed: $(bp list -j); "
	answers 80 || why+=":80 stopped answering; "
	# JSON errors keep their form.
	capture bp -j r web
	[ "$RC" -eq 2 ] && jq -e '.error | test("destructive command .rm.")' <<<"$OUT" >/dev/null ||
		why+="-j r web: rc $RC, '$OUT'; "
	# Prefixes of the others still work.
	capture bp l -j
	[ "$RC" -eq 0 ] && [ "$(jq length <<<"$OUT")" -ge 1 ] || why+="'l -j' exited $RC: $ERR; "
	capture bp p web
	[ "$RC" -eq 0 ] && [ "$OUT" = "8080/tcp -> 0.0.0.0:80" ] || why+="'p web': $RC '$OUT' $ERR; "
	if [ -z "$why" ]; then pass hardening_cli_nothing_changed; else
		fail hardening_cli_nothing_changed "$why"; fi
}

# ct flush is a subcommand, matched in full by ct itself.
test_ct_flush_prefix() {
	local n_before n_after
	http_get "http://$HOST_IP:80/" >/dev/null 2>&1
	n_before=$(bp ct -j | jq 'arrays | length')
	capture bp ct fl
	n_after=$(bp ct -j | jq 'arrays | length')
	if [ "$RC" -ne 2 ]; then
		fail hardening_ct_flush_prefix "'ct fl' exited $RC: $ERR"
	elif [ "${n_before:-0}" -eq 0 ] || [ "$n_after" != "$n_before" ]; then
		fail hardening_ct_flush_prefix "flows before $n_before, after $n_after"
	else
		pass hardening_ct_flush_prefix
	fi
}

# --- pin directory ownership --------------------------------------------------

test_created_mode() {
	local d why=
	for d in "$PIN_DIR" "$PIN_DIR/maps" "$PIN_DIR/progs" "$PIN_DIR/links" "$PIN_DIR/links/$EXT_IF"; do
		[ "$(stat -c %a "$d")" = 700 ] || why+="$d is $(stat -c %a "$d"); "
	done
	if [ -z "$why" ]; then pass hardening_pin_dir_0700; else fail hardening_pin_dir_0700 "$why"; fi
}

# refused_dir NAME DIR WHY_REGEX: load (with that pin dir) exits 1 with the
# message and pins nothing there.
refused_dir() {
	local name=$1 dir=$2 want=$3
	capture env BPFPORT_PIN_DIR="$dir" "$BUILD/bpfport-loader" load --cgroup none
	if [ "$RC" -ne 1 ]; then
		fail "$name" "load exited $RC (want 1): $ERR"
	elif ! [[ $ERR =~ ^Error:\ refusing\ pin\ dir\ $dir:\ $want ]]; then
		fail "$name" "stderr '$ERR'"
	elif [ -n "$(find -L "$dir" -mindepth 1 2>/dev/null)" ]; then
		fail "$name" "something was created in it: $(find -L "$dir" -mindepth 1 | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

test_foreign_pin_dirs() {
	mkdir "$PIN_DIR-foreign" && chown 65534:65534 "$PIN_DIR-foreign" && chmod 0700 "$PIN_DIR-foreign"
	refused_dir hardening_pin_dir_foreign_owner "$PIN_DIR-foreign" ".*owned by uid 65534"
	mkdir "$PIN_DIR-world" && chmod 1777 "$PIN_DIR-world"
	refused_dir hardening_pin_dir_world_writable "$PIN_DIR-world" ".*writable by others"
	mkdir "$PIN_DIR-group" && chmod 0770 "$PIN_DIR-group"
	refused_dir hardening_pin_dir_group_writable "$PIN_DIR-group" ".*writable by its group"
	mkdir -m 0700 "$PIN_DIR-target" && ln -s "$PIN_DIR-target" "$PIN_DIR-link"
	refused_dir hardening_pin_dir_symlink "$PIN_DIR-link" ".*symbolic link"
}

# unload empties maps/ and progs/: through a symlink it would delete whatever
# the link points at.
test_unload_symlinked_subdir() {
	local trap_dir=$PIN_DIR-trap why=
	mkdir -p "$WORK/victim" && echo keep >"$WORK/victim/precious"
	mkdir -m 0700 "$trap_dir" && ln -s "$WORK/victim" "$trap_dir/maps"
	capture env BPFPORT_PIN_DIR="$trap_dir" "$BUILD/bpfport-loader" unload
	[ "$RC" -eq 1 ] || why+="unload exited $RC (want 1): $ERR; "
	[[ $ERR == *"refusing pin dir $trap_dir: $trap_dir/maps is a symbolic link"* ]] ||
		why+="stderr '$ERR'; "
	[ -e "$WORK/victim/precious" ] || why+="the file behind the symlink was deleted; "
	if [ -z "$why" ]; then pass hardening_unload_symlinked_maps; else
		fail hardening_unload_symlinked_maps "$why"; fi
}

# Maps pinned in a directory someone else owns (as if they had planted them):
# neither the CLI nor the loader uses them.
test_cli_foreign_pins() {
	local dir=$PIN_DIR-planted why=
	capture env BPFPORT_PIN_DIR="$dir" "$BUILD/bpfport-loader" load --cgroup none
	if [ "$RC" -ne 0 ]; then
		fail hardening_cli_foreign_pins "setup: load into $dir exited $RC: $ERR"
		return
	fi
	chown 65534 "$dir"
	capture env BPFPORT_PIN_DIR="$dir" BPFPORT_STATE="$WORK/state-planted" "$BUILD/bpfport" \
		add "0.0.0.0:99 -> $CT_SPEC"
	[ "$RC" -eq 1 ] || why+="add exited $RC (want 1); "
	[[ $ERR == "Error: refusing pin dir $dir: $dir is owned by uid 65534"* ]] ||
		why+="add stderr '$ERR'; "
	[ -s "$WORK/state-planted" ] && why+="add wrote its state; "
	capture env BPFPORT_PIN_DIR="$dir" "$BUILD/bpfport" list
	[ "$RC" -eq 1 ] || why+="list exited $RC (want 1); "
	capture env BPFPORT_PIN_DIR="$dir" "$BUILD/bpfport-loader" status
	[ "$RC" -eq 1 ] || why+="loader status exited $RC (want 1); "
	chown 0 "$dir"
	env BPFPORT_PIN_DIR="$dir" "$BUILD/bpfport-loader" unload >/dev/null 2>&1
	if [ -z "$why" ]; then pass hardening_cli_foreign_pins; else
		fail hardening_cli_foreign_pins "$why"; fi
}

# --- sync -----------------------------------------------------------------------

test_sync_clean() {
	local why=
	capture bp sync
	[ "$RC" -eq 0 ] && [ "$OUT" = "nothing to fix" ] || why+="sync: rc $RC, '$OUT' $ERR; "
	capture bp sync -j
	[ "$RC" -eq 0 ] && [ "$(jq -c . <<<"$OUT")" = "[]" ] || why+="sync -j: rc $RC, '$OUT' $ERR; "
	if [ -z "$why" ]; then pass hardening_sync_nothing_to_fix; else
		fail hardening_sync_nothing_to_fix "$why"; fi
}

# An add killed after the map update, before the state write: the binding
# forwards, but neither list nor del can reach it. The next add takes the same
# slot. sync removes the orphan only; the other binding keeps working.
test_sync_orphan() {
	local slot why=
	capture bp add --id orphan "0.0.0.0:81 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="add :81 exited $RC: $ERR; "
	slot=$(slot_of 81)
	sed -i '/host=0\.0\.0\.0:81 /d; /^container id=orphan /d' "$BPFPORT_STATE"
	listed 81 && why+=":81 still listed after the state edit; "
	answers 81 || why+="the orphan does not forward (setup); "
	capture bp del "0.0.0.0:81 -> $CT_SPEC"
	[ "$RC" -eq 1 ] || why+="del of the orphan exited $RC (want 1: unknown to the state); "
	capture bp add --id reuse "0.0.0.0:82 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="add :82 exited $RC: $ERR; "
	[ "$(slot_of 82)" = "$slot" ] || why+="(setup) :82 took slot $(slot_of 82), not $slot; "
	if [ -n "$why" ]; then
		fail hardening_sync_orphan "setup: $why"
		return
	fi
	capture bp sync
	[ "$RC" -eq 0 ] || why+="sync exited $RC: $ERR; "
	[ "$OUT" = "removed orphan binding 0.0.0.0:81/tcp -> $CT_IP:8080 (slot $slot); 0.0.0.0:82/tcp -> $CT_IP:8080, on the same slot, lost its flows" ] ||
		why+="sync printed '$OUT'; "
	no_answer 81 || why+=":81 still answers; "
	answers 82 || why+=":82 (same slot) stopped answering; "
	answers 80 || why+=":80 stopped answering; "
	map_has bp_ports "$(port_key 81)" && why+="port 81 still counted; "
	[ "$(published 81)" = 0 ] || why+="port 81 still in bp_published; "
	[ "$(published 82)" = 1 ] || why+="port 82 left bp_published; "
	[ "$(map_value bp_backends "$(backend_key "$CT_IP" 8080)")" = 2 ] ||
		why+="backend count $(map_value bp_backends "$(backend_key "$CT_IP" 8080)"), want 2; "
	capture bp sync
	[ "$OUT" = "nothing to fix" ] || why+="second sync printed '$OUT'; "
	if [ -z "$why" ]; then pass hardening_sync_orphan; else fail hardening_sync_orphan "$why"; fi
}

# A del killed after the map step, before the state write: list shows the
# binding, nothing forwards. sync installs it again (the state is the truth).
test_sync_missing() {
	local slot why=
	capture bp add --id web "0.0.0.0:83 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="add :83 exited $RC: $ERR; "
	slot=$(slot_of 83)
	cp "$BPFPORT_STATE" "$WORK/state.before-del"
	capture bp del "0.0.0.0:83 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="del :83 exited $RC: $ERR; "
	cp "$WORK/state.before-del" "$BPFPORT_STATE"
	listed 83 || why+=":83 not listed after the state edit; "
	no_answer 83 || why+=":83 still answers after del; "
	if [ -n "$why" ]; then
		fail hardening_sync_missing "setup: $why"
		return
	fi
	capture bp sync
	[ "$RC" -eq 0 ] || why+="sync exited $RC: $ERR; "
	[ "$OUT" = "installed missing binding 0.0.0.0:83/tcp -> $CT_IP:8080 (slot $slot)" ] ||
		why+="sync printed '$OUT'; "
	answers 83 || why+=":83 does not answer after sync; "
	[ "$(map_value bp_ports "$(port_key 83)")" = 1 ] || why+="port 83 count not 1; "
	capture bp sync
	[ "$OUT" = "nothing to fix" ] || why+="second sync printed '$OUT'; "
	if [ -z "$why" ]; then pass hardening_sync_missing; else fail hardening_sync_missing "$why"; fi
}

# Counts, bits and prefixes changed behind bpfport's back.
corrupt() {
	local w
	map_update bp_ports "$(port_key 80)" "$(le32 5)" &&
		map_update bp_ports "$(port_key 90)" "$(le32 1)" &&
		map_update bp_backends "$(backend_key "$CT_IP" 8080)" "$(le32 7)" &&
		map_update bp_allow "$(allow_key 999 10.0.0.0 24)" 01 || return 1
	w=$(map_value bp_published "$(word_key 91)") # 80 and 91 share a word
	w=$(((w | 1 << (91 % 64)) & ~(1 << (80 % 64))))
	map_update bp_published "$(word_key 91)" "$(le32 $((w & 0xffffffff))) $(le32 $((w >> 32)))"
}

test_sync_counts() {
	local want why=
	corrupt || { fail hardening_sync_counts "setup: cannot write the maps"; return; }
	want="fixed port count of 80/tcp (IPv4): 5 -> 1
fixed port count of 90/tcp (IPv4): 1 -> none
set the published bit of 80/tcp (IPv4)
cleared the published bit of 91/tcp (IPv4)
fixed binding count of container endpoint $CT_IP:8080/tcp: 7 -> 3
removed allow-list prefix 10.0.0.0/24 of slot 999: no binding uses the slot"
	# --dry-run reports and changes nothing.
	capture bp sync --dry-run
	[ "$RC" -eq 0 ] || why+="sync --dry-run exited $RC: $ERR; "
	[ "$(sort <<<"$OUT")" = "$(sed 's/^fixed/would fix/; s/^cleared/would clear/; s/^set/would set/;
		s/^removed/would remove/' <<<"$want" | sort)" ] ||
		why+="dry run printed '$OUT'; "
	[ "$(map_value bp_ports "$(port_key 80)")" = 5 ] || why+="the dry run changed a count; "
	capture bp sync -j
	[ "$RC" -eq 0 ] || why+="sync -j exited $RC: $ERR; "
	[ "$(jq -r '.[].message' <<<"$OUT" 2>/dev/null | sort)" = "$(sort <<<"$want")" ] ||
		why+="sync -j printed '$OUT'; "
	[ "$(jq -c '[.[].kind] | sort' <<<"$OUT" 2>/dev/null)" = \
		'["allow_prefix","backend_count","port_count","port_count","published_bit","published_bit"]' ] ||
		why+="kinds: $(jq -c '[.[].kind]' <<<"$OUT" 2>/dev/null); "
	[ "$(map_value bp_ports "$(port_key 80)")" = 1 ] || why+="port 80 count not fixed; "
	map_has bp_ports "$(port_key 90)" && why+="port 90 still counted; "
	[ "$(published 91)" = 0 ] || why+="port 91 still published; "
	[ "$(published 80)" = 1 ] || why+="port 80 not published again; "
	map_has bp_allow "$(allow_key 999 10.0.0.0 24)" && why+="the stray prefix is left; "
	answers 80 || why+=":80 stopped answering; "
	capture bp sync
	[ "$OUT" = "nothing to fix" ] || why+="second sync printed '$OUT'; "
	if [ -z "$why" ]; then pass hardening_sync_counts; else fail hardening_sync_counts "$why"; fi
}

# An orphan (a binding in the maps the state lost, as an add killed before
# it saved once left) keeps its allow-list on its slot, which the next add
# reuses: add clears the slot's prefixes first, so that binding never admits
# the orphan's; sync then removes the orphan.
test_sync_orphan_allow() {
	local slot why=
	capture bp add --id orphan2 --allow 192.0.2.0/24 "0.0.0.0:84 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="add :84 exited $RC: $ERR; "
	slot=$(slot_of 84)
	sed -i '/host=0\.0\.0\.0:84 /d; /^container id=orphan2 /d' "$BPFPORT_STATE"
	capture bp add --id strict --allow 203.0.113.0/24 "0.0.0.0:85 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="add :85 exited $RC: $ERR; "
	[ "$(slot_of 85)" = "$slot" ] || why+=":85 took slot $(slot_of 85), not $slot; "
	if [ -n "$why" ]; then
		fail hardening_sync_orphan_allow "setup: $why"
		return
	fi
	# The client, outside 203.0.113.0/24, is refused: no prefix leaked to :85.
	no_answer 85 || why+=":85 admits 192.0.2.2 through the orphan's prefix; "
	map_has bp_allow "$(allow_key "$slot" 192.0.2.0 24)" && why+="the orphan's prefix is left; "
	capture bp sync
	[ "$RC" -eq 0 ] || why+="sync exited $RC: $ERR; "
	[ "$OUT" = "removed orphan binding 0.0.0.0:84/tcp -> $CT_IP:8080 (slot $slot); 0.0.0.0:85/tcp -> $CT_IP:8080, on the same slot, lost its flows
removed allow-list prefix 192.0.2.0/24 of slot $slot: not in the list of 0.0.0.0:85/tcp -> $CT_IP:8080" ] ||
		[ "$OUT" = "removed orphan binding 0.0.0.0:84/tcp -> $CT_IP:8080 (slot $slot); 0.0.0.0:85/tcp -> $CT_IP:8080, on the same slot, lost its flows" ] ||
		why+="sync printed '$OUT'; "
	no_answer 84 || why+=":84 still answers; "
	no_answer 85 || why+=":85 admits 192.0.2.2; "
	map_has bp_allow "$(allow_key "$slot" 203.0.113.0 24)" || why+=":85's own prefix is gone; "
	capture bp sync
	[ "$OUT" = "nothing to fix" ] || why+="second sync printed '$OUT'; "
	capture bp rm strict
	if [ -z "$why" ]; then pass hardening_sync_orphan_allow; else
		fail hardening_sync_orphan_allow "$why"; fi
}

# A map entry on a state binding's key that translates elsewhere (written by
# hand, or by another state file): replaced by the state's.
test_sync_replaced() {
	local key val slot why=
	key=$(bind_key 80)
	slot=$(slot_of 80)
	val=$(map_bytes bp_bindings "$key")
	# shellcheck disable=SC2086
	set -- $val
	shift 4
	map_update bp_bindings "$key" "$(ip4 198.51.100.9) $*" || why+="cannot write bp_bindings; "
	no_answer 80 || why+=":80 still answers with the entry pointing elsewhere; "
	if [ -n "$why" ]; then
		fail hardening_sync_replaced "setup: $why"
		return
	fi
	capture bp sync
	[ "$RC" -eq 0 ] || why+="sync exited $RC: $ERR; "
	[ "$OUT" = "replaced binding 0.0.0.0:80/tcp -> 198.51.100.9:8080 (slot $slot) with the state's 0.0.0.0:80/tcp -> $CT_IP:8080 (slot $slot)" ] ||
		why+="sync printed '$OUT'; "
	answers 80 || why+=":80 does not answer after sync; "
	if [ -z "$why" ]; then pass hardening_sync_replaced; else fail hardening_sync_replaced "$why"; fi
}

# The slot's generation moved past its binding's (a flush killed half way
# leaves the other order; this one is the harmful one): every new flow would
# be stale at once. sync gives the binding the slot's generation.
test_sync_generation() {
	local slot gen why=
	slot=$(slot_of 80)
	gen=$(map_value bp_slot_gen "$(le32 "$slot")")
	map_update bp_slot_gen "$(le32 "$slot")" "$(le32 $((gen + 1)))" ||
		{ fail hardening_sync_generation "setup: cannot write bp_slot_gen"; return; }
	capture bp sync
	[ "$RC" -eq 0 ] || why+="sync exited $RC: $ERR; "
	[ "$OUT" = "aligned the generations of binding 0.0.0.0:80/tcp -> $CT_IP:8080 ($gen) and slot $slot ($((gen + 1)))" ] ||
		why+="sync printed '$OUT'; "
	answers 80 || why+=":80 does not answer after sync; "
	capture bp sync
	[ "$OUT" = "nothing to fix" ] || why+="second sync printed '$OUT'; "
	if [ -z "$why" ]; then pass hardening_sync_generation; else fail hardening_sync_generation "$why"; fi
}

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
command -v bpftool >/dev/null || die "bpftool not installed"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture attach tc
[ "$RC" -eq 0 ] || die "attach: $ERR"
capture bp add --id web "0.0.0.0:80 -> $CT_SPEC"
[ "$RC" -eq 0 ] || die "bpfport add: $ERR"
answers 80 || die "no traffic through the published port"

test_loader_prefixes
# A tool that ran the destructive command anyway must not fail the rest too.
loaded || bpl load >/dev/null 2>&1
[ "$(attached_mode)" = tc ] || attach tc >/dev/null 2>&1
test_cli_prefixes
test_ct_flush_prefix
test_created_mode
test_foreign_pin_dirs
test_unload_symlinked_subdir
test_cli_foreign_pins
test_sync_clean
test_sync_orphan
test_sync_missing
test_sync_orphan_allow
test_sync_replaced
test_sync_generation
test_sync_counts
e2e_finish
