#!/usr/bin/env bash
# Builds lamina with AddressSanitizer + UndefinedBehaviorSanitizer (core and bindings) into a
# venv of its own and runs the kernel, binding and bad-input tests under it. Any sanitizer
# report aborts the process, so a report fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:?usage: sanitize.sh VENV_DIR}"
PY=${PYTHON:-python3}
"$PY" -m venv "$venv"
. "$venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q \
  -Ccmake.define.LAMINA_SANITIZE=ON -Ccmake.build-type=RelWithDebInfo \
  -Cbuild-dir=build/sanitize '.[test]'
asan=$(g++ -print-file-name=libasan.so)
ubsan=$(g++ -print-file-name=libubsan.so)
export LD_PRELOAD="$asan:$ubsan"
# Python itself is not instrumented: leak reports would be CPython's, not ours.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
# Kernel tests, binding checks and bad-input tests, and the fork and concurrency tests (the
# thread pool across fork(), at interpreter exit and under several calling threads; their
# subprocesses inherit LD_PRELOAD and the options, so they run sanitized too); benchmarks
# and slow end-to-end runs are left to the normal job (they add time, not coverage).
targets=$(ls tests/test_*.py | grep -E 'gemm|activation|loss|dropout|optim|network|bad_input|data|runtime|package|hypothesis|fork|concurrency|eager' || true)
# Deselected here (it runs in the normal job): a daemon thread inside the core at interpreter
# exit. CPython ends such a thread with a forced unwind (pthread_exit), and ASan's
# __asan_handle_no_return then reports a stack-buffer-overflow inside its own sigaltstack
# interceptor (a sanitizer false positive on forced unwinds, seen in 1 of 2 CI runs).
# shellcheck disable=SC2086
python -m pytest -q -p no:cacheprovider -m "not slow" $targets \
  --deselect "tests/test_fork.py::test_daemon_thread_inside_the_core_at_exit"
