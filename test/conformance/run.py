#!/usr/bin/env python3
"""Run the public conformance suite (../shared/conformance, README there).

Each test NAME has NAME.fasm, NAME.out (exact stdout), and optionally
NAME.code (exit code, else 0), NAME.err (a phrase stderr must contain),
NAME.args (one argument per line) and NAME.in (stdin bytes).

Every test runs once per execution mode given with --mode (repeatable):
a `fusevm --jit=MODE` flag, `hot` (`--jit=auto --jit-threshold=1`: every
function and loop compiled at once), `fbc` (compile with fusevmc to .fbc first, then
run the binary), `fuse` (the same through `fusevmc --fuse`), `aot` (an
executable from `fusevmc --emit=exe`, run with the test's arguments) or
`warm` (`hot` with a code cache, compiling on the interpreter's thread:
run twice, cold then warm; both must pass, and the warm run must report
`llvm_compiles: 0`), `warm-trace` (the same with `--jit=trace
--trace-threshold=1`: the warm run also records nothing), `trace` (`--jit=trace`), `trace1`/`trace2` (with
`--trace-threshold=1`/`2`) or `trace-stress` (threshold 1, every trace
leaving once at each branch, every exit recording a side trace at once).
Prints one line per failure and a closing line
"conformance: N passed, M failed".
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def run_one(args, name, mode, tmp):
    base = os.path.join(args.suite, name)
    def read(ext, binary=False):
        p = base + "." + ext
        if not os.path.exists(p):
            return None
        with open(p, "rb") as f:
            data = f.read()
        return data if binary else data.decode("utf-8", "replace")

    want_out = read("out", True) or b""
    want_code = int((read("code") or "0").strip())
    want_err = (read("err") or "").strip()
    prog_args = []
    a = read("args")
    if a is not None:
        prog_args = a.split("\n")
        if prog_args and prog_args[-1] == "":
            prog_args.pop()
    stdin = read("in", True) or b""

    program = base + ".fasm"
    extra = []
    if mode == "aot":
        # An executable from fusevmc --emit=exe, run on its own.
        exe = os.path.join(tmp, name + ".aot")
        c = subprocess.run([args.fusevmc, "--emit=exe", program, "-o", exe],
                           capture_output=True, timeout=args.timeout)
        if c.returncode != 0:
            if want_code == 65 and c.returncode == 65 and \
                    want_err in c.stderr.decode("utf-8", "replace") and not want_out:
                return None
            return "fusevmc exit %d: %s" % (c.returncode, c.stderr.decode()[:300])
        cmd = [exe] + prog_args
    elif mode in ("fbc", "fuse"):
        fbc = os.path.join(tmp, name + "." + mode + ".fbc")
        flags = ["--fuse"] if mode == "fuse" else []
        c = subprocess.run([args.fusevmc] + flags + [program, "-o", fbc],
                           capture_output=True, timeout=args.timeout)
        if c.returncode != 0:
            # Rejected input must be rejected the same way by the compiler.
            if want_code == 65 and c.returncode == 65 and \
                    want_err in c.stderr.decode("utf-8", "replace") and not want_out:
                return None
            return "fusevmc exit %d: %s" % (c.returncode, c.stderr.decode()[:300])
        program = fbc
    elif mode in ("warm", "warm-trace"):
        cache = os.path.join(tmp, "cache-" + mode + "-" + name)
        extra = (["--jit=auto", "--jit-threshold=1"] if mode == "warm" else
                 ["--jit=trace", "--trace-threshold=1"]) + [
                     "--jit-sync", "--cache=" + cache, "--stats"]
    elif mode in ("trace1", "trace2"):
        # every loop traced after one (two) backward branches
        extra = ["--jit=trace", "--trace-threshold=" + mode[-1]]
    elif mode == "trace-stress":
        # every loop traced at once; every trace leaves once at each of its
        # branches and every exit records a side trace at once: every exit
        # path, frame write-back and side-trace link runs
        extra = ["--jit=trace", "--trace-threshold=1"]
    elif mode.startswith("hot"):
        # auto with every function and loop hot at once: compiles on the
        # first call, enters loops by on-stack replacement on the first
        # back edge.
        extra = ["--jit=auto", "--jit-threshold=1"]
    else:
        extra = ["--jit=" + mode]
    if mode != "aot":
        cmd = [args.fusevm] + extra + [program, "--"] + prog_args
    runs = ["cold", "warm"] if mode.startswith("warm") else [""]
    env = None
    if mode == "trace-stress":
        env = dict(os.environ, FUSEVM_TRACE_STRESS="1", FUSEVM_TRACE_HOT_EXIT="1")
    problems = []
    for run in runs:
        try:
            p = subprocess.run(cmd, input=stdin, capture_output=True,
                               timeout=args.timeout, env=env)
        except subprocess.TimeoutExpired:
            return "%s timed out after %ss" % (run, args.timeout)
        check(p, want_out, want_code, want_err, problems, run)
        if run == "warm":
            stats = last_json(p.stderr)
            if stats is None:
                if want_code not in (65, 66):  # rejected before running
                    problems.append("warm run printed no --stats")
            elif stats["llvm_compiles"] != 0 or stats["traces_recorded"] != 0:
                problems.append("warm run generated code: llvm_compiles %d, "
                                "traces_recorded %d, cache_hits %d, "
                                "cache_misses %d" % (
                                    stats["llvm_compiles"],
                                    stats["traces_recorded"], stats["cache_hits"],
                                    stats["cache_misses"]))
    return "; ".join(problems) if problems else None


def last_json(stderr):
    for line in reversed(stderr.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def check(p, want_out, want_code, want_err, problems, run):
    at = run + " run: " if run else ""
    if p.stdout != want_out:
        problems.append(at + "stdout differs:\n--- want\n%s\n--- got\n%s" % (
            want_out.decode("utf-8", "replace")[:600],
            p.stdout.decode("utf-8", "replace")[:600]))
    if p.returncode != want_code:
        problems.append(at + "exit code %d, want %d" % (p.returncode, want_code))
    err = p.stderr.decode("utf-8", "replace")
    if want_err and want_err not in err:
        problems.append(at + "stderr lacks %r: %s" % (want_err, err[:300]))
    if "warning" in err and "cache" in err:
        problems.append(at + "cache warning: " + err[:300])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fusevm", required=True)
    ap.add_argument("--fusevmc", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--mode", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("only", nargs="*", help="test names (default: all)")
    args = ap.parse_args()
    modes = args.mode or ["off"]
    names = args.only or sorted(
        f[:-5] for f in os.listdir(args.suite) if f.endswith(".fasm"))
    if not names:
        print("conformance: no tests found in " + args.suite)
        return 1
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            for name in names:
                why = run_one(args, name, mode, tmp)
                if why is None:
                    passed += 1
                else:
                    failed += 1
                    print("FAIL %s [%s]: %s" % (name, mode, why))
    print("conformance: %d tests x %d modes (%s)" % (len(names), len(modes),
                                                     ", ".join(modes)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
