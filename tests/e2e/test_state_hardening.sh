#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The state file can brick neither the tools nor the boot, and keeps its
# secrets. Input the reader could not read back is refused up front (one
# error line naming the limit, nothing changed); a damaged line is skipped
# with a warning naming it, by queries and by restore, which still attaches
# the recorded interfaces and restores every readable binding; commands that
# change the state refuse such a file, changing nothing, until `bpfport
# repair` sets the lines aside; the file is 0600 in a 0700 directory (fixed on
# the next write), closed to other users; symlinks are refused; restore waits
# for the state lock.
. "$(dirname "$0")/lib.sh"
e2e_init test_state_hardening

# A directory of its own, as /var/lib/bpfport; WORK opened (search only) so
# that a user other than root meets the state's own modes.
chmod 0711 "$WORK"
STATE_DIR=$WORK/lib/bpfport
export BPFPORT_STATE=$STATE_DIR/state

URL=http://$HOST_IP:80/
SECRET=hunter2-$RUN_ID

works() {
	local out
	out=$(http_get "$URL" 2>/dev/null) && [[ $out == "peer=$CLIENT_IP:"*" local=$CT_IP:8080" ]]
}
mode_of() { stat -c %a "$1" 2>/dev/null; }
snapshot() {
	bp list -j 2>/dev/null |
		jq -cS 'if type == "array" then map(del(.rx_packets, .rx_bytes, .tx_packets, .tx_bytes)) else . end'
	cat "$BPFPORT_STATE"
}
first_line() { head -n 1 <<<"$1"; }

# --- the writer refuses what the reader cannot read ---

test_env_too_long() {
	local before after why=
	before=$(snapshot)
	capture bp add --id big --ip "$CT2_IP" --env "BIG=$(head -c 70000 /dev/zero | tr '\0' v)"
	after=$(snapshot)
	[ "$RC" -eq 2 ] || why+="add --env of 70,000 bytes exited $RC (want 2); "
	[[ $(first_line "$ERR") == "Error: "*"70004 bytes"*"limit of 65535"* ]] ||
		why+="error does not name the limit: '$(first_line "$ERR")'; "
	[ "$before" = "$after" ] || why+="state or bindings changed; "
	capture bp port web
	[ "$RC" -eq 0 ] || why+="port web then exited $RC: $ERR; "
	if [ -z "$why" ]; then pass state_env_too_long; else fail state_env_too_long "$why"; fi
}

# 16,401 exposed ports, none consecutive: one word each in the container's record.
test_expose_too_many() {
	local before after p args=() why=
	for ((p = 1; p <= 32801; p += 2)); do args+=(--expose "$p"); done
	before=$(snapshot)
	capture bp add --id many --ip "$CT2_IP" "${args[@]}"
	after=$(snapshot)
	[ "$RC" -eq 1 ] || why+="add of 16,401 separate exposed ports exited $RC (want 1); "
	[[ $ERR == "Error: "*"words"*"limit of 16384"* ]] && [ "$(wc -l <<<"$ERR")" -eq 1 ] ||
		why+="error is not one line naming the limit: '$ERR'; "
	[ "$before" = "$after" ] || why+="state or bindings changed; "
	capture bp rm many
	[ "$RC" -eq 1 ] && [[ $ERR == *"No such container: many"* ]] ||
		why+="rm many: exit $RC, '$ERR'; "
	if [ -z "$why" ]; then pass state_expose_too_many; else fail state_expose_too_many "$why"; fi
}

# --- modes and other users ---

test_modes() {
	local why=
	[ "$(mode_of "$STATE_DIR")" = 700 ] || why+="state dir mode $(mode_of "$STATE_DIR"); "
	[ "$(mode_of "$BPFPORT_STATE")" = 600 ] || why+="state file mode $(mode_of "$BPFPORT_STATE"); "
	[ "$(mode_of "$BPFPORT_STATE.lock")" = 600 ] ||
		why+="lock file mode $(mode_of "$BPFPORT_STATE.lock"); "
	# As an older version left them: fixed by the next write.
	chmod 0755 "$STATE_DIR"
	chmod 0644 "$BPFPORT_STATE" "$BPFPORT_STATE.lock"
	capture bp config set port-range 49000-49900
	[ "$RC" -eq 0 ] || why+="config set exited $RC: $ERR; "
	[ "$(mode_of "$STATE_DIR")" = 700 ] && [ "$(mode_of "$BPFPORT_STATE")" = 600 ] &&
		[ "$(mode_of "$BPFPORT_STATE.lock")" = 600 ] ||
		why+="not fixed by a write: dir $(mode_of "$STATE_DIR"), file $(mode_of "$BPFPORT_STATE"), lock $(mode_of "$BPFPORT_STATE.lock"); "
	if [ -z "$why" ]; then pass state_modes; else fail state_modes "$why"; fi
}

