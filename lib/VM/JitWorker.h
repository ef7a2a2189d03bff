//===- JitWorker.h - The compile thread of a VM -----------------*- C++ -*-===//
//
// \file
// auto mode compiles on one background thread per VM while the interpreter
// keeps running; finished compiles wait in a list until the interpreter
// installs them (at calls and loop back edges). Every use of an engine,
// background or not, holds the worker's engine lock: an engine compiles
// one request at a time.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_JITWORKER_H
#define FUSEVM_LIB_VM_JITWORKER_H

#include "fusevm/JIT/Native.h"
#include "fusevm/Verify/Verifier.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fusevm {

/// What compiles on the worker thread read: a copy of the run's chunk and
/// verifier facts, alive as long as a compile needs them.
struct RunCode {
  Chunk C;
  VerifyInfo Info;
};

struct JitJob {
  uint64_t Run;
  uint32_t Gen, F;
  int64_t OsrIp;
  std::shared_ptr<const RunCode> Code;
  JitEngine *Engine;
  JitRequest R;
  int32_t TraceTree = -1; ///< a trace: its tree at anchor OsrIp
};

struct JitDone {
  uint64_t Run;
  uint32_t Gen, F;
  int64_t OsrIp;
  bool Ok = false;
  bool Background = false;
  bool Linear = false;              ///< the request's tier
  JitLevel Level = JitLevel::Optimised; ///< and level
  std::vector<KindMask> Params;     ///< the request's parameter kinds
  JitResult Res;
  std::string Why;
  int32_t TraceTree = -1;
};

class JitWorker {
public:
  ~JitWorker();
  /// A new id for a run, so that results of earlier runs are told apart.
  uint64_t newRun() { return ++Runs; }
  void submit(JitJob J);
  /// Compiles on the calling thread.
  JitDone compileNow(const JitJob &J);
  /// Moves the finished compiles to \p Out.
  void poll(std::vector<JitDone> &Out);
  /// Drops run \p Run's queued jobs and results (one in flight finishes
  /// unused).
  void cancel(uint64_t Run);
  /// Drops the queued compiles of run \p Run's trace tree \p Tree at
  /// \p Anchor: a new version of the tree makes them useless.
  void supersede(uint64_t Run, int64_t Anchor, int32_t Tree);
  /// Waits until no compile is queued or running, at most \p MaxMs.
  void drain(unsigned MaxMs);
  std::atomic<bool> HasResults{false};

private:
  void main();
  std::mutex M, EngineLock;
  std::condition_variable CV, Idle;
  bool Busy = false; ///< the thread is compiling
  std::deque<JitJob> Queue;
  std::vector<JitDone> Done;
  bool Stop = false;
  std::atomic<uint64_t> Runs{0};
  std::thread T;
};

} // namespace fusevm

#endif // FUSEVM_LIB_VM_JITWORKER_H
