//===- CacheTest.cpp - The code cache, its keys, loader and faults --------===//

#include "TestUtil.h"

#include "../../lib/VM/ObjectLoader.h"

#include "fusevm/Cache/CachingEngine.h"
#include "fusevm/Cache/CodeCache.h"
#include "fusevm/JIT/JIT.h"
#include "fusevm/Verify/Verifier.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>

using namespace fusevm;
using namespace fusevm::test;

namespace {

/// A fresh directory under the test's temporary directory, removed at the
/// end of the test.
class TempDir {
public:
  TempDir() {
    std::string T = (std::filesystem::temp_directory_path() / "fvmcacheXXXXXX");
    Path = ::mkdtemp(T.data());
  }
  ~TempDir() { std::filesystem::remove_all(Path); }
  std::string sub(const std::string &Name) const { return Path + "/" + Name; }
  std::string Path;
};

/// A loop calling a function with a float and an int parameter, a global
/// and a string: several units, both tiers' shapes.
const char *Program =
    "LoadInt 0\nSetSlot 0\nLoadFloat 0.5\nSetVar g\n"
    "loop:\nGetSlot 0\nLoadInt 2000\nNumLt\nJumpIfFalse done\n"
    "GetSlot 0\nGetVar g\nCall f 2\nPop\n"
    "GetSlot 0\nLoadInt 1\nAdd\nSetSlot 0\nJump loop\n"
    "done:\nGetSlot 0\nGetVar g\nCall f 2\nPrintLn 1\n"
    "LoadConst \"end\"\nPrintLn 1\nReturn\n"
    ".func f 2\nGetSlot 0\nGetSlot 1\nMul\nLoadInt 3\nAdd\nReturnValue\n.end\n";

RunOptions hot(JitEngine &J) {
  RunOptions O;
  O.Jit = &J;
  O.JitThreshold = 1;
  O.BackgroundCompile = false;
  return O;
}

/// Runs Program through a caching engine over \p Dir.
Outcome runCached(const std::string &Dir, const char *Vfs = nullptr,
                  std::string *Warnings = nullptr) {
  CacheConfig Cfg;
  Cfg.Dir = Dir;
  Cfg.Vfs = Vfs;
  std::string Collected;
  Cfg.Warn = [&](const std::string &W) { Collected += W + "\n"; };
  std::string Warning;
  std::unique_ptr<CachingEngine> J = createCachingEngine(engine(), Cfg, Warning);
  if (!J)
    Collected += Warning + "\n";
  VM Vm;
  Outcome O = runText(Program, {}, "", &Vm,
                      hot(J ? static_cast<JitEngine &>(*J) : engine()));
  if (Warnings)
    *Warnings = Collected;
  return O;
}

std::string expected() {
  static std::string Out = runText(Program).Out;
  return Out;
}

} // namespace

TEST(CacheKey, EveryComponentChangesTheKey) {
  CacheKeyParts Base = hostKeyParts(2);
  Base.OpHash = 42;
  Base.ChunkDigest = std::string(32, 'd');
  Base.Specialisation = "spec";
  std::vector<std::pair<const char *, std::function<void(CacheKeyParts &)>>>
      Changes = {
          {"op hash", [](CacheKeyParts &P) { ++P.OpHash; }},
          {"chunk digest", [](CacheKeyParts &P) { P.ChunkDigest[5] ^= 1; }},
          {"unit", [](CacheKeyParts &P) { ++P.Func; }},
          {"anchor", [](CacheKeyParts &P) { P.Anchor = 7; }},
          {"tier", [](CacheKeyParts &P) { P.Tier = 1; }},
          {"level", [](CacheKeyParts &P) { P.Level ^= 1; }},
          {"specialisation", [](CacheKeyParts &P) { P.Specialisation += "x"; }},
          {"opt level", [](CacheKeyParts &P) { P.OptLevel = 3; }},
          {"triple", [](CacheKeyParts &P) { P.Triple = "aarch64-linux-gnu"; }},
          {"cpu", [](CacheKeyParts &P) { P.CpuName += "x"; }},
          {"features", [](CacheKeyParts &P) { P.CpuFeatures[0] ^= 1; }},
          {"llvm", [](CacheKeyParts &P) { P.LlvmVersion = "20.1.0"; }},
          {"fusevm", [](CacheKeyParts &P) { P.FusevmVersion += ".1"; }},
          {"format", [](CacheKeyParts &P) { ++P.FormatVersion; }},
          {"codegen", [](CacheKeyParts &P) { P.CodegenId[0] ^= 1; }},
          {"extensions", [](CacheKeyParts &P) { P.Extra = "frontend 2"; }},
      };
  std::string K = Base.key();
  EXPECT_EQ(K.size(), 32u);
  EXPECT_EQ(Base.key(), K); // a pure function
  for (auto &[Name, Change] : Changes) {
    CacheKeyParts P = Base;
    Change(P);
    EXPECT_NE(P.key(), K) << Name;
  }
}

