#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run every test tier and print one closing line: "N passed, N failed, N skipped".
#
# Each tier prints one line per test: "PASS name", "FAIL name: why" or
# "SKIP name: why". A tier that exits non-zero without reporting a FAIL
# counts as one failure of its own, so a crash is never silent.
#
#   tests/run.sh                 all tiers
#   tests/run.sh unit datapath   only those tiers (format, unit, unit-san, datapath, e2e, docker, fuzz)
#   TESTS=pattern tests/run.sh   only e2e scripts whose name matches
#   FUZZ_SECONDS=300 tests/run.sh fuzz   each libFuzzer target for 300 s (default 30)

set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOG=$(mktemp /tmp/bpfport-tests.XXXXXX)
trap 'rm -f "$LOG"' EXIT

passed=0 failed=0 skipped=0

run_tier() {
	local name=$1
	shift
	local out rc
	out=$(mktemp /tmp/bpfport-tier.XXXXXX)
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	local p f s
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	s=$(grep -c '^SKIP ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited with status $rc without reporting a failure"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	rm -f "$out"
}

tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(format unit unit-san datapath e2e docker fuzz)

for tier in "${tiers[@]}"; do
	echo "== $tier"
	case $tier in
	format) run_tier format tests/format-check.sh ;;
	unit) run_tier unit "$BUILD/test_unit" ;;
	unit-san)
		if [ -x build-san/test_unit ]; then
			run_tier unit-san env ASAN_OPTIONS=detect_leaks=1 build-san/test_unit
		else
			echo "SKIP unit-san: build-san/test_unit not built (make SAN=1)"
			skipped=$((skipped + 1))
		fi
		;;
	datapath)
		run_tier datapath "$BUILD/test_datapath"
		run_tier datapath-icmp "$BUILD/test_icmp"
		# Random and mutated packets through every program (tests/dpfuzz).
		run_tier datapath-fuzz "$BUILD/dpfuzz" -n 100000 -s 1
		;;
	e2e)
		for t in tests/e2e/test_*.sh; do
			case $t in *${TESTS:-}*) ;; *) continue ;; esac
			run_tier "$(basename "$t" .sh)" env BUILD="$BUILD" bash "$t"
		done
		;;
	docker)
		# A dockerd of its own publishing through bpfport-proxy (tests/docker).
		run_tier docker env BUILD="$BUILD" bash tests/docker/test_docker_proxy.sh
		;;
	fuzz)
		# Builds the targets into $BUILD/fuzz/ itself (make O=$BUILD), then runs each.
		run_tier fuzz env BUILD="$BUILD" FUZZ_SECONDS="${FUZZ_SECONDS:-30}" tests/fuzz/run.sh
		;;
	*) echo "unknown tier: $tier" >&2; exit 2 ;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
