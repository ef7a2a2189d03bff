//===- fusevm/JIT/Trace.h - The tracing tier's public types ------*- C++ -*-===//
//
// \file
// The tracing tier (docs/trace.md): a loop header whose backward branches
// cross TraceJitConfig::TraceThreshold is recorded as it runs — each op
// with its op index, the kinds it saw and the way each branch went, into
// the functions it calls — and the recording is compiled, on the lowering
// every tier shares, into native code specialised to those kinds and that
// path. Every way off the path is a side exit: the trace writes the frame
// back and the interpreter continues at the exit's op. An exit taken often
// records a side trace from there, compiled into the same tree.
//
// The names follow the seed project (fusevm 0.11): TraceJitConfig,
// SlotKind, TraceMetadata, DeoptFrame/DeoptInfo, TraceLookup.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_JIT_TRACE_H
#define FUSEVM_JIT_TRACE_H

#include "fusevm/Core/Chunk.h"
#include "fusevm/Core/Value.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fusevm {

/// Tuning of the tracing tier, with the seed's defaults.
struct TraceJitConfig {
  /// Backward branches through a loop header before it is recorded.
  uint32_t TraceThreshold = 50;
  /// Side exits a trace may take without a side trace to take them (and
  /// with little work done per entry) before it is blacklisted.
  uint32_t MaxSideExits = 50;
  /// Calls of a function into itself the recorder follows.
  uint32_t MaxInlineRecursion = 4;
  /// Side traces compiled into one trace tree (per anchor).
  uint32_t MaxTraceChain = 4;
  /// Ops one recording may hold.
  uint32_t MaxTraceLen = 256;
  /// A side exit taken this many times records a side trace from there.
  uint32_t HotExit = 10;
  /// Recordings of one anchor that may abort before it is blacklisted.
  uint32_t MaxAborts = 4;

  /// The same, with FUSEVM_TRACE_THRESHOLD, FUSEVM_TRACE_MAX_SIDE_EXITS,
  /// FUSEVM_TRACE_MAX_INLINE_RECURSION, FUSEVM_TRACE_MAX_CHAIN,
  /// FUSEVM_TRACE_MAX_LEN, FUSEVM_TRACE_HOT_EXIT and FUSEVM_TRACE_MAX_ABORTS
  /// from the environment over this one's values (unparsable values are
  /// ignored; \p Warnings gets one line each).
  TraceJitConfig withEnvironment(std::vector<std::string> *Warnings = nullptr) const;
};

/// What a trace knows of a value: a kind, or Unknown (not observed).
enum class SlotKind : uint8_t {
  Unknown, Undef, Bool, Int, Float, Str, Array, Hash, Status,
};
SlotKind slotKindOf(ValueKind K);
const char *slotKindName(SlotKind K);

/// One recorded op.
struct TraceOp {
  uint32_t Ip = 0;      ///< op index in the chunk
  uint32_t Func = 0;    ///< the function it belongs to
  uint8_t Depth = 0;    ///< 0: the anchor's frame; 1..: calls followed
  int8_t Branch = -1;   ///< a conditional branch: 1 taken, 0 fell through
  SlotKind Top = SlotKind::Unknown, Second = SlotKind::Unknown; ///< stack before it
};

/// Everything a trace was compiled from: enough to compile it again (in
/// another process, from the code cache) and to check it still fits the
/// program.
struct TraceMetadata {
  uint64_t ChunkOpHash = 0; ///< the chunk's op hash
  uint32_t Func = 0;        ///< the anchor's function
  uint32_t Anchor = 0;      ///< the loop header
  /// Where the loop goes when it is left the way the recording did not go
  /// first (the op after the loop's exit branch), or UINT32_MAX.
  uint32_t Fallthrough = UINT32_MAX;
  std::vector<TraceOp> Ops;                 ///< the recorded ops, in order
  std::vector<SlotKind> AnchorSlots;        ///< slot kinds at the anchor
  std::vector<SlotKind> AnchorStack;        ///< stack kinds at the anchor
  /// Per op of Func (index - its entry): JitRequest::Trace's TraceMark.
  std::vector<uint8_t> Marks;
  uint32_t SideTraces = 0;                  ///< merged into Marks