TEST(CacheKey, HostPartsNameThisMachine) {
  CacheKeyParts P = hostKeyParts(2);
  EXPECT_FALSE(P.Triple.empty());
  EXPECT_FALSE(P.CpuName.empty());
  EXPECT_FALSE(P.CpuFeatures.empty());
  EXPECT_EQ(hostKeyParts(2).key(), P.key());  // stable in a process
  EXPECT_NE(hostKeyParts(3).target(), P.target());
}

TEST(CacheKey, RequestsRoundTripAndHostileBytesAreRefused) {
  JitRequest R;
  R.Func = 3;
  R.Linear = true;
  R.Level = JitLevel::Baseline;
  R.OsrIp = 17;
  R.ParamMasks = {1, 2, AnyKind};
  R.OsrSlots = {ValueKind::Int, ValueKind::Float};
  R.OsrStack = {ValueKind::Str};
  R.NoSpeculation = {4, 9};
  R.GlobalKinds = {0, 4};
  R.ElementKinds = {8, 0};
  std::string B = encodeRequest(R);
  JitRequest Back;
  ASSERT_TRUE(decodeRequest(B, Back));
  EXPECT_EQ(encodeRequest(Back), B);
  EXPECT_EQ(Back.OsrIp, 17);
  EXPECT_EQ(Back.ParamMasks, R.ParamMasks);
  // Every truncation, and extra bytes, fail to parse (never read past).
  for (size_t N = 0; N < B.size(); ++N)
    EXPECT_FALSE(decodeRequest(B.substr(0, N), Back)) << N;
  EXPECT_FALSE(decodeRequest(B + "x", Back));
  std::mt19937 Rng(1);
  for (int I = 0; I < 2000; ++I) {
    std::string M = B;
    M[Rng() % M.size()] = char(Rng());
    decodeRequest(M, Back); // must not crash; may parse
  }
}

