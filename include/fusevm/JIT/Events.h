//===- fusevm/JIT/Events.h - What the tiers did, as events -------*- C++ -*-===//
//
// \file
// The tier manager reports everything it decides as a JitEvent: a compile,
// a function it will not compile and why, an on-stack replacement, a
// deoptimisation and its reason, a recompile. `fusevm --jit-log` prints
// them (formatJitEvent) and `--stats` counts them (JitStatsListener); an
// embedder attaches its own listener with RunOptions::Listener and gets the
// same events:
//
//   struct Count : fusevm::JitEventListener {
//     int Compiles = 0;
//     void onJitEvent(const fusevm::JitEvent &E) override {
//       Compiles += E.K == fusevm::JitEvent::Compiled;
//     }
//   } L;
//   Opts.Listener = &L;
//
// Events are delivered on the thread that runs the program, in order.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_JIT_EVENTS_H
#define FUSEVM_JIT_EVENTS_H

#include "fusevm/JIT/Native.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fusevm {

struct JitEvent {
  enum Kind : uint8_t {
    Compiled,   ///< native code for a function was installed
    Skipped,    ///< a function the tiers will not compile (Reason)
    Uncompiled, ///< end of run: a function that got no native code (Reason)
    OsrEntry,   ///< a running loop continued in native code at Ip (reported
                ///< when that code returns)
    Deopt,      ///< compiled code handed its activation back at Ip (Reason)
    Recompile,  ///< code dropped; the next compile speculates less (Reason)
    CacheHit,   ///< the code cache had the code (loaded, not generated)
    CacheMiss,  ///< it did not (generated, then stored unless CacheStore is missing)
    CacheStore, ///< generated code was stored in the code cache
    CacheReject, ///< an entry was refused and dropped (Reason: "checksum",
                 ///< "target", "loader: ...")
    TraceStart,  ///< recording began at Ip (a loop header, or a side exit)
    TraceStop,   ///< a recording closed at its anchor (Reason: its length)
    TraceAbort,  ///< a recording stopped without a trace (Reason)
    SideExit,    ///< a trace left at Ip for the first time
    SideTrace,   ///< a side trace was recorded into a trace's tree
    TraceBlacklist, ///< a loop header the tier gave up on (Reason)
  } K = Compiled;
  uint32_t Func = 0;    ///< index into the chunk's function table
  std::string Function; ///< its name
  uint32_t Ip = 0;      ///< the op, as indexed in the chunk (OSR, deopt)
  uint32_t Line = 0;    ///< its source line (0: unknown)
  std::string Reason;

  // Compiled:
  bool Linear = false;   ///< linear tier, else block tier
  JitLevel Level = JitLevel::Optimised;
  unsigned OptLevel = 0; ///< LLVM optimisation level
  uint32_t Ops = 0;      ///< the function's ops
  std::vector<KindMask> Params; ///< parameter kinds specialised to
  bool Osr = false;      ///< with an on-stack-replacement entry at Ip
  bool Background = false; ///< compiled on the worker thread
  bool Generated = true; ///< false: the engine's code for the same request
  bool FromCache = false; ///< loaded from the code cache (also CacheHit)
  bool Trace = false;    ///< a trace anchored at Ip (the tracing tier)
  uint32_t SideTraces = 0; ///< a trace: side traces in its tree
  double Ms = 0;         ///< compile (or load) time
};

class JitEventListener {
public:
  virtual ~JitEventListener();
  virtual void onJitEvent(const JitEvent &E) = 0;
};

/// The `--jit-log` line of \p E, without "fusevm: " or a newline.
std::string formatJitEvent(const JitEvent &E);

/// Counts events into the `--stats` keys they feed.
class JitStatsListener : public JitEventListener {
public:
  uint64_t LLVMCompiles = 0, LinearCompiled = 0, BlockCompiled = 0;
  /// Compiles by level (JitLevel) and their time.
  uint64_t LevelCompiles[2] = {};
  double LevelMs[2] = {};
  uint64_t OsrEntries = 0, Deopts = 0, Recompiles = 0;
  double CompileMs = 0;
  uint64_t CacheHits = 0, CacheMisses = 0, CacheStores = 0;
  uint64_t TracesCompiled = 0;
  double CacheLoadMs = 0;
  /// Refused cache entries by reason (its first word: checksum, chunk,
  /// target, key, request, loader, error).
  std::vector<std::pair<std::string, uint64_t>> CacheRejects;
  void onJitEvent(const JitEvent &E) override;
};

} // namespace fusevm

#endif // FUSEVM_JIT_EVENTS_H
