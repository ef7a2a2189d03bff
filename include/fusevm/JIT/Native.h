//===- fusevm/JIT/Native.h - The contract between the VM and native code --*- C++ -*-===//
//
// \file
// What compiled code (JIT tiers, later AOT) and the interpreter share: the
// run context compiled code reads and writes, the signatures of its entry
// points, the runtime helpers it calls (the same semantics the interpreter
// uses: lib/VM/Runtime.cpp) and the JitEngine interface the interpreter's
// tier policy drives. No LLVM here: the interpreter never initialises it.
//
// Native value convention: a Value is a (payload i64, kind i8) pair, the
// two halves of the 16-byte Value. Helpers take Values by pointer, consume
// (release) the operands they are given and write an owned result.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_JIT_NATIVE_H
#define FUSEVM_JIT_NATIVE_H

#include "fusevm/Core/Chunk.h"
#include "fusevm/Core/Value.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fusevm {

struct VerifyInfo;

/// The kind byte compiled code returns instead of a value when a runtime
/// error was raised (NativeCtx::Err, ErrIp say which, where).
constexpr uint8_t NativeErrorKind = 0xFF;

/// State of one run that compiled code reads and writes directly; the
/// field offsets are part of the generated code (offsetof in the lowering).
struct NativeCtx {
  Value *Globals;
  const Value *Consts;
  void **FnTable;        ///< per function: its native fastcc code, or null
  uint64_t NativeCalls;  ///< entries into compiled functions
  uint64_t Fuel;         ///< instruction budget left (UINT64_MAX: none)
  uintptr_t StackLimit;  ///< below this native stack address, calls interpret
  uint32_t Depth;        ///< active guest activations, main included
  uint32_t MaxDepth;
  uint32_t ErrIp;        ///< op index of the failing op
  uint8_t Err;           ///< RtError of the failure
  int32_t Status;        ///< the status register
  uint64_t MaxStr;       ///< string length limit (isa.md §5, or lower)
  uint64_t MaxArr;       ///< array length limit
  void *Run;             ///< the interpreter run (helpers' back pointer)
  /// Per op: baseline code's countdown to its next tier-up check, at
  /// function entries and loop headers (fvm_rt_tier_up).
  uint32_t *HotCounts;
  /// Where a trace left (NativeTraceExit): the op the interpreter continues
  /// at, the operand-stack height there, and why (TraceExitKind).
  uint32_t ExitIp;
  uint32_t ExitHeight;
  uint8_t ExitKind;
  /// Loop iterations run inside traces (their back edges to the anchor).
  uint64_t TraceIters;
  /// Stress testing (RunOptions::TraceStress): per op, 0 until the op's
  /// forced exit was taken once; null when not stressing.
  uint8_t *TraceStress;
};

/// Why a trace left: at a branch the trace did not record (a side exit),
/// or at a failed guard on a kind it specialised to.
enum TraceExitKind : uint8_t { TraceExitBranch = 0, TraceExitGuard = 1 };

/// How much a compile optimises (docs/jit.md "Two levels"): a baseline
/// compile is cheap (no IR optimisation, fast instruction selection) and
/// counts its calls and loop iterations, so that code that stays hot is
/// compiled again, optimised, and swapped in.
enum class JitLevel : uint8_t { Baseline, Optimised };

/// Where compiled code finds an array's elements: the ArrayObj's Items
/// vector is {begin, end, capacity} pointers from this offset (libstdc++'s
/// layout; NativeRuntime.cpp and a unit test check it). Compiled code reads
/// all three and appends in place by advancing end.
constexpr size_t ArrayBeginOffset = 8, ArrayEndOffset = 16;

/// Boxed entry of a compiled function: consumes \p Args unless it returns
/// NativeGuardFailed; writes the result to \p Out.
using NativeEntryFn = uint8_t (*)(NativeCtx *, Value *Args, Value *Out);
/// On-stack-replacement entry at a loop header of a running activation:
/// takes the frame's slots and operand stack (consumed unless it returns
/// NativeGuardFailed) and runs the function to its return.
using NativeOsrFn = uint8_t (*)(NativeCtx *, Value *Slots, Value *Stack,
                                Value *Out);
enum : uint8_t { NativeOk = 0, NativeFailed = 1, NativeGuardFailed = 2 };
/// A trace (the same signature as NativeOsrFn) borrows the frame's slots
/// and stack for as long as it runs; it returns NativeTraceExit after
/// writing them back, with NativeCtx::ExitIp/ExitHeight saying where the
/// interpreter continues (docs/trace.md).
constexpr uint8_t NativeTraceExit = 3;

/// JitRequest::Trace, per op of the function: what the recording saw.
enum TraceMark : uint8_t {
  TraceOff = 0,    ///< not on the trace: reaching it is a side exit
  TraceOn = 1,     ///< on the trace
  TraceFell = 2,   ///< a conditional branch the trace fell through
  TraceJumped = 3, ///< one the trace took
  TraceBoth = 4,   ///< one the trace (with its side traces) went both ways
};

/// Kind masks: bit (1 << ValueKind) per kind a value may have.
using KindMask = uint8_t;
constexpr KindMask maskOf(ValueKind K) { return KindMask(1u << unsigned(K)); }
constexpr KindMask AnyKind = 0xFF;