TEST(CodeCache, StoreLookupStatsPruneClear) {
  TempDir T;
  std::string W;
  auto C = CodeCache::open(T.sub("c"), W);
  ASSERT_TRUE(C) << W;
  EXPECT_TRUE(C->usable());
  struct stat St;
  ASSERT_EQ(::stat(T.sub("c").c_str(), &St), 0);
  EXPECT_EQ(St.st_mode & 0777, 0700u);
  for (int I = 0; I < 10; ++I) {
    CacheUnit U;
    U.Key = cacheDigest("k" + std::to_string(I));
    U.Chunk = "chunk";
    U.Target = "target";
    U.Func = uint32_t(I);
    U.Request = "r";
    U.Object = std::string(1000, char('a' + I));
    ASSERT_TRUE(C->store(U, W)) << W;
  }
  CacheUnit U;
  std::string Reject;
  EXPECT_TRUE(C->lookup(cacheDigest("k3"), "chunk", "target", U, Reject));
  EXPECT_EQ(U.Object, std::string(1000, 'd'));
  EXPECT_FALSE(C->lookup(cacheDigest("nope"), "chunk", "target", U, Reject));
  EXPECT_EQ(Reject, "");
  // The key names chunk and target: a row that says otherwise is refused.
  EXPECT_FALSE(C->lookup(cacheDigest("k3"), "chunk", "other", U, Reject));
  EXPECT_EQ(Reject, "target");
  std::vector<std::string> Rejects;
  EXPECT_EQ(C->unitsFor("chunk", "target", Rejects).size(), 9u);
  CodeCache::Stats S;
  ASSERT_TRUE(C->stats(S, W));
  EXPECT_EQ(S.Entries, 9u);
  EXPECT_EQ(S.Bytes, 9000u);
  EXPECT_EQ(S.Chunks, 1u);
  uint64_t Removed;
  ASSERT_TRUE(C->prune(4500, Removed, W)) << W;
  EXPECT_EQ(Removed, 5u);
  ASSERT_TRUE(C->stats(S, W));
  EXPECT_EQ(S.Entries, 4u);
  ASSERT_TRUE(C->clear(W)) << W;
  ASSERT_TRUE(C->stats(S, W));
  EXPECT_EQ(S.Entries, 0u);
}

// Stores past the size cap evict the least recently used units.
TEST(CodeCache, SizeCapEvictsLeastRecentlyUsed) {
  TempDir T;
  std::string W;
  auto C = CodeCache::open(T.sub("c"), W);
  ASSERT_TRUE(C);
  C->setMaxBytes(20000);
  for (int I = 0; I < 100; ++I) {
    CacheUnit U;
    U.Key = cacheDigest("k" + std::to_string(I));
    U.Object = std::string(1000, 'x');
    ASSERT_TRUE(C->store(U, W)) << W;
  }
  CodeCache::Stats S;
  ASSERT_TRUE(C->stats(S, W));
  EXPECT_LE(S.Bytes, 20000u + 20000u / 16 + 1000u);
  EXPECT_GT(S.Entries, 10u);
}

