//===- CachingEngine.cpp - Native tiers with a code cache -----------------===//
//
// \file
// See fusevm/Cache/CachingEngine.h and docs/cache.md. Loading goes
// through ObjectLoader (no LLVM) for hits and misses alike, so what a warm
// run executes is byte for byte what the cold run executed.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Cache/CachingEngine.h"

#include "ObjectLoader.h"

#include "fusevm/CodegenId.h"
#include "fusevm/Config.h"

#include "llvm/Config/llvm-config.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

#if defined(__x86_64__)
#include <cpuid.h>
#else
#include <sys/auxv.h>
#endif

namespace fusevm {

//===-- Keys ---------------------------------------------------------------===//

namespace {

void hostCpu(std::string &Name, std::string &Features) {
  char Buf[160];
#if defined(__x86_64__)
  unsigned A, B, C, D, Max = __get_cpuid_max(0, nullptr);
  char Vendor[13] = {};
  __cpuid(0, A, B, C, D);
  std::memcpy(Vendor, &B, 4);
  std::memcpy(Vendor + 4, &D, 4);
  std::memcpy(Vendor + 8, &C, 4);
  __cpuid(1, A, B, C, D);
  unsigned Family = (A >> 8) & 15, Model = (A >> 4) & 15;
  if (Family == 15)
    Family += (A >> 20) & 255;
  if (Family == 6 || Family >= 15)
    Model += ((A >> 16) & 15) << 4;
  std::snprintf(Buf, sizeof Buf, "%s family %u model %u stepping %u", Vendor,
                Family, Model, A & 15);
  Name = Buf;
  // The feature words LLVM's host detection reads (not leaf 1's EBX: it
  // holds the APIC id of the core we run on).
  unsigned Words[10] = {C, D};
  if (Max >= 7) {
    __cpuid_count(7, 0, A, B, C, D);
    Words[2] = B, Words[3] = C, Words[4] = D;
    __cpuid_count(7, 1, A, B, C, D);
    Words[5] = A;
  }
  if (Max >= 13) {
    __cpuid_count(13, 1, A, B, C, D);
    Words[6] = A;
  }
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000001) {
    __cpuid(0x80000001, A, B, C, D);
    Words[7] = C, Words[8] = D;
  }
  if (Words[0] & (1u << 27)) { // OSXSAVE: which register state the OS saves
    unsigned Lo, Hi;
    __asm__("xgetbv" : "=a"(Lo), "=d"(Hi) : "c"(0));
    Words[9] = Lo;
  }
  Features.clear();
  for (unsigned W : Words) {
    std::snprintf(Buf, sizeof Buf, "%08x", W);
    Features += Buf;
  }
#else
  Name = "generic";
  std::snprintf(Buf, sizeof Buf, "%016lx%016lx", getauxval(AT_HWCAP),
                getauxval(AT_HWCAP2));
  Features = Buf;
#endif
}

template <typename T> void put(std::string &S, const T &V) {
  S.append(reinterpret_cast<const char *>(&V), sizeof V);
}
template <typename T> void put(std::string &S, const std::vector<T> &V) {
  put(S, uint32_t(V.size()));
  if (!V.empty())
    S.append(reinterpret_cast<const char *>(V.data()), V.size() * sizeof(T));
}

/// Reads what put() wrote, never past the end.
class Reader {
public:
  explicit Reader(const std::string &S) : S(S) {}
  template <typename T> bool get(T &V) {
    if (S.size() - Pos < sizeof V)
      return false;
    std::memcpy(&V, S.data() + Pos, sizeof V);
    Pos += sizeof V;
    return true;
  }
  template <typename T> bool get(std::vector<T> &V) {
    uint32_t N;
    if (!get(N) || (S.size() - Pos) / sizeof(T) < N)
      return false;
    V.resize(N);
    if (N) // memcpy's pointers must not be null, even for no bytes
      std::memcpy(V.data(), S.data() + Pos, N * sizeof(T));
    Pos += N * sizeof(T);
    return true;
  }
  bool done() const { return Pos == S.size(); }

private:
  const std::string &S;
  size_t Pos = 0;
};

constexpr uint8_t RequestEncoding = 3;

} // namespace

CacheKeyParts hostKeyParts(unsigned OptLevel) {
  CacheKeyParts P;
  P.OptLevel = OptLevel;
  P.Triple = LLVM_HOST_TRIPLE;
  hostCpu(P.CpuName, P.CpuFeatures);
  P.LlvmVersion = LLVM_VERSION_STRING;
  P.FusevmVersion = FUSEVM_VERSION_STRING;
  P.FormatVersion = FormatVersion * 1000 + CodeCache::SchemaVersion;
  P.CodegenId = FUSEVM_CODEGEN_ID;
  return P;
}