/// What a tier is asked to compile.
struct JitRequest {
  const Chunk *C = nullptr;
  const VerifyInfo *Info = nullptr;
  /// The chunk's identity: its op hash (8 bytes, little endian) and
  /// contentDigest() (32 bytes), computed once per run. Names the code.
  std::string ChunkKey;
  uint32_t Func = 0;
  /// Kinds each parameter is specialised to (guarded at entry); AnyKind:
  /// not specialised.
  std::vector<KindMask> ParamMasks;
  /// An on-stack-replacement entry at this op (a loop header), or -1; the
  /// exact kinds of the frame's slots and stack there.
  int64_t OsrIp = -1;
  std::vector<ValueKind> OsrSlots, OsrStack;
  JitLevel Level = JitLevel::Optimised;
  bool Linear = false;     ///< the linear tier (a function without jumps)
  bool Budget = false;     ///< charge NativeCtx::Fuel like the interpreter
  /// Ops (by index) whose speculation keeps failing: no guard there.
  std::vector<uint32_t> NoSpeculation;
  /// The tracing tier: compile the trace anchored at OsrIp (a loop header
  /// of Func) instead of the function. Per op of Func (index - its entry):
  /// a TraceMark. Empty: not a trace.
  std::vector<uint8_t> Trace;
  /// With Trace: the functions the recording followed calls into,
  /// compiled into the trace's module (deepest first) as functions
  /// specialised to the argument kinds recorded and called directly, so
  /// that LLVM inlines them.
  struct Callee {
    uint32_t Func = 0;
    std::vector<KindMask> Params;
    std::vector<uint32_t> NoSpeculation;
  };
  std::vector<Callee> TraceCallees;
  /// With Trace: the trace's metadata (TraceMetadata::exportBytes), kept
  /// with its code in a code cache so that a later process can install
  /// the trace without recording it. Not part of what is compiled.
  std::string TraceMeta;
  /// With Trace: leave once at every branch of the trace (before it, so
  /// the interpreter takes it again), to test every exit
  /// (NativeCtx::TraceStress).
  bool TraceStress = false;
  /// Speculation on the kinds globals hold when the request is made, by
  /// name index (0: none): of the global itself (GetVar) and of the
  /// elements of the array in it (ArrayGet, ArraySet). Guarded; a failed
  /// guard hands the activation to the interpreter at that op
  /// (fvm_rt_resume). A snapshot, so that compiling may run on another
  /// thread while the program runs.
  std::vector<KindMask> GlobalKinds, ElementKinds;
};

struct JitResult {
  NativeEntryFn Entry = nullptr;
  void *Fast = nullptr; ///< the fastcc body, for NativeCtx::FnTable
  NativeOsrFn Osr = nullptr;
  /// LLVM generated code for this request; false when the engine reused
  /// the code it had made for an identical request (same chunk, function,
  /// specialisation, tier and options) earlier in the process.
  bool Generated = false;
  unsigned OptLevel = 0; ///< the LLVM optimisation level used
  double Ms = 0;         ///< wall time of the compile
  /// What a code cache (fusevm/Cache/CachingEngine.h) did for this
  /// request: Hit (loaded, nothing generated) or Miss (generated; Stored
  /// says whether it was kept). CacheReject: why an entry found for the
  /// key was refused ("checksum", "target", "loader: ...").
  enum class CacheOutcome : uint8_t { None, Hit, Miss } Cache = CacheOutcome::None;
  bool Stored = false;
  std::string CacheReject;
};

/// A unit a code cache kept from an earlier process, ready to run: a warm
/// run installs these at its start (the code that got hot before), so it
/// runs native code from a function's first call.
struct WarmUnit {
  uint32_t Func = 0;
  int64_t OsrIp = -1;
  JitLevel Level = JitLevel::Optimised;
  bool Linear = false, Budget = false;
  bool Trace = false; ///< a trace (installed by the tracing tier)
  std::string TraceMeta; ///< its TraceMetadata
  /// A trace's request, as JitRequest has them: entry kinds, marks,
  /// callees, ops without speculation (to compile it again, grown).
  std::vector<ValueKind> OsrSlots, OsrStack;
  std::vector<uint8_t> Marks;
  std::vector<uint32_t> NoSpeculation;
  std::vector<JitRequest::Callee> Callees;
  std::vector<KindMask> Params;
  JitResult Res;
};
struct WarmStart {
  std::vector<WarmUnit> Units;
  std::vector<std::string> Rejects; ///< bad entries found (and dropped)
  double Ms = 0;                    ///< time to find and load them
};

/// A code generator the interpreter's tier policy calls (lib/JIT). This is
/// the plugin boundary (libfusevm-jit.so), so it speaks plain types.
class JitEngine {
public:
  virtual ~JitEngine() = default;
  /// Compiles; on failure returns false and says why in \p Why. A
  /// compile is a pure function of the request: symbol names and code
  /// depend on nothing else (docs/jit.md "Deterministic compiles").
  virtual bool compile(const JitRequest &R, JitResult &Out,
                       std::string &Why) = 0;
  /// The relocatable object file \p R compiles to (what compile() loads),
  /// without loading it.
  virtual bool compileObject(const JitRequest &R, std::string &Object,
                             std::string &Why) = 0;
  /// The units kept for \p Chunk's program (R.C, R.Info, R.ChunkKey) by
  /// earlier processes; none unless the engine has a cache.
  virtual WarmStart warmUnits(const JitRequest &Chunk) { return {}; }
};

/// True when function \p F of \p C has no jumps and no fused loops: the
/// linear tier's functions.
bool isLinearFunction(const Chunk &C, uint32_t F);

/// A runtime helper compiled code may call, by name.
struct NativeSymbol {
  const char *Name;
  void *Addr;
};
/// Every helper of lib/VM/NativeRuntime.cpp.
const std::vector<NativeSymbol> &nativeRuntimeSymbols();

} // namespace fusevm

#endif // FUSEVM_JIT_NATIVE_H
