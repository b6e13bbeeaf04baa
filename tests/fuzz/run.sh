#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run the libFuzzer targets (tests/fuzz/fuzz_NAME.c), each for FUZZ_SECONDS on
# a scratch copy of its seed corpus tests/fuzz/corpus/NAME (the checked-in
# corpus never grows), and print one line per target: "PASS fuzz_NAME" or
# "FAIL fuzz_NAME: why". A crash, leak, broken invariant, an input that runs
# longer than FUZZ_TIMEOUT seconds or a build failure is a failure; the input
# and the full log are kept in $BUILD/fuzz/findings/NAME/.
#
#   tests/fuzz/run.sh                     every target, 30 s each
#   FUZZ_SECONDS=600 tests/fuzz/run.sh state config
#   BUILD=build-fuzz tests/fuzz/run.sh    build into (and run from) build-fuzz/fuzz/
#
# Builds each target first (make O=$BUILD $BUILD/fuzz/fuzz_NAME) unless
# FUZZ_NO_BUILD=1, as `make fuzz` sets it, having built already. Exit status 1
# if any target failed.

set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		names+=("${n%.c}")
	done
fi

failed=0
fail() {
	echo "FAIL fuzz_$1: $2"
	failed=1
}

# Each target on its own, so that one that does not build fails alone.
build() {
	local n=$1 log why
	[ "${FUZZ_NO_BUILD:-0}" = 1 ] && return 0
	log=$(mktemp /tmp/bpfport-fuzz-build.XXXXXX)
	if make -s O="$BUILD" "$BUILD/fuzz/fuzz_$n" >"$log" 2>&1; then
		rm -f "$log"
		return 0
	fi
	why="make O=$BUILD $BUILD/fuzz/fuzz_$n failed"
	if ! "${CLANG:-clang}" -print-file-name="libclang_rt.fuzzer-$(uname -m).a" 2>/dev/null |
		grep -q /; then
		why="$why: clang has no libFuzzer runtime (libclang-rt-dev: make deps)"
	fi
	fail "$n" "$why"
	grep -E 'error|undefined' "$log" | head -n 5 | sed 's/^/    /'
	rm -f "$log"
	return 1
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for n in "${names[@]}"; do
	bin=$BUILD/fuzz/fuzz_$n
	seeds=tests/fuzz/corpus/$n
	build "$n" || continue
	if [ ! -x "$bin" ]; then
		fail "$n" "$bin not built (make O=$BUILD fuzz-build)"
		continue
	fi
	if [ ! -d "$seeds" ]; then
		fail "$n" "no seed corpus $seeds"
		continue
	fi
	tmp=$(mktemp -d /tmp/bpfport-fuzz.XXXXXX)
	mkdir -p "$tmp/corpus" "$tmp/artifacts"
	cp -r "$seeds/." "$tmp/corpus/"
	# The targets' own scratch files (state files), in memory if we can.
	scratch=$(mktemp -d /dev/shm/bpfport-fuzz.XXXXXX 2>/dev/null || mktemp -d "$tmp/scratch.XXXXXX")
	FUZZ_SCRATCH=$scratch "$bin" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$tmp/artifacts/" "$tmp/corpus" \
		>"$tmp/log" 2>&1
	rc=$?
	artifact=$(find "$tmp/artifacts" -type f | head -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
		echo "PASS fuzz_$n"
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$tmp/log")
		units=$(find "$tmp/corpus" -type f | wc -l)
		echo "    fuzz_$n: ${runs:-?} runs in ${FUZZ_SECONDS} s (${rate:-?}/s), corpus" \
			"$(find "$seeds" -type f | wc -l) seeds -> $units inputs"
	else
		keep=$BUILD/fuzz/findings/$n
		mkdir -p "$keep"
		cp "$tmp/log" "$keep/log"
		why=$(grep -m1 -E '^fuzz invariant: |^SUMMARY: |ERROR: libFuzzer: |runtime error: ' \
			"$tmp/log")
		[ -n "$why" ] || why="exited with status $rc"
		if [ -n "$artifact" ]; then
			cp "$artifact" "$keep/"
			fail "$n" "$why; input $keep/$(basename "$artifact"), log $keep/log"
			if [ "$(stat -c %s "$artifact")" -le 512 ]; then
				echo "    input: $(python3 -c 'import sys; print(repr(open(sys.argv[1], "rb").read()))' "$artifact")"
			fi
		else
			fail "$n" "$why; log $keep/log"
		fi
		# The frames of the report that point into the project.
		grep -E '^ +#[0-9]+ .* [^ ]*\b(lib|cli|tests/fuzz)/[^ /]+\.c:' "$tmp/log" | head -n 8 |
			sed -E 's/^ */    /; s/ 0x[0-9a-f]+ in / /; s#/[^ ]*/(lib|cli|tests)/#\1/#'
	fi
	rm -rf "$tmp" "$scratch"
done
exit $failed