std::string encodeRequest(const JitRequest &R) {
  std::string S;
  put(S, RequestEncoding);
  put(S, R.Func);
  put(S, uint8_t(R.Linear));
  put(S, uint8_t(R.Level));
  put(S, uint8_t(R.Budget));
  put(S, R.OsrIp);
  put(S, R.ParamMasks);
  std::vector<uint8_t> Slots, Stack;
  for (ValueKind K : R.OsrSlots)
    Slots.push_back(uint8_t(K));
  for (ValueKind K : R.OsrStack)
    Stack.push_back(uint8_t(K));
  put(S, Slots);
  put(S, Stack);
  put(S, R.NoSpeculation);
  put(S, R.Trace);
  put(S, uint8_t(R.TraceStress));
  put(S, uint32_t(R.TraceCallees.size()));
  for (const JitRequest::Callee &Ce : R.TraceCallees) {
    put(S, Ce.Func);
    put(S, Ce.Params);
    put(S, Ce.NoSpeculation);
  }
  put(S, R.GlobalKinds);
  put(S, R.ElementKinds);
  return S;
}

/// JitRequest::TraceStress and TraceCallees, as encodeRequest wrote them.
template <typename ReaderT> static bool getCallees(ReaderT &In, JitRequest &R) {
  uint8_t Stress;
  uint32_t N;
  if (!In.get(Stress) || Stress > 1 || !In.get(N) || N > 4096)
    return false;
  R.TraceStress = Stress;
  R.TraceCallees.assign(N, JitRequest::Callee());
  for (JitRequest::Callee &Ce : R.TraceCallees)
    if (!In.get(Ce.Func) || !In.get(Ce.Params) || !In.get(Ce.NoSpeculation))
      return false;
  return true;
}

bool decodeRequest(const std::string &Bytes, JitRequest &R) {
  Reader In(Bytes);
  uint8_t Enc, Linear, Level, Budget;
  std::vector<uint8_t> Slots, Stack;
  if (!In.get(Enc) || Enc != RequestEncoding || !In.get(R.Func) ||
      !In.get(Linear) || !In.get(Level) || !In.get(Budget) || !In.get(R.OsrIp) ||
      !In.get(R.ParamMasks) || !In.get(Slots) || !In.get(Stack) ||
      !In.get(R.NoSpeculation) || !In.get(R.Trace) || !getCallees(In, R) ||
      !In.get(R.GlobalKinds) ||
      !In.get(R.ElementKinds) || !In.done() || Level > 1 || Linear > 1 ||
      Budget > 1)
    return false;
  R.Linear = Linear, R.Level = JitLevel(Level), R.Budget = Budget;
  R.OsrSlots.clear();
  R.OsrStack.clear();
  for (uint8_t K : Slots)
    R.OsrSlots.push_back(ValueKind(K));
  for (uint8_t K : Stack)
    R.OsrStack.push_back(ValueKind(K));
  return true;
}

CacheKeyParts requestKeyParts(const CacheKeyParts &Host, const JitRequest &R) {
  CacheKeyParts P = Host;
  std::string Chunk = R.ChunkKey;
  if (Chunk.size() < 8) {
    uint64_t H = R.C->opHash();
    Chunk.assign(reinterpret_cast<const char *>(&H), sizeof H);
    Chunk += R.C->contentDigest();
  }
  std::memcpy(&P.OpHash, Chunk.data(), 8);
  P.ChunkDigest = Chunk.substr(8);
  P.Func = R.Func;
  P.Anchor = R.OsrIp;
  P.Tier = !R.Trace.empty() ? 3 : R.Linear ? 1 : 2;
  P.Level = uint8_t(R.Level);
  P.Specialisation = encodeRequest(R);
  return P;
}

//===-- The engine ---------------------------------------------------------===//

namespace {

double msSince(std::chrono::steady_clock::time_point T0) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - T0)
      .count();
}

class CachedJit final : public CachingEngine {
public:
  CachedJit(JitEngine &Inner, const CacheConfig &Cfg,
                std::unique_ptr<CodeCache> Cache)
      : Inner(Inner), Cfg(Cfg), Cache(std::move(Cache)),
        Host(hostKeyParts(Cfg.OptLevel)), Resolve(runtimeSymbolResolver()) {
    Host.Extra = Cfg.ExtraKey;
  }

  bool compile(const JitRequest &R, JitResult &Out, std::string &Why) override;
  bool compileObject(const JitRequest &R, std::string &Object,
                     std::string &Why) override;
  WarmStart warmUnits(const JitRequest &Chunk) override;
  void finish() override {
    std::lock_guard<std::mutex> Lock(M);
    Cache->close();
  }

private:
  /// Loads \p Object and finds its entry points; false says why.
  /// \p Osr: the request has an on-stack-replacement entry (main's has
  /// no other).
  bool load(const std::string &Object, bool Osr, JitResult &Out,
            std::string &Why);
  void warn(const std::string &W);

