//===- TraceApi.cpp - The tracing tier's public types ----------------------===//
//
// \file
// fusevm/JIT/Trace.h: names, the environment overrides, trace metadata in
// a portable binary form (cereal) that refuses anything not made for the
// chunk at hand, loop anchors, and JIT regions.
//
//===----------------------------------------------------------------------===//

#include "fusevm/JIT/Trace.h"

#include "fusevm/Core/Diag.h"
#include "fusevm/Verify/Verifier.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace fusevm {

SlotKind slotKindOf(ValueKind K) {
  switch (K) {
  case ValueKind::Undef: return SlotKind::Undef;
  case ValueKind::Bool: return SlotKind::Bool;
  case ValueKind::Int: return SlotKind::Int;
  case ValueKind::Float: return SlotKind::Float;
  case ValueKind::Str: return SlotKind::Str;
  case ValueKind::Array: return SlotKind::Array;
  case ValueKind::Hash: return SlotKind::Hash;
  case ValueKind::Status: return SlotKind::Status;
  }
  return SlotKind::Unknown;
}

const char *slotKindName(SlotKind K) {
  static const char *const Names[] = {"unknown", "undef", "bool", "int", "float",
                                      "str", "array", "hash", "status"};
  unsigned I = unsigned(K);
  return I < sizeof Names / sizeof *Names ? Names[I] : "?";
}

const char *traceLookupName(TraceLookup L) {
  switch (L) {
  case TraceLookup::NotHot: return "not hot";
  case TraceLookup::StartRecording: return "start recording";
  case TraceLookup::Ran: return "ran";
  case TraceLookup::GuardMismatch: return "guard mismatch";
  case TraceLookup::Skip: return "skip";
  }
  return "?";
}

const char *traceAbortReasonName(TraceAbortReason R) {
  switch (R) {
  case TraceAbortReason::TooLong: return "too long";
  case TraceAbortReason::InlineDepth: return "calls nested too deep";
  case TraceAbortReason::Recursion: return "recursion past the inline limit";
  case TraceAbortReason::LeavesFunction: return "leaves the function";
  case TraceAbortReason::InnerLoop: return "a called function loops";
  case TraceAbortReason::ScopeChange: return "opens or closes a scope in the loop's frame";
  case TraceAbortReason::TooManySlots: return "an exit would restore too many slots";
  case TraceAbortReason::StackTooDeep: return "an exit would hold too deep a stack";
  case TraceAbortReason::Error: return "the iteration raised a runtime error";
  }
  return "?";
}

TraceJitConfig
TraceJitConfig::withEnvironment(std::vector<std::string> *Warnings) const {
  TraceJitConfig C = *this;
  struct Var {
    const char *Name;
    uint32_t TraceJitConfig::*Field;
    uint32_t Min;
  } Vars[] = {
      {"FUSEVM_TRACE_THRESHOLD", &TraceJitConfig::TraceThreshold, 1},
      {"FUSEVM_TRACE_MAX_SIDE_EXITS", &TraceJitConfig::MaxSideExits, 0},
      {"FUSEVM_TRACE_MAX_INLINE_RECURSION", &TraceJitConfig::MaxInlineRecursion, 0},
      {"FUSEVM_TRACE_MAX_CHAIN", &TraceJitConfig::MaxTraceChain, 0},
      {"FUSEVM_TRACE_MAX_LEN", &TraceJitConfig::MaxTraceLen, 1},
      {"FUSEVM_TRACE_HOT_EXIT", &TraceJitConfig::HotExit, 1},
      {"FUSEVM_TRACE_MAX_ABORTS", &TraceJitConfig::MaxAborts, 1},
  };
  for (const Var &V : Vars) {
    const char *S = std::getenv(V.Name);
    if (!S)
      continue;
    char *End = nullptr;
    unsigned long N = std::strtoul(S, &End, 10);
    if (!*S || *End || N < V.Min || N > 1000000000ul) {
      if (Warnings)
        Warnings->push_back(std::string(V.Name) + "=" + S +
                            ": not a number in range; ignored");
      continue;
    }
    C.*V.Field = uint32_t(N);
  }
  return C;
}

//===-- Metadata -----------------------------------------------------------===//

namespace {

constexpr char MetaMagic[4] = {'F', 'V', 'M', 'T'};
constexpr uint32_t MetaVersion = 1;

} // namespace

