#!/usr/bin/env bash
# Run the tests of every C kernel (resampler, Bloch, SLR, time-optimal gradients, SAFE PNS, sequence
# rendering, the [BLOCKS] row parser) against an AddressSanitizer + UndefinedBehaviorSanitizer build of native/. Any out-of-bounds
# read or write, use after free or undefined behaviour aborts the run.
#
#   bash native/check_memory.sh [python]      (the python of a venv where wavegen[test] is installed;
#                                              its pytest script is used, which keeps . off sys.path)
#
# .ci/run calls this after the main test run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
py="${1:-python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# the package as an install lays it out (drivers/ becomes wavegen/drivers), with the sanitized kernels
mkdir -p "$work/wavegen/drivers"
cp -r "$root/wavegen/." "$work/wavegen/"
cp -r "$root/drivers/." "$work/wavegen/drivers/"
rm -f "$work"/wavegen/_native*.so "$work"/wavegen/_native.c
find "$work" -name __pycache__ -prune -exec rm -rf {} +
(cd "$root" && "$py" native/build_native.py --sanitize "$work" >/dev/null)

asan="$(gcc -print-file-name=libasan.so)"
ubsan="$(gcc -print-file-name=libubsan.so)"
echo "check_memory: sanitized kernels in $work/wavegen; running the kernels' tests under ASan/UBSan"
cd "$root"
# Python itself keeps memory until exit, so leak checking is off; every other ASan check is on.
# WAVEGEN_EXPECT_NATIVE_DIR makes tests/test_resample.py prove the sanitized build is the one loaded.
LD_PRELOAD="$asan $ubsan" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
PYTHONPATH="$work" WAVEGEN_REQUIRE_NATIVE=1 WAVEGEN_EXPECT_NATIVE_DIR="$work" \
  "$(dirname "$py")/pytest" -q -p no:cacheprovider -W error \
    tests/test_resample.py tests/test_resample_properties.py tests/test_resample_errors.py tests/test_dac.py \
    tests/test_bloch.py tests/test_slr.py tests/test_verse.py tests/test_mintime.py tests/test_safety_pns.py \
    tests/test_render.py tests/test_iir.py tests/test_dut.py tests/test_seq_scan.py
echo "check_memory: clean"