  JitEngine &Inner;
  CacheConfig Cfg;
  std::unique_ptr<CodeCache> Cache;
  CacheKeyParts Host;
  SymbolResolver Resolve;
  std::mutex M; ///< warm starts and compiles may come from two threads
  /// Code loaded in this process, by key.
  std::unordered_map<std::string, JitResult> Loaded;
  bool StoreFailed = false;
};

void CachedJit::warn(const std::string &W) {
  if (Cfg.Warn)
    Cfg.Warn(W);
  else
    std::fprintf(stderr, "fusevm: warning: %s\n", W.c_str());
}

bool CachedJit::load(const std::string &Object, bool Osr, JitResult &Out,
                     std::string &Why) {
  LoadedObject L;
  if (!loadObject(Object, Resolve, L, Why))
    return false;
  auto Find = [&](std::string_view Suffix) -> void * {
    for (const auto &[Name, Addr] : L.Symbols)
      if (Name.size() > Suffix.size() &&
          Name.compare(Name.size() - Suffix.size(), Suffix.size(), Suffix) == 0)
        return Addr;
    return nullptr;
  };
  Out.Entry = reinterpret_cast<NativeEntryFn>(Find(".entry"));
  Out.Fast = Find(".fast");
  Out.Osr = reinterpret_cast<NativeOsrFn>(Find(".osr"));
  if (!Out.Osr) // a trace's entry
    Out.Osr = reinterpret_cast<NativeOsrFn>(Find(".trace"));
  if (Osr ? !Out.Osr : !Out.Entry || !Out.Fast) {
    Why = "no entry points in the object";
    return false;
  }
  return true;
}

bool CachedJit::compile(const JitRequest &R, JitResult &Out,
                            std::string &Why) {
  auto T0 = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> Lock(M);
  struct Notes {
    CachedJit &J;
    ~Notes() {
      for (const std::string &N : J.Cache->takeNotes())
        J.warn(N);
    }
  } ReportNotes{*this};
  CacheKeyParts P = requestKeyParts(Host, R);
  std::string Key = P.key(), Chunk = P.chunk(), Target = P.target();
  if (auto It = Loaded.find(Key); It != Loaded.end()) {
    Out = It->second;
    Out.Generated = false;
    Out.Cache = JitResult::CacheOutcome::None;
    Out.Ms = msSince(T0);
    return true;
  }
  Out = JitResult();
  Out.OptLevel = R.Level == JitLevel::Baseline ? 0 : Cfg.OptLevel;
  CacheUnit U;
  std::string Reject;
  if (Cache->lookup(Key, Chunk, Target, U, Reject)) {
    std::string LoadWhy;
    if (load(U.Object, R.OsrIp >= 0, Out, LoadWhy)) {
      Out.Cache = JitResult::CacheOutcome::Hit;
      Out.Ms = msSince(T0);
      Loaded[Key] = Out;
      return true;
    }
    Reject = "loader: " + LoadWhy;
    Cache->drop(Key);
  }
  // A miss: generate, keep, and load what was kept.
  std::string Object;
  if (!Inner.compileObject(R, Object, Why))
    return false;
  std::string LoadWhy;
  if (!load(Object, R.OsrIp >= 0, Out, LoadWhy)) {
    // An object our loader cannot take (a relocation it does not know):
    // run it through the inner engine's own loader, uncached.
    warn("cannot cache code for " + R.C->functionName(R.Func) + ": " + LoadWhy);
    if (!Inner.compile(R, Out, Why))
      return false;
    Out.CacheReject = Reject;
    Out.Cache = JitResult::CacheOutcome::Miss;
    return true;
  }
  Out.Generated = true;
  Out.Cache = JitResult::CacheOutcome::Miss;
  Out.CacheReject = Reject;
  U = CacheUnit();
  U.Key = Key;
  U.Chunk = Chunk;
  U.Target = Target;
  U.Func = R.Func;
  U.Osr = R.OsrIp;
  U.Level = uint8_t(R.Level);
  U.Request = P.Specialisation;
  U.Meta = R.TraceMeta;
  U.Object = std::move(Object);
  std::string Warning;
  Out.Stored = !StoreFailed && Cache->store(U, Warning);
  if (!Out.Stored && !StoreFailed) {
    // Once per process: the run goes on without storing (a full disk or a
    // lock held by someone else would only fail, or wait, again).
    StoreFailed = true;
    warn(Warning + "; running without storing code");
  }
  Out.Ms = msSince(T0);
  Loaded[Key] = Out;
  return true;
}