test_not_root() {
	local cmd why=
	for cmd in "env web" "inspect web" "port web"; do
		# shellcheck disable=SC2086
		capture setpriv --reuid=65534 --regid=65534 --clear-groups "$BUILD/bpfport" $cmd
		[ "$RC" -eq 1 ] || why+="$cmd as uid 65534 exited $RC (want 1); "
		[[ $ERR == "Error: "*"needs root"* ]] && [ "$(wc -l <<<"$ERR")" -eq 1 ] ||
			why+="$cmd: not one line saying it needs root: '$ERR'; "
		[[ $OUT == *"$SECRET"* ]] && why+="$cmd printed the secret; "
	done
	capture bp env web
	[[ $OUT == *"WEB_ENV_SECRET=$SECRET"* ]] || why+="env web as root: '$OUT' $ERR; "
	if [ -z "$why" ]; then pass state_not_root; else fail state_not_root "$why"; fi
}

# --- files that are not what they seem ---

test_symlinks() {
	local real=$STATE_DIR/real before why=
	mv "$BPFPORT_STATE" "$real" && ln -s "$real" "$BPFPORT_STATE" || why+="setup; "
	before=$(cat "$real")
	capture bp port web
	[ "$RC" -eq 1 ] && [[ $ERR == "Error: "*"symbolic link"* ]] ||
		why+="port through a symlinked state: exit $RC, '$ERR'; "
	capture bp config set port-range 49000-49901
	[ "$RC" -eq 1 ] && [[ $ERR == "Error: "*"symbolic link"* ]] ||
		why+="config set through a symlinked state: exit $RC, '$ERR'; "
	[ "$(cat "$real")" = "$before" ] || why+="the link's target changed; "
	rm -f "$BPFPORT_STATE" && mv "$real" "$BPFPORT_STATE"
	# The lock, at a known name: never followed, never created through.
	rm -f "$BPFPORT_STATE.lock" && ln -s "$WORK/victim" "$BPFPORT_STATE.lock"
	capture bp config set port-range 49000-49901
	[ "$RC" -eq 1 ] && [[ $ERR == "Error: "*"lock file"*"symbolic link"* ]] ||
		why+="config set with a symlinked lock: exit $RC, '$ERR'; "
	[ -e "$WORK/victim" ] && why+="the lock's symlink target was created; "
	rm -f "$BPFPORT_STATE.lock"
	if [ -z "$why" ]; then pass state_symlinks; else fail state_symlinks "$why"; fi
}

# --- damaged lines ---

damage() {
	printf '%s\n' \
		"binding id=web proto=tcp host=0.0.0.0:81 container=$CT_IP:8080 slot=banana" \
		"frobnicate all=yes" >>"$BPFPORT_STATE"
	DAMAGED1=$(($(wc -l <"$BPFPORT_STATE") - 1))
	DAMAGED2=$((DAMAGED1 + 1))
}

test_damaged_readers() {
	local why=
	capture bp port web
	[ "$RC" -eq 0 ] || why+="port web exited $RC: $ERR; "
	[ "$OUT" = "8080/tcp -> 0.0.0.0:80" ] || why+="port web printed '$OUT'; "
	[[ $ERR == *"line $DAMAGED1: skipped: binding with an invalid slot"* ]] &&
		[[ $ERR == *"line $DAMAGED2: skipped: unknown record \"frobnicate\""* ]] ||
		why+="warnings do not name the lines ($DAMAGED1, $DAMAGED2): '$ERR'; "
	if [ -z "$why" ]; then pass state_damaged_readers; else fail state_damaged_readers "$why"; fi
}

# Saving would drop the damaged lines: refused, and nothing changes.
test_damaged_writers() {
	local before after why=
	before=$(snapshot)
	capture bp add --id web -p 82:8080
	[ "$RC" -eq 1 ] || why+="add exited $RC (want 1); "
	[[ $(tail -n 1 <<<"$ERR") == "Error: "*"2 damaged lines"*"bpfport repair"* ]] ||
		why+="add: last line '$(tail -n 1 <<<"$ERR")'; "
	capture bplh detach "$EXT_IF"
	[ "$RC" -eq 1 ] || why+="detach exited $RC (want 1); "
	[ "$(attached_mode)" = tc ] || why+="detach was refused but detached anyway; "
	after=$(snapshot)
	[ "$before" = "$after" ] || why+="state or bindings changed; "
	works || why+="traffic fails; "
	if [ -z "$why" ]; then pass state_damaged_writers; else fail state_damaged_writers "$why"; fi
}

