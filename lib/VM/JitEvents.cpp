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
    if (E.Generated) {
      ++LLVMCompiles;
      CompileMs += E.Ms;
      ++LevelCompiles[unsigned(E.Level)];
      LevelMs[unsigned(E.Level)] += E.Ms;
    }
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
  case JitEvent::Skipped: case JitEvent::Uncompiled: break;
  }
}

} // namespace fusevm
