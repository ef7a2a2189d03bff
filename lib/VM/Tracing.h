//===- Tracing.h - The tracing tier's state in a run --------------*- C++ -*-===//
//
// \file
// The recorder and the per-anchor state of the tracing tier
// (docs/trace.md). The interpreter records in its counted loop over the
// plain (unquickened) ops, so that every branch is one of the chunk's own;
// Tracing.cpp holds the tier's decisions.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_TRACING_H
#define FUSEVM_LIB_VM_TRACING_H

#include "fusevm/JIT/Native.h"
#include "fusevm/JIT/Trace.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace fusevm {

struct VerifyInfo;

/// Records one iteration of a loop, from its anchor (or, for a side trace,
/// from an exit) back to the anchor.
class TraceRecorder {
public:
  /// Starts recording in function \p Func at op \p From, closing when the
  /// anchor frame reaches \p Anchor again. \p Plain: the interpreter's
  /// unquickened ops (Call operands are function indices there).
  void start(const Chunk &C, const Instr *Plain, uint32_t Func,
             uint32_t Anchor, uint32_t From, const TraceJitConfig &Cfg);
  /// The op at \p Ip is about to run at call depth \p Depth below the
  /// anchor's frame, with the operand stack [\p Base, \p Sp). True when the
  /// recording closed (the anchor is reached again in its frame).
  bool record(uint32_t Ip, uint32_t Depth, const Value *Base, const Value *Sp);
  void abort(TraceAbortReason R);

  bool Active = false, Closed = false, Aborted = false;
  TraceAbortReason Why = TraceAbortReason::TooLong;
  uint32_t Func = 0, Anchor = 0, From = 0;
  std::vector<TraceOp> Ops;
  /// Per op of Func: TraceMark, from what this recording saw.
  std::vector<uint8_t> Marks;
  /// The functions it called into, with the kinds of their arguments, and
  /// the depth each was first called at (JitRequest::TraceCallees).
  std::vector<JitRequest::Callee> CalleesSeen;
  std::vector<uint32_t> CalleeDepth;

private:
  const Chunk *C = nullptr;
  const Instr *Code = nullptr;
  TraceJitConfig Cfg;
  uint32_t Entry = 0;
  /// A conditional branch in the anchor's frame, waiting for the next op
  /// of that frame to tell which way it went (-1: none), and its TraceOp.
  int64_t Pending = -1;
  size_t PendingOp = 0;
  uint32_t LastDepth = 0, LastIp = UINT32_MAX;
  uint32_t CallTarget = 0;       ///< the callee of the last Call recorded
  std::vector<uint32_t> Callees; ///< the function at each depth below 0
  std::vector<uint32_t> Written; ///< slots of the anchor's frame it writes
};

/// One trace tree at a loop header, for one set of entry kinds.
struct TraceTree {
  std::vector<ValueKind> Slots, Stack; ///< the kinds it was recorded with
  std::vector<uint8_t> Marks;          ///< merged TraceMarks of the tree
  std::vector<uint32_t> NoSpeculation; ///< ops whose guards kept failing
  NativeOsrFn Code = nullptr;
  bool Pending = false;                ///< compiling
  /// Installed from a code cache: run as the earlier process left it (it
  /// grows no side traces and is not blacklisted for its exits), so that a
  /// warm run records nothing.
  bool FromCache = false;
  uint32_t Gen = 0;                    ///< compiles asked for (the latest wins)
  uint32_t SideTraces = 0;
  std::vector<TraceOp> Ops;            ///< the root recording (metadata)
  std::vector<JitRequest::Callee> Callees; ///< of all its recordings
  std::vector<uint32_t> CalleeDepth;
  /// Per exit op: times taken, and whether a side trace may still come.
  struct Exit {
    uint64_t Taken = 0;
    uint32_t Failed = 0; ///< side recordings from here that aborted
    bool Logged = false;
  };
  std::unordered_map<uint32_t, Exit> Exits;
  std::unordered_map<uint32_t, uint32_t> GuardFails; ///< per op
};

/// The tracing tier's state at one loop header.
struct TraceAnchor {
  uint32_t Func = 0;
  std::vector<TraceTree> Trees;
  uint32_t Aborts = 0;
  bool Blacklisted = false;
  bool InTrace = false;   ///< its trace is running (not re-entered: recursion)
  uint64_t Entries = 0, SideExits = 0, GuardFailures = 0;
  uint64_t Iterations = 0; ///< loop back edges inside its traces
  /// Since its latest compile: exits no side trace takes, entries and
  /// iterations (what blacklisting judges).
  uint64_t ExitsWithoutSide = 0, RecentEntries = 0, RecentIterations = 0;
  /// Where its traces write the frame back: never moves (a trace running
  /// below a nested one holds on to it).
  std::unique_ptr<uint64_t[]> ExitBuf;
};

} // namespace fusevm

#endif // FUSEVM_LIB_VM_TRACING_H