# At boot: every recorded interface attached, every readable binding back,
# the skipped lines named, exit 1.
test_damaged_restore() {
	local why=
	capture bplh unload
	[ "$RC" -eq 0 ] || why+="unload exited $RC: $ERR; "
	capture bplh restore
	[ "$RC" -eq 1 ] || why+="restore exited $RC (want 1: lines were skipped); "
	[[ $ERR == *"line $DAMAGED1: skipped"* ]] && [[ $ERR == *"line $DAMAGED2: skipped"* ]] &&
		[[ $ERR == *"2 damaged lines skipped"* ]] || why+="restore does not say what it skipped: '$ERR'; "
	[ "$(attached_mode)" = tc ] || why+="$EXT_IF not attached (mode '$(attached_mode)'); "
	[ "$(bp list -j 2>/dev/null | jq -c '[.[].host_port]')" = "[80]" ] ||
		why+="bindings: $(bp list -j 2>/dev/null); "
	works || why+="traffic fails after restore; "
	if [ -z "$why" ]; then pass state_damaged_restore; else fail state_damaged_restore "$why"; fi
}

test_repair() {
	local why=
	capture bp repair
	[ "$RC" -eq 0 ] || why+="repair exited $RC: $ERR; "
	grep -qx "binding id=web proto=tcp host=0.0.0.0:81 container=$CT_IP:8080 slot=banana" \
		"$BPFPORT_STATE.damaged" && grep -qx "frobnicate all=yes" "$BPFPORT_STATE.damaged" ||
		why+="lines not set aside verbatim: $(cat "$BPFPORT_STATE.damaged" 2>&1); "
	[ "$(mode_of "$BPFPORT_STATE.damaged")" = 600 ] ||
		why+="STATE.damaged mode $(mode_of "$BPFPORT_STATE.damaged"); "
	capture bp port web
	[ "$RC" -eq 0 ] && [ -z "$ERR" ] || why+="port web after repair: exit $RC, '$ERR'; "
	capture bp add --id web -p 82:8080
	[ "$RC" -eq 0 ] || why+="add after repair exited $RC: $ERR; "
	works || why+="traffic fails; "
	if [ -z "$why" ]; then pass state_repair; else fail state_repair "$why"; fi
}

# restore (and load) read and replay the state under its lock: while another
# command holds it, restore waits (a waiter shows in /proc/locks).
lock_waited_on() {
	grep -Eq -- "-> FLOCK +ADVISORY +WRITE +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$1 " /proc/locks
}
test_restore_locks() {
	local ino rpid why=
	capture bplh unload
	[ "$RC" -eq 0 ] || why+="unload exited $RC: $ERR; "
	# shellcheck disable=SC2016 # expanded by the inner sh
	flock "$BPFPORT_STATE.lock" sh -c \
		'touch "$1/held"; while [ ! -e "$1/release" ]; do sleep 0.05; done' sh "$WORK" &
	PIDS+=($!)
	wait_until 10 test -e "$WORK/held" || why+="the lock holder did not start; "
	ino=$(stat -c %i "$BPFPORT_STATE.lock")
	bplh restore >"$WORK/restore.out" 2>"$WORK/restore.err" &
	rpid=$!
	PIDS+=("$rpid")
	wait_until 60 _restore_waits_or_ended "$ino" "$rpid"
	if ! kill -0 "$rpid" 2>/dev/null; then
		why+="restore ran to its end while another held the state lock; "
	elif ! lock_waited_on "$ino"; then
		why+="restore neither waited for the lock nor ended within 60 s; "
	fi
	touch "$WORK/release"
	wait "$rpid"
	RC=$?
	[ "$RC" -eq 0 ] || why+="restore exited $RC: $(cat "$WORK/restore.err"); "
	[ "$(attached_mode)" = tc ] || why+="$EXT_IF not attached; "
	works || why+="traffic fails after restore; "
	if [ -z "$why" ]; then pass state_restore_locks; else fail state_restore_locks "$why"; fi
}
_restore_waits_or_ended() { lock_waited_on "$1" || ! kill -0 "$2" 2>/dev/null; }

setup_topology --second-container || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bp add --id web --name web --ip "$CT_IP" -p 80:8080 --env "SECRET=$SECRET"
[ "$RC" -eq 0 ] || die "bpfport add: $ERR"
capture attach tc
[ "$RC" -eq 0 ] || die "attach tc: $ERR"
works || die "no traffic through the published port"

test_env_too_long
test_expose_too_many
test_modes
test_not_root
test_symlinks
damage
test_damaged_readers
test_damaged_writers
test_damaged_restore
test_repair
test_restore_locks
e2e_finish