/// Vectors go as a count and their elements, so that a reader checks the
/// count against the bytes left before it allocates anything (a hostile
/// count is refused, not a gigabyte allocation).
template <class T>
static void putVector(cereal::PortableBinaryOutputArchive &A,
                      const std::vector<T> &V) {
  A(uint64_t(V.size()));
  for (const T &E : V)
    A(E);
}
template <class T, class Read>
static bool getVector(cereal::PortableBinaryInputArchive &A, size_t Left,
                      size_t MinBytes, std::vector<T> &V, Read ReadOne) {
  uint64_t N;
  A(N);
  if (N > Left / MinBytes)
    return false;
  V.resize(size_t(N));
  for (T &E : V)
    ReadOne(E);
  return true;
}

std::string TraceMetadata::exportBytes() const {
  std::ostringstream OS;
  OS.write(MetaMagic, 4);
  {
    cereal::PortableBinaryOutputArchive A(OS);
    A(MetaVersion, ChunkOpHash, Func, Anchor, Fallthrough, SideTraces);
    A(uint64_t(Ops.size()));
    for (const TraceOp &O : Ops)
      A(O.Ip, O.Func, O.Depth, O.Branch, uint8_t(O.Top), uint8_t(O.Second));
    std::vector<uint8_t> Slots, Stack;
    for (SlotKind K : AnchorSlots)
      Slots.push_back(uint8_t(K));
    for (SlotKind K : AnchorStack)
      Stack.push_back(uint8_t(K));
    putVector(A, Slots);
    putVector(A, Stack);
    putVector(A, Marks);
  }
  return OS.str();
}

llvm::Expected<TraceMetadata> TraceMetadata::importBytes(std::string_view Bytes,
                                                         const Chunk &C) {
  auto Bad = [](const std::string &Why) {
    return makeError(ExitRejected, "", 0, "trace metadata refused: " + Why);
  };
  if (Bytes.size() < 4 || std::memcmp(Bytes.data(), MetaMagic, 4) != 0)
    return Bad("not trace metadata");
  TraceMetadata M;
  uint32_t Version = 0;
  std::vector<uint8_t> Slots, Stack;
  size_t Left = Bytes.size();
  try {
    std::istringstream IS(std::string(Bytes.substr(4)));
    cereal::PortableBinaryInputArchive A(IS);
    A(Version);
    if (Version != MetaVersion)
      return Bad("version " + std::to_string(Version) + ", not " +
                 std::to_string(MetaVersion));
    A(M.ChunkOpHash, M.Func, M.Anchor, M.Fallthrough, M.SideTraces);
    bool Ok = getVector(A, Left, 12, M.Ops, [&](TraceOp &O) {
      uint8_t Top, Second;
      A(O.Ip, O.Func, O.Depth, O.Branch, Top, Second);
      O.Top = SlotKind(Top);
      O.Second = SlotKind(Second);
    });
    auto Byte = [&](uint8_t &B) { A(B); };
    Ok = Ok && getVector(A, Left, 1, Slots, Byte) &&
         getVector(A, Left, 1, Stack, Byte) &&
         getVector(A, Left, 1, M.Marks, Byte);
    if (!Ok)
      return Bad("a count larger than the bytes");
  } catch (const std::exception &E) {
    return Bad(std::string("truncated or corrupt (") + E.what() + ")");
  }
  if (M.ChunkOpHash != C.opHash())
    return Bad("made for another program (op hash differs)");
  if (M.Func >= C.Functions.size())
    return Bad("no such function");
  const FunctionDef &F = C.Functions[M.Func];
  if (M.Anchor < F.Entry || M.Anchor >= F.End)
    return Bad("the anchor is not in its function");
  if (M.Marks.size() != F.End - F.Entry)
    return Bad("marks do not cover the function");
  for (uint8_t Mk : M.Marks)
    if (Mk > 4)
      return Bad("unknown mark");
  for (const TraceOp &O : M.Ops)
    if (O.Ip >= C.Ops.size() || O.Func >= C.Functions.size() ||
        uint8_t(O.Top) > 8 || uint8_t(O.Second) > 8 || O.Branch < -1 ||
        O.Branch > 1)
      return Bad("a recorded op is out of range");
  for (uint8_t K : Slots) {
    if (K > 8)
      return Bad("unknown slot kind");
    M.AnchorSlots.push_back(SlotKind(K));
  }
  for (uint8_t K : Stack) {
    if (K > 8)
      return Bad("unknown stack kind");
    M.AnchorStack.push_back(SlotKind(K));
  }
  return M;
}

