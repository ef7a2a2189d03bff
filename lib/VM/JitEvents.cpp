//===- JitEvents.cpp - Formatting and counting JIT events -----------------===//

#include "fusevm/JIT/Events.h"

#include <algorithm>
#include <cstdio>

namespace fusevm {

JitEventListener::~JitEventListener() = default;

static std::string kindList(const std::vector<KindMask> &Masks) {
  std::string S;
  for (KindMask M : Masks) {
    if (!S.empty())
      S += ", ";
    S += M == AnyKind ? "any" : kindName(ValueKind(__builtin_ctz(M)));
  }
  return S;
}

std::string formatJitEvent(const JitEvent &E) {
  const std::string &F = E.Function;
  auto At = [&] { return "line " + std::to_string(E.Line); };
  switch (E.K) {
  case JitEvent::Compiled: {
    if (E.Trace) {
      char Ms[48];
      std::snprintf(Ms, sizeof Ms, "%.2f ms", E.Ms);
      std::string S = "jit: compiled the trace at " + At() + " in " + F + " (" +
                      std::to_string(E.Ops) + " ops recorded";
      if (E.SideTraces)
        S += ", " + std::to_string(E.SideTraces) + " side trace" +
             (E.SideTraces > 1 ? "s" : "");
      return S + ") " +
             (E.FromCache ? std::string("loaded from the code cache in ") + Ms
                          : std::string("in ") + Ms +
                                (E.Background ? " in the background" : ""));
    }
    std::string S = "jit: compiled " + F + " (" +
                    (E.Linear ? "linear" : "block") + " tier, " +
                    std::to_string(E.Ops) + " ops";
    if (!E.Params.empty())
      S += ", params: " + kindList(E.Params);
    if (E.Osr)
      S += ", entered mid-loop at " + At();
    char Ms[48];
    std::snprintf(Ms, sizeof Ms, "%.2f ms", E.Ms);
    S += ") ";
    if (E.FromCache)
      return S + "loaded from the code cache in " + Ms;
    if (!E.Generated)
      return S + "reusing this process's code for the same request";
    return S + "in " + Ms + " at -O" + std::to_string(E.OptLevel) +
           (E.Level == JitLevel::Baseline ? " (baseline)" : "") +
           (E.Background ? " in the background" : "");
  }
  case JitEvent::Skipped:
    return "jit: skip " + F + ": " + E.Reason;
  case JitEvent::Uncompiled:
    return "jit: left " + F + " uncompiled: " + E.Reason;
  case JitEvent::OsrEntry:
    return "jit: " + F + " ran native code entered mid-loop at " + At();
  case JitEvent::Deopt:
    return "jit: " + F + " deoptimised at " + At() + ": " + E.Reason;
  case JitEvent::Recompile:
    return "jit: " + F + ": " + E.Reason;
  case JitEvent::TraceStart:
    return "jit: trace start at " + At() + " in " + F +
           (E.Reason.empty() ? "" : " (" + E.Reason + ")");
  case JitEvent::TraceStop:
    return "jit: trace stop at " + At() + " in " + F + ": " + E.Reason;
  case JitEvent::TraceAbort:
    return "jit: trace abort at " + At() + " in " + F + ": " + E.Reason;
  case JitEvent::SideExit:
    return "jit: side exit at " + At() + " in " + F + " (" + E.Reason + ")";
  case JitEvent::SideTrace:
    return "jit: side trace into the trace at " + At() + " in " + F + ", " +
           E.Reason;
  case JitEvent::TraceBlacklist:
    return "jit: blacklisted the loop at " + At() + " in " + F + ": " + E.Reason;
  case JitEvent::CacheHit:
    return "jit: cache hit: " + F + (E.Osr ? " (entry at " + At() + ")" : "");
  case JitEvent::CacheMiss:
    return "jit: cache miss: " + F + (E.Osr ? " (entry at " + At() + ")" : "");
  case JitEvent::CacheStore:
    return "jit: cache store: " + F + (E.Osr ? " (entry at " + At() + ")" : "");
  case JitEvent::CacheReject:
    return "jit: cache reject: " + (F.empty() ? std::string() : F + ": ") +
           E.Reason + "; dropped the entry";
  }
  return "jit: ?";
}

void JitStatsListener::onJitEvent(const JitEvent &E) {
  switch (E.K) {
  case JitEvent::Compiled:
    TracesCompiled += E.Trace;
    if (E.Generated) {
      ++LLVMCompiles;
      CompileMs += E.Ms;
      ++LevelCompiles[unsigned(E.Level)];
      LevelMs[unsigned(E.Level)] += E.Ms;
    }
    if (!E.Trace)
      ++(E.Linear ? LinearCompiled : BlockCompiled);
    break;
  case JitEvent::OsrEntry: ++OsrEntries; break;
  case JitEvent::Deopt: ++Deopts; break;
  case JitEvent::Recompile: ++Recompiles; break;
  case JitEvent::CacheHit:
    ++CacheHits;
    CacheLoadMs += E.Ms;
    break;
  case JitEvent::CacheMiss: ++CacheMisses; break;
  case JitEvent::CacheStore: ++CacheStores; break;
  case JitEvent::CacheReject: {
    std::string Why = E.Reason.substr(0, E.Reason.find(':'));
    auto It = std::find_if(CacheRejects.begin(), CacheRejects.end(),
                           [&](const auto &P) { return P.first == Why; });
    if (It == CacheRejects.end())
      CacheRejects.push_back({Why, 1});
    else
      ++It->second;
    break;
  }
  case JitEvent::Skipped: case JitEvent::Uncompiled:
  case JitEvent::TraceStart: case JitEvent::TraceStop:
  case JitEvent::TraceAbort: case JitEvent::SideExit:
  case JitEvent::SideTrace: case JitEvent::TraceBlacklist:
    break;
  }
}

} // namespace fusevm