TEST(CodeCache, UnsafeDirectoriesAndFilesAreRefused) {
  TempDir T;
  std::string W;
  std::string Open = T.sub("open");
  ASSERT_EQ(::mkdir(Open.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(Open.c_str(), 0777), 0);
  EXPECT_FALSE(CodeCache::open(Open, W));
  EXPECT_NE(W.find("writable by group or others"), std::string::npos) << W;
  ASSERT_EQ(::chmod(Open.c_str(), 0700), 0);
  EXPECT_TRUE(CodeCache::open(Open, W)) << W;

  std::string Link = T.sub("link");
  ASSERT_EQ(::symlink(Open.c_str(), Link.c_str()), 0);
  EXPECT_FALSE(CodeCache::open(Link, W));
  EXPECT_NE(W.find("symbolic link"), std::string::npos) << W;

  // A database that is a symbolic link, or writable by others.
  std::string Other = T.sub("other");
  ASSERT_EQ(::mkdir(Other.c_str(), 0700), 0);
  ASSERT_EQ(::symlink((Open + "/cache.db").c_str(), (Other + "/cache.db").c_str()), 0);
  EXPECT_FALSE(CodeCache::open(Other, W));
  EXPECT_NE(W.find("symbolic link"), std::string::npos) << W;
  ASSERT_EQ(::chmod((Open + "/cache.db").c_str(), 0666), 0);
  EXPECT_FALSE(CodeCache::open(Open, W));
  EXPECT_NE(W.find("writable by group or others"), std::string::npos) << W;

  if (::geteuid() == 0) {
    // Not ours (root can make a directory someone else owns).
    std::string Theirs = T.sub("theirs");
    ASSERT_EQ(::mkdir(Theirs.c_str(), 0700), 0);
    ASSERT_EQ(::chown(Theirs.c_str(), 65534, 65534), 0);
    EXPECT_FALSE(CodeCache::open(Theirs, W));
    EXPECT_NE(W.find("not owned by this user"), std::string::npos) << W;
  }
  // And the run goes on without it, with the same output.
  std::string Warnings;
  ASSERT_EQ(::chmod(Open.c_str(), 0777), 0);
  Outcome O = runCached(Open, nullptr, &Warnings);
  EXPECT_EQ(O.Out, expected());
  EXPECT_NE(Warnings.find("refusing the cache"), std::string::npos);
  EXPECT_GT(O.Result.Stats.LLVMCompiles, 0u);
}

TEST(CodeCache, SchemaFromTheFutureIsAMissNeverAnError) {
  TempDir T;
  std::string W;
  { ASSERT_TRUE(CodeCache::open(T.Path, W)); }
  sqlite3 *Db;
  ASSERT_EQ(sqlite3_open((T.Path + "/cache.db").c_str(), &Db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(Db, "PRAGMA user_version=99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(Db);
  auto C = CodeCache::open(T.Path, W);
  ASSERT_TRUE(C);
  EXPECT_FALSE(C->usable());
  CacheUnit U;
  U.Key = "k";
  EXPECT_FALSE(C->store(U, W));
  std::string Warnings;
  Outcome O = runCached(T.Path, nullptr, &Warnings);
  EXPECT_EQ(O.Out, expected());
  EXPECT_NE(Warnings.find("schema version 99"), std::string::npos) << Warnings;
  // clear starts it over.
  ASSERT_TRUE(C->clear(W)) << W;
  EXPECT_TRUE(C->usable());
}

// Cold run stores, warm run loads every unit and generates nothing; a
// flipped byte in an object is refused by its checksum and recompiled.
TEST(CachingEngine, WarmRunGeneratesNoCodeAndBadEntriesAreRecompiled) {
  TempDir T;
  Outcome Cold = runCached(T.Path);
  EXPECT_EQ(Cold.Out, expected());
  EXPECT_GT(Cold.Result.Stats.LLVMCompiles, 0u);
  EXPECT_EQ(Cold.Result.Stats.CacheStores, Cold.Result.Stats.LLVMCompiles);
  Outcome Warm = runCached(T.Path);
  EXPECT_EQ(Warm.Out, expected());
  EXPECT_EQ(Warm.Result.Stats.LLVMCompiles, 0u);
  EXPECT_GT(Warm.Result.Stats.CacheHits, 0u);

  sqlite3 *Db;
  ASSERT_EQ(sqlite3_open((T.Path + "/cache.db").c_str(), &Db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(Db,
                         "UPDATE units SET object = CAST(substr(object, 1, 100) "
                         "|| X'90' || substr(object, 102) AS BLOB)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(Db);
  Outcome Bad = runCached(T.Path);
  EXPECT_EQ(Bad.Out, expected());
  EXPECT_GT(Bad.Result.Stats.CacheRejects, 0u);
  EXPECT_GT(Bad.Result.Stats.LLVMCompiles, 0u);
  Outcome Again = runCached(T.Path);
  EXPECT_EQ(Again.Out, expected());
  EXPECT_EQ(Again.Result.Stats.LLVMCompiles, 0u);
}

//===-- I/O faults through a test VFS -------------------------------------===//

namespace {

/// Wraps the default VFS; the Nth read, write, sync, truncate or lock
/// fails with Code.
struct FaultVfs {
  static inline sqlite3_vfs *Base = nullptr;
  static inline std::atomic<int> Calls{0}, FailAt{0};
  static inline int Code = SQLITE_IOERR;
  static inline sqlite3_vfs Vfs;
  static inline sqlite3_io_methods Methods;

  struct File {
    sqlite3_file Head;
    sqlite3_file *Real() { return reinterpret_cast<sqlite3_file *>(this + 1); }
  };
  static sqlite3_file *real(sqlite3_file *F) {
    return reinterpret_cast<File *>(F)->Real();
  }
  static bool fail() { return ++Calls == FailAt; }

  static void install() {
    if (Base)
      return;
    Base = sqlite3_vfs_find(nullptr);
    Vfs = *Base;
    Vfs.zName = "fault";
    Vfs.szOsFile = int(sizeof(File)) + Base->szOsFile;
    Vfs.xOpen = [](sqlite3_vfs *, sqlite3_filename Name, sqlite3_file *F,
                   int Flags, int *OutFlags) {
      File *W = reinterpret_cast<File *>(F);
      W->Head.pMethods = nullptr;
      int Rc = Base->xOpen(Base, Name, W->Real(), Flags, OutFlags);
      if (W->Real()->pMethods)
        W->Head.pMethods = &Methods;
      return Rc;
    };
    Methods.iVersion = 3;
    Methods.xClose = [](sqlite3_file *F) {
      return real(F)->pMethods->xClose(real(F));
    };
    Methods.xRead = [](sqlite3_file *F, void *B, int N, sqlite3_int64 Off) {
      return fail() ? SQLITE_IOERR_READ
                    : real(F)->pMethods->xRead(real(F), B, N, Off);
    };
    Methods.xWrite = [](sqlite3_file *F, const void *B, int N, sqlite3_int64 Off) {
      return fail() ? Code : real(F)->pMethods->xWrite(real(F), B, N, Off);
    };
    Methods.xTruncate = [](sqlite3_file *F, sqlite3_int64 N) {
      return fail() ? Code : real(F)->pMethods->xTruncate(real(F), N);
    };
    Methods.xSync = [](sqlite3_file *F, int Flags) {
      return fail() ? Code : real(F)->pMethods->xSync(real(F), Flags);
    };
    Methods.xFileSize = [](sqlite3_file *F, sqlite3_int64 *N) {
      return real(F)->pMethods->xFileSize(real(F), N);
    };
    Methods.xLock = [](sqlite3_file *F, int L) {
      return fail() ? SQLITE_BUSY : real(F)->pMethods->xLock(real(F), L);
    };
    Methods.xUnlock = [](sqlite3_file *F, int L) {
      return real(F)->pMethods->xUnlock(real(F), L);
    };
    Methods.xCheckReservedLock = [](sqlite3_file *F, int *R) {
      return real(F)->pMethods->xCheckReservedLock(real(F), R);
    };
    Methods.xFileControl = [](sqlite3_file *F, int Op, void *A) {
      return real(F)->pMethods->xFileControl(real(F), Op, A);
    };
    Methods.xSectorSize = [](sqlite3_file *F) {
      return real(F)->pMethods->xSectorSize(real(F));
    };
    Methods.xDeviceCharacteristics = [](sqlite3_file *F) {
      return real(F)->pMethods->xDeviceCharacteristics(real(F));
    };
    Methods.xShmMap = [](sqlite3_file *F, int Pg, int Sz, int Ext, void volatile **P) {
      return real(F)->pMethods->xShmMap(real(F), Pg, Sz, Ext, P);
    };
    Methods.xShmLock = [](sqlite3_file *F, int Off, int N, int Flags) {
      // Taking a lock may fail; releasing one never does.
      return (Flags & SQLITE_SHM_LOCK) && fail()
                 ? SQLITE_BUSY
                 : real(F)->pMethods->xShmLock(real(F), Off, N, Flags);
    };
    Methods.xShmBarrier = [](sqlite3_file *F) {
      real(F)->pMethods->xShmBarrier(real(F));
    };
    Methods.xShmUnmap = [](sqlite3_file *F, int D) {
      return real(F)->pMethods->xShmUnmap(real(F), D);
    };
    Methods.xFetch = [](sqlite3_file *F, sqlite3_int64 Off, int N, void **P) {
      return real(F)->pMethods->xFetch(real(F), Off, N, P);
    };
    Methods.xUnfetch = [](sqlite3_file *F, sqlite3_int64 Off, void *P) {
      return real(F)->pMethods->xUnfetch(real(F), Off, P);
    };
    sqlite3_vfs_register(&Vfs, 0);
  }
};

} // namespace

// SQLITE_BUSY, SQLITE_IOERR and SQLITE_FULL at every one of the calls a
// cold and a warm run make: the output never changes.
TEST(CachingEngine, InjectedIoFaultsNeverChangeTheOutput) {
  FaultVfs::install();
  int Total;
  {
    TempDir T;
    FaultVfs::Calls = 0;
    FaultVfs::FailAt = 0;
    runCached(T.Path, "fault");
    runCached(T.Path, "fault");
    Total = FaultVfs::Calls;
  }
  ASSERT_GT(Total, 20);
  for (int Code : {SQLITE_BUSY, SQLITE_IOERR_WRITE, SQLITE_FULL}) {
    for (int N = 1; N <= Total; ++N) {
      TempDir T;
      FaultVfs::Code = Code;
      FaultVfs::Calls = 0;
      FaultVfs::FailAt = N;
      Outcome Cold = runCached(T.Path, "fault");
      EXPECT_EQ(Cold.Out, expected()) << Code << " at " << N;
      EXPECT_EQ(Cold.Code, 0);
      FaultVfs::Calls = 0;
      FaultVfs::FailAt = N;
      Outcome Warm = runCached(T.Path, "fault");
      EXPECT_EQ(Warm.Out, expected()) << Code << " at " << N << " (warm)";
      EXPECT_EQ(Warm.Code, 0);
    }
  }
  FaultVfs::FailAt = 0;
}

//===-- The object loader --------------------------------------------------===//

TEST(ObjectLoader, LoadsWhatTheJitMakesAndRefusesUnknownSymbols) {
  Chunk C = assembleOk(Program);
  HostEnv Env;
  auto Info = verify(C, Env);
  ASSERT_TRUE(bool(Info));
  JitRequest R;
  R.C = &C;
  R.Info = &*Info;
  R.Func = 1;
  R.ParamMasks = {AnyKind, AnyKind};
  std::string Obj, Why;
  ASSERT_TRUE(engine().compileObject(R, Obj, Why)) << Why;
  LoadedObject L;
  ASSERT_TRUE(loadObject(Obj, runtimeSymbolResolver(), L, Why)) << Why;
  bool Entry = false;
  for (const auto &[Name, Addr] : L.Symbols)
    Entry |= Name.size() > 6 && Name.substr(Name.size() - 6) == ".entry";
  EXPECT_TRUE(Entry);
  // Only the runtime's own symbols: an object that needs any other is
  // refused.
  SymbolResolver None = [](std::string_view) -> void * { return nullptr; };
  EXPECT_FALSE(loadObject(Obj, None, L, Why));
  EXPECT_NE(Why.find("is not one of the runtime's"), std::string::npos) << Why;
  EXPECT_FALSE(loadObject("not an object", runtimeSymbolResolver(), L, Why));
  EXPECT_NE(Why.find("malformed object"), std::string::npos);
}

// Hostile bytes: every truncation and thousands of mutations load or are
// refused, never crash or read out of bounds (ASan builds run this too).
// Nothing loaded here is ever run.
TEST(ObjectLoader, HostileObjectsNeverCrashTheLoader) {
  Chunk C = assembleOk(Program);
  HostEnv Env;
  auto Info = verify(C, Env);
  ASSERT_TRUE(bool(Info));
  JitRequest R;
  R.C = &C;
  R.Info = &*Info;
  R.Func = 0;
  std::string Obj, Why;
  ASSERT_TRUE(engine().compileObject(R, Obj, Why)) << Why;
  SymbolResolver Resolve = runtimeSymbolResolver();
  LoadedObject L;
  for (size_t N = 0; N < Obj.size(); N += 7)
    loadObject(Obj.substr(0, N), Resolve, L, Why);
  std::mt19937 Rng(7);
  for (int I = 0; I < 3000; ++I) {
    std::string M = Obj;
    for (int K = 0, E = 1 + int(Rng() % 4); K < E; ++K)
      M[Rng() % M.size()] = char(Rng());
    loadObject(M, Resolve, L, Why);
  }
}
