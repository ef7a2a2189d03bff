#!/usr/bin/env python3
"""The code cache through the fusevm tool (docs/cache.md).

  run.py --fusevm F --fusevmc C --programs DIR corrupt
      Every corruption class: a cold run fills a cache, the cache is
      damaged, and the next run must print the same output with exit 0
      (recompiling what it lost), and the run after that must be warm
      again (llvm_compiles 0).
  run.py ... concurrent [--procs 8 --runs 100]
      PROCS processes each run programs RUNS times against one cache:
      every run's output must be the expected one, with no error and no
      warning.
  run.py ... prewarm
      fusevmc --cache makes the first fusevm run warm.

Prints one line per failure and exits 1 if there was any.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL " + msg)


def run(args, prog, cache, extra=(), stdin=b""):
    cmd = [args.fusevm, "--stats", "--cache=" + cache] + list(extra) + [prog]
    cmd += PROGRAM_ARGS.get(os.path.basename(prog), [])
    p = subprocess.run(cmd, capture_output=True, input=stdin, timeout=120)
    stats = None
    for line in reversed(p.stderr.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            stats = json.loads(line)
            break
    return p, stats


# Small sizes: these are about the cache, not speed.
PROGRAM_ARGS = {"fib.fasm": ["22"], "nbody.fasm": ["2000"], "mandel.fasm": ["40"],
                "sieve.fasm": ["2000"], "hash.fasm": ["2000"], "collatz.fasm": ["3000"],
                "nested_loop.fasm": ["60"], "loop_sum.fasm": ["100000"],
                "strcat.fasm": ["1000"]}
# Compile on the interpreter's thread at once: what is compiled, and so
# stored, does not depend on timing.
HOT = ["--jit-threshold=1", "--jit-sync"]


def expected(args, prog):
    cmd = [args.fusevm, "--jit=off", prog] + PROGRAM_ARGS.get(os.path.basename(prog), [])
    return subprocess.run(cmd, capture_output=True, timeout=120).stdout


def corrupt_classes():
    def truncate(db):
        size = os.path.getsize(db)
        with open(db, "r+b") as f:
            f.truncate(size // 2)
        for ext in ("-wal", "-shm"):
            if os.path.exists(db + ext):
                os.unlink(db + ext)

    def sql(statement):
        def go(db):
            c = sqlite3.connect(db)
            c.execute(statement)
            c.commit()
            c.close()
        return go

    def garbage(db):
        for ext in ("", "-wal", "-shm"):
            if os.path.exists(db + ext):
                os.unlink(db + ext)
        with open(db, "wb") as f:
            f.write(os.urandom(8192))
        os.chmod(db, 0o600)

    def corrupt_pages(db):
        # Garbage over everything after the first page (the header stays):
        # SQLite reports corruption on the first query that reads a page.
        for ext in ("-wal", "-shm"):
            if os.path.exists(db + ext):
                os.unlink(db + ext)
        size = os.path.getsize(db)
        with open(db, "r+b") as f:
            f.seek(4096)
            f.write(os.urandom(max(size - 4096, 4096)))

    def delete_wal(db):
        # A process killed after storing, before it closed the database:
        # its entries are in the WAL, and go with it.
        if os.path.exists(db + "-wal"):
            os.unlink(db + "-wal")

    return [
        ("truncated database", truncate, True),
        ("flipped byte in a blob", sql(
            "UPDATE units SET object = CAST(substr(object, 1, 64) || "
            "X'5A' || substr(object, 66) AS BLOB)"), True),
        ("wrong checksum", sql("UPDATE units SET checksum = zeroblob(32)"), True),
        ("schema from the future", sql("PRAGMA user_version = 7"), False),
        ("entry for another CPU", sql(
            "UPDATE units SET target = 'x86_64-pc-linux-gnu|"
            "GenuineIntel family 6 model 1 stepping 0|0|O2|llvm 19.1.7'"), True),
        ("garbage file in place of the database", garbage, True),
        ("corrupt pages", corrupt_pages, True),
    ]


def killed_run(args, cache):
    """Runs Inputs/waits.fasm until it has stored its code, then SIGKILLs
    it: the database is left with a WAL no one folded in."""
    prog = os.path.join(os.path.dirname(__file__), "Inputs", "waits.fasm")
    p = subprocess.Popen([args.fusevm, "--cache=" + cache] + HOT + [prog],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = p.stdout.readline()  # f has run: its code is stored
    p.kill()
    p.wait()
    p.stdin.close()
    p.stdout.close()
    return prog, line


def test_killed_writer(args):
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "cache")
        prog, line = killed_run(args, cache)
        db = os.path.join(cache, "cache.db")
        if line != b"402\n" or not os.path.exists(db + "-wal"):
            fail("killed writer: no WAL left behind (%r)" % line)
            return
        os.unlink(db + "-wal")
        p, st = run(args, prog, cache, HOT, stdin=b"x\n")
        if p.stdout != b"402\nx\n" or p.returncode != 0:
            fail("killed writer, deleted -wal: output %r exit %d" % (p.stdout, p.returncode))
        elif st["llvm_compiles"] == 0:
            fail("killed writer, deleted -wal: nothing recompiled")
        p, st = run(args, prog, cache, HOT, stdin=b"x\n")
        if p.stdout != b"402\nx\n" or st["llvm_compiles"] != 0:
            fail("killed writer, deleted -wal: the cache did not heal")
    print("corrupt: a killed writer's WAL deleted")


def test_corrupt(args, progs):
    test_killed_writer(args)
    for name, damage, heals in corrupt_classes():
        for prog in progs:
            want = expected(args, prog)
            with tempfile.TemporaryDirectory() as tmp:
                cache = os.path.join(tmp, "cache")
                p, cold = run(args, prog, cache, HOT)
                if p.stdout != want or p.returncode != 0:
                    fail("%s: cold run differs" % prog)
                    continue
                if cold["llvm_compiles"] == 0:
                    fail("%s: cold run compiled nothing" % prog)
                    continue
                damage(os.path.join(cache, "cache.db"))
                p, after = run(args, prog, cache, HOT)
                where = "%s [%s]" % (os.path.basename(prog), name)
                if p.stdout != want or p.returncode != 0:
                    fail("%s: output or exit code changed (exit %d): %s" % (
                        where, p.returncode, p.stderr.decode()[:300]))
                    continue
                if after["llvm_compiles"] == 0:
                    fail("%s: nothing was recompiled" % where)
                p, again = run(args, prog, cache, HOT)
                if p.stdout != want or p.returncode != 0:
                    fail("%s: third run differs" % where)
                elif heals and again["llvm_compiles"] != 0:
                    fail("%s: the cache did not heal (llvm_compiles %d)" % (
                        where, again["llvm_compiles"]))
                elif not heals and b"schema version" not in p.stderr:
                    fail("%s: no warning about the schema" % where)
    print("corrupt: %d classes x %d programs" % (len(corrupt_classes()), len(progs)))


def worker(args, progs, wants, cache, runs, seed):
    errors = []
    for i in range(runs):
        prog = progs[(seed + i) % len(progs)]
        # Half the runs compile in the background, as users' runs do.
        extra = HOT if i % 2 else ["--jit-threshold=1"]
        p, stats = run(args, prog, cache, extra)
        err = p.stderr.decode("utf-8", "replace")
        problems = [l for l in err.splitlines() if not l.startswith("{")]
        if p.stdout != wants[prog] or p.returncode != 0 or problems or stats is None:
            errors.append("%s run %d: exit %d, %s" % (prog, i, p.returncode,
                                                      "; ".join(problems)[:300]))
    return errors


def test_concurrent(args, progs):
    wants = {p: expected(args, p) for p in progs}
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "cache")
        with concurrent.futures.ThreadPoolExecutor(args.procs) as ex:
            futs = [ex.submit(worker, args, progs, wants, cache, args.runs, k)
                    for k in range(args.procs)]
            errors = [e for f in futs for e in f.result()]
        for e in errors[:20]:
            fail("concurrent: " + e)
        # The cache is whole afterwards.
        v = subprocess.run([args.fusevm, "cache", "verify", cache],
                           capture_output=True, timeout=120)
        if v.returncode != 0 or b", 0 bad" not in v.stdout:
            fail("concurrent: verify after the runs: %s" % v.stdout.decode()[-300:])
        print("concurrent: %d processes x %d runs, %d errors" % (
            args.procs, args.runs, len(errors)))


def test_prewarm(args, progs):
    for prog in progs:
        want = expected(args, prog)
        with tempfile.TemporaryDirectory() as tmp:
            cache = os.path.join(tmp, "cache")
            c = subprocess.run([args.fusevmc, "--cache=" + cache, prog, "-o",
                                os.path.join(tmp, "p.fbc")],
                               capture_output=True, timeout=300)
            if c.returncode != 0:
                fail("prewarm %s: fusevmc exit %d: %s" % (prog, c.returncode,
                                                          c.stderr.decode()[:300]))
                continue
            p, stats = run(args, prog, cache)
            if p.stdout != want or p.returncode != 0:
                fail("prewarm %s: output differs" % prog)
            elif stats["cache_hits"] == 0:
                fail("prewarm %s: the first run found nothing" % prog)
    print("prewarm: %d programs" % len(progs))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fusevm", required=True)
    ap.add_argument("--fusevmc", required=True)
    ap.add_argument("--programs", required=True, help="directory of .fasm programs")
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("what", choices=["corrupt", "concurrent", "prewarm"])
    args = ap.parse_args()
    progs = sorted(os.path.join(args.programs, f) for f in os.listdir(args.programs)
                   if f.endswith(".fasm"))
    {"corrupt": test_corrupt, "concurrent": test_concurrent,
     "prewarm": test_prewarm}[args.what](args, progs)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