  /// A portable binary form (cereal).
  std::string exportBytes() const;
  /// Reads exportBytes() output for \p C: refused (never mis-compiled)
  /// when it was made for another chunk (op hash), when anything in it is
  /// out of range for \p C, or when the bytes are not ours.
  static llvm::Expected<TraceMetadata> importBytes(std::string_view Bytes,
                                                   const Chunk &C);
};

/// One frame an exit rebuilds: its function, the op it continues at, the
/// slots it restores with the kinds they hold there, its stack height.
struct DeoptFrame {
  uint32_t Func = 0;
  uint32_t Ip = 0;
  std::vector<std::pair<uint16_t, SlotKind>> Slots;
  uint16_t StackHeight = 0;
};

/// A side exit's snapshot. Callees followed by the recorder run as their
/// own compiled functions: a guard failing in one hands that activation to
/// the interpreter, which returns its result to the trace, so an exit of
/// the trace itself rebuilds the anchor's frame only (Frames has one
/// entry); the limits are the seed's, and an exit needing more ends the
/// recording with that reason.
struct DeoptInfo {
  static constexpr unsigned MaxFrames = 4, MaxSlotsPerFrame = 16,
                            MaxStackPerExit = 32;
  uint32_t ExitIp = 0;
  bool Guard = false; ///< a failed kind guard, else a branch off the trace
  std::vector<DeoptFrame> Frames;
  std::vector<SlotKind> Stack;
};

/// What the interpreter's look-up at a loop header found.
enum class TraceLookup : uint8_t {
  NotHot,         ///< not yet at the threshold: keep interpreting
  StartRecording, ///< hot: the next iteration is recorded
  Ran,            ///< a trace ran and left: resume at the op it names
  GuardMismatch,  ///< a trace exists, for other kinds than the frame's
  Skip,           ///< blacklisted, or not traceable here
};
const char *traceLookupName(TraceLookup L);

/// Why a recording stopped without a trace (TraceAbort events, stats).
enum class TraceAbortReason : uint8_t {
  TooLong,         ///< more ops than MaxTraceLen
  InlineDepth,     ///< calls nested deeper than DeoptInfo::MaxFrames
  Recursion,       ///< a function called into itself past MaxInlineRecursion
  LeavesFunction,  ///< the anchor's function returned
  InnerLoop,       ///< a loop ran inside a called function
  ScopeChange,     ///< PushFrame/PopFrame in the anchor's frame
  TooManySlots,    ///< an exit would restore more than MaxSlotsPerFrame slots
  StackTooDeep,    ///< an exit would hold more than MaxStackPerExit values
  Error,           ///< the recorded iteration raised a runtime error
};
const char *traceAbortReasonName(TraceAbortReason R);

/// What became of one loop header in a run (RunResult::Traces), for the
/// queries the seed has: compiled?, deopt count, side-exit count,
/// blacklisted?
struct TraceStatus {
  uint32_t Func = 0, Anchor = 0;
  bool Compiled = false, Blacklisted = false;
  uint64_t Entries = 0;       ///< times a trace was entered here
  uint64_t SideExits = 0;     ///< exits at branches off the trace
  uint64_t GuardFailures = 0; ///< exits at failed kind guards (deopts)
  uint32_t SideTraces = 0, Aborts = 0;
};
/// The loop headers of \p C (targets of backward branches), ascending:
/// where traces may be anchored.
std::vector<uint32_t> loopAnchors(const Chunk &C);

/// The largest closed region of function \p Func of \p C that the native
/// tiers can compile: a run of ops [Begin, End) that no jump enters or
/// leaves, whose stack starts and ends empty, without returns or scope
/// changes. Empty (Begin == End) when there is none.
struct JitRegion {
  uint32_t Func = 0, Begin = 0, End = 0;
};
JitRegion findJitRegion(const Chunk &C, uint32_t Func);
/// The region as a standalone chunk: its ops with jumps rebased, the
/// constants and names it uses, a main that runs it and returns; its own
/// op hash. Its slots are main's slots.
llvm::Expected<Chunk> extractRegion(const Chunk &C, const JitRegion &R);

} // namespace fusevm

#endif // FUSEVM_JIT_TRACE_H