//===-- Loop anchors and regions ---------------------------------------------===//

std::vector<uint32_t> loopAnchors(const Chunk &C) {
  std::vector<uint32_t> A;
  for (uint32_t Ip = 0; Ip < C.Ops.size(); ++Ip) {
    const Instr &I = C.Ops[Ip];
    if (hasFlag(I.Op, OpBranch) && I.Target <= Ip)
      A.push_back(I.Target);
  }
  std::sort(A.begin(), A.end());
  A.erase(std::unique(A.begin(), A.end()), A.end());
  return A;
}

JitRegion findJitRegion(const Chunk &C, uint32_t Func) {
  JitRegion Best;
  Best.Func = Func;
  if (Func >= C.Functions.size())
    return Best;
  llvm::Expected<VerifyInfo> Info = verify(C);
  if (!Info) {
    llvm::consumeError(Info.takeError());
    return Best;
  }
  const FunctionDef &F = C.Functions[Func];
  // Ops a region cannot hold: it must run from its first op to its end.
  auto Excluded = [&](const Instr &I) {
    switch (I.Op) {
    case Opcode::Call: case Opcode::Return: case Opcode::ReturnValue:
    case Opcode::PushFrame: case Opcode::PopFrame:
      return true;
    default:
      return false;
    }
  };
  // Maximal runs without excluded ops, then within each the longest
  // [B, E) with empty stacks at both ends and no jump crossing its edges.
  uint32_t Ip = F.Entry;
  while (Ip < F.End) {
    while (Ip < F.End && Excluded(C.Ops[Ip]))
      ++Ip;
    uint32_t RunEnd = Ip;
    while (RunEnd < F.End && !Excluded(C.Ops[RunEnd]))
      ++RunEnd;
    for (uint32_t B = Ip; B < RunEnd; ++B) {
      if (Info->Height[B] != 0 || Info->Depth[B] != 0)
        continue;
      for (uint32_t E = RunEnd; E > B + Best.End - Best.Begin; --E) {
        if (E < F.End && (Info->Height[E] != 0 || Info->Depth[E] != 0))
          continue;
        if (E == F.End)
          continue; // a region ends before an op
        bool Closed = true;
        for (uint32_t K = F.Entry; K < F.End && Closed; ++K) {
          const Instr &I = C.Ops[K];
          if (!hasFlag(I.Op, OpBranch))
            continue;
          bool Inside = K >= B && K < E, ToInside = I.Target >= B && I.Target < E;
          // Jumps inside stay inside (or go to E, the region's end); none
          // from outside come in past its first op.
          if (Inside && !ToInside && I.Target != E)
            Closed = false;
          if (!Inside && ToInside && I.Target != B)
            Closed = false;
        }
        if (Closed) {
          Best.Begin = B;
          Best.End = E;
          break;
        }
      }
    }
    Ip = RunEnd;
  }
  return Best;
}

llvm::Expected<Chunk> extractRegion(const Chunk &C, const JitRegion &R) {
  if (R.Func >= C.Functions.size() || R.Begin >= R.End ||
      R.Begin < C.Functions[R.Func].Entry || R.End > C.Functions[R.Func].End)
    return makeError(ExitRejected, C.SourceName, 0, "no such region");
  Chunk X;
  X.SourceName = C.SourceName;
  X.Constants = C.Constants;
  X.Names = C.Names;
  X.ExtOps = C.ExtOps;
  for (uint32_t Ip = R.Begin; Ip < R.End; ++Ip) {
    Instr I = C.Ops[Ip];
    if (hasFlag(I.Op, OpBranch))
      I.Target -= R.Begin;
    X.Ops.push_back(I);
    X.Lines.push_back(C.lineOf(Ip));
  }
  X.Ops.push_back(Instr(Opcode::Return));
  X.Lines.push_back(C.lineOf(R.End));
  FunctionDef Main;
  Main.Name = C.Functions[R.Func].Name;
  Main.Arity = 0;
  Main.Entry = 0;
  Main.End = uint32_t(X.Ops.size());
  X.Functions.push_back(Main);
  llvm::Expected<VerifyInfo> V = verify(X);
  if (!V)
    return V.takeError();
  return X;
}

} // namespace fusevm
