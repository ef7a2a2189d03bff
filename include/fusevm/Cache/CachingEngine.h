//===- fusevm/Cache/CachingEngine.h - Native tiers with a code cache --*- C++ -*-===//
//
// \file
// A JitEngine in front of another (the LLVM engine, or its plugin): each
// request is first looked up in the code cache (fusevm/Cache/CodeCache.h)
// under a key naming everything the code depends on, and a hit is loaded
// by a small loader of our own (no LLVM, no code generation); a miss is
// compiled by the inner engine and stored. A warm run also installs, at
// its start, every unit kept for its program (JitEngine::warmUnits).
//
// An embedder points a VM at a cache like this:
//
//   auto Jit = createJitEnginePlugin(JitOptions());
//   CacheConfig Cfg;
//   Cfg.Dir = "/home/me/.fusevm";
//   std::string Warning;
//   auto Cached = createCachingEngine(*Jit, Cfg, Warning); // null: uncached
//   RunOptions O;
//   O.Jit = Cached ? Cached.get() : Jit.get();
//
// Nothing the cache does can change a program's output or make it fail:
// a bad entry is a miss, a cache that cannot be used is a warning.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CACHE_CACHINGENGINE_H
#define FUSEVM_CACHE_CACHINGENGINE_H

#include "fusevm/Cache/CodeCache.h"
#include "fusevm/JIT/Native.h"

#include <functional>
#include <memory>
#include <string>

namespace fusevm {

struct CacheConfig {
  std::string Dir;
  /// The optimisation level of the engine behind (part of every key).
  unsigned OptLevel = 2;
  /// Stores evict least recently used units beyond this many bytes.
  uint64_t MaxBytes = CodeCache::DefaultMaxBytes;
  /// An SQLite VFS to open the database through (tests inject faults).
  const char *Vfs = nullptr;
  /// Part of every key: an embedder whose engine has JitExtensions names
  /// their version here, so that code they lowered differently is never
  /// found.
  std::string ExtraKey;
  /// Receives each warning (one line, without a prefix: the cache cannot
  /// be written, a database was corrupt, ...); default: stderr with
  /// "fusevm: warning: ". Called from the thread that compiles.
  std::function<void(const std::string &)> Warn;
};

class CachingEngine : public JitEngine {
public:
  /// The end of the process's use: writes what is not written yet (hit
  /// counts and use times, for eviction) and closes the database, which
  /// folds its write-ahead log in. Later requests compile uncached. Also
  /// done by the destructor (for a process that exits without
  /// destructors, call this first).
  virtual void finish() = 0;
};

/// A caching engine in front of \p Inner (which must outlive it). Null,
/// with the reason in \p Warning, when the cache cannot be used: run with
/// \p Inner alone.
std::unique_ptr<CachingEngine> createCachingEngine(JitEngine &Inner,
                                                   const CacheConfig &Cfg,
                                                   std::string &Warning);

/// The key parts of this machine and build: triple, CPU and its features
/// (from CPUID: what LLVM's host CPU name and features derive from), LLVM,
/// fusevm, format and code generator versions, at \p OptLevel.
CacheKeyParts hostKeyParts(unsigned OptLevel);

/// The parts of \p R's key: hostKeyParts plus the chunk, unit, tier,
/// level and specialisation of the request.
CacheKeyParts requestKeyParts(const CacheKeyParts &Host, const JitRequest &R);

/// The bytes of \p R's specialisation (what CacheUnit::Request holds), and
/// back; false for bytes that do not parse.
std::string encodeRequest(const JitRequest &R);
bool decodeRequest(const std::string &Bytes, JitRequest &R);

} // namespace fusevm

#endif // FUSEVM_CACHE_CACHINGENGINE_H