bool CachedJit::compileObject(const JitRequest &R, std::string &Object,
                                  std::string &Why) {
  return Inner.compileObject(R, Object, Why);
}

WarmStart CachedJit::warmUnits(const JitRequest &Chunk) {
  auto T0 = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> Lock(M);
  WarmStart W;
  for (const std::string &N : Cache->takeNotes())
    warn(N);
  CacheKeyParts P = requestKeyParts(Host, Chunk);
  std::vector<CacheUnit> Units =
      Cache->unitsFor(P.chunk(), P.target(), W.Rejects);
  std::vector<std::pair<const CacheUnit *, JitRequest>> Good;
  for (const CacheUnit &U : Units) {
    JitRequest R;
    if (!decodeRequest(U.Request, R) || R.Func != U.Func || R.OsrIp != U.Osr ||
        U.Func >= Chunk.C->Functions.size() ||
        (R.OsrIp >= 0 && uint64_t(R.OsrIp) >= Chunk.C->Ops.size())) {
      W.Rejects.push_back("request");
      Cache->drop(U.Key);
      continue;
    }
    // The key must be the one this request makes (a row copied under
    // another key is not ours to run).
    R.C = Chunk.C;
    R.ChunkKey = Chunk.ChunkKey;
    if (requestKeyParts(Host, R).key() != U.Key) {
      W.Rejects.push_back("key");
      Cache->drop(U.Key);
      continue;
    }
    Good.push_back({&U, std::move(R)});
  }
  // Baseline code is not needed where optimised code for the same entry
  // is there to take its place.
  auto Dominated = [&](const JitRequest &R) {
    if (R.Level != JitLevel::Baseline)
      return false;
    for (const auto &[U, O] : Good)
      if (O.Level == JitLevel::Optimised && O.Func == R.Func &&
          O.OsrIp == R.OsrIp && O.Linear == R.Linear && O.Budget == R.Budget)
        return true;
    return false;
  };
  for (const auto &[U, R] : Good) {
    if (Dominated(R))
      continue;
    auto T1 = std::chrono::steady_clock::now();
    WarmUnit WU;
    std::string Why;
    if (!load(U->Object, R.OsrIp >= 0, WU.Res, Why)) {
      W.Rejects.push_back("loader: " + Why);
      Cache->drop(U->Key);
      continue;
    }
    WU.Res.Cache = JitResult::CacheOutcome::Hit;
    WU.Res.OptLevel = R.Level == JitLevel::Baseline ? 0 : Cfg.OptLevel;
    WU.Res.Ms = msSince(T1);
    WU.Func = R.Func;
    WU.OsrIp = R.OsrIp;
    WU.Level = R.Level;
    WU.Linear = R.Linear;
    WU.Budget = R.Budget;
    WU.Trace = !R.Trace.empty();
    WU.TraceMeta = U->Meta;
    if (WU.Trace) {
      WU.OsrSlots = R.OsrSlots;
      WU.OsrStack = R.OsrStack;
      WU.Marks = R.Trace;
      WU.NoSpeculation = R.NoSpeculation;
      WU.Callees = R.TraceCallees;
    }
    WU.Params = R.ParamMasks;
    Loaded[U->Key] = WU.Res;
    W.Units.push_back(std::move(WU));
  }
  for (const std::string &N : Cache->takeNotes())
    warn(N);
  W.Ms = msSince(T0);
  return W;
}

} // namespace

std::unique_ptr<CachingEngine> createCachingEngine(JitEngine &Inner,
                                                   const CacheConfig &Cfg,
                                                   std::string &Warning) {
#if !defined(__x86_64__)
  Warning = "the code cache loads x86-64 code only; running uncached";
  return nullptr;
#else
  std::unique_ptr<CodeCache> Cache = CodeCache::open(Cfg.Dir, Warning, Cfg.Vfs);
  if (!Cache)
    return nullptr;
  Cache->setMaxBytes(Cfg.MaxBytes);
  if (!Cache->usable())
    Warning = Cache->path() + " has cache schema version " +
              std::to_string(Cache->schema()) + ", this fusevm uses " +
              std::to_string(CodeCache::SchemaVersion) +
              "; running without it (`fusevm cache clear` starts it over)";
  else if (!Warning.empty()) {
    // Opened, after moving a broken database aside: say so, and go on.
    if (Cfg.Warn)
      Cfg.Warn(Warning);
    else
      std::fprintf(stderr, "fusevm: warning: %s\n", Warning.c_str());
    Warning.clear();
  }
  if (!Cache->usable())
    return nullptr;
  return std::make_unique<CachedJit>(Inner, Cfg, std::move(Cache));
#endif
}

} // namespace fusevm
