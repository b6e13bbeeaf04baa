#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Every C source follows .clang-format (the kernel's settings): one line per file.
cd "$(dirname "$0")/.." || exit 1
status=0
for f in $(git ls-files '*.c' '*.h' | grep -v '^vmlinux/'); do
	if out=$(clang-format --dry-run -Werror "$f" 2>&1); then
		echo "PASS format/$f"
	else
		echo "FAIL format/$f: not clang-formatted ($(grep -cE 'error:|warning:' <<<"$out") places): run make format"
		status=1
	fi
done
exit $status
