//===- CodeCache.cpp - The SQLite code cache ------------------------------===//
//
// \file
// See fusevm/Cache/CodeCache.h and docs/cache.md. One table of units; the
// object is the row's last column so that statistics and the index never
// read it (SQLite keeps large blobs in overflow pages). Every write is its
// own BEGIN IMMEDIATE transaction: with WAL, readers never wait, and a
// writer waits at most the busy timeout, then gives up (a warning, never a
// failed run).
//
//===----------------------------------------------------------------------===//

#include "fusevm/Cache/CodeCache.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/SHA256.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace fusevm {

std::string cacheDigest(const std::string &Data) {
  auto H = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(Data.data()), Data.size()));
  return std::string(reinterpret_cast<const char *>(H.data()), H.size());
}

namespace {

/// How long a writer waits for another process's write (ms): writes take
/// milliseconds, so a lock held longer is someone else's long transaction,
/// and the run had better go on without storing.
constexpr int BusyTimeoutMs = 1000;

/// Appends a length-prefixed field (key and checksum inputs are
/// unambiguous concatenations).
void field(std::string &S, const std::string &F) {
  uint64_t N = F.size();
  S.append(reinterpret_cast<const char *>(&N), sizeof N);
  S += F;
}
void field(std::string &S, int64_t V) {
  S.append(reinterpret_cast<const char *>(&V), sizeof V);
}

/// What an entry's checksum covers: everything that is loaded or trusted.
std::string checksumOf(const CacheUnit &U) {
  std::string S;
  field(S, U.Key);
  field(S, U.Chunk);
  field(S, U.Target);
  field(S, int64_t(U.Func));
  field(S, U.Osr);
  field(S, int64_t(U.Level));
  field(S, U.Request);
  field(S, U.Meta);
  field(S, U.Object);
  return cacheDigest(S);
}

/// Checks that \p Path is safe to use: a real directory or file (not a
/// symbolic link), owned by this user, not writable by group or others.
bool safePath(const std::string &Path, bool Dir, std::string &Why) {
  struct stat St;
  if (::lstat(Path.c_str(), &St) != 0) {
    Why = Path + ": " + std::strerror(errno);
    return false;
  }
  if (S_ISLNK(St.st_mode)) {
    Why = Path + " is a symbolic link";
    return false;
  }
  if (Dir ? !S_ISDIR(St.st_mode) : !S_ISREG(St.st_mode)) {
    Why = Path + (Dir ? " is not a directory" : " is not a regular file");
    return false;
  }
  if (St.st_uid != ::geteuid()) {
    Why = Path + " is not owned by this user";
    return false;
  }
  if (St.st_mode & (S_IWGRP | S_IWOTH)) {
    Why = Path + " is writable by group or others";
    return false;
  }
  return true;
}

/// A prepared statement, finalised at scope exit.
class Stmt {
public:
  Stmt(sqlite3 *Db, const char *Sql) {
    Rc = sqlite3_prepare_v2(Db, Sql, -1, &S, nullptr);
    Prepared = Rc == SQLITE_OK;
  }
  ~Stmt() { sqlite3_finalize(S); }
  /// Prepared (whatever the steps since returned).
  bool ok() const { return Prepared; }
  int rc() const { return Rc; }
  Stmt &bind(int I, const std::string &V, bool Blob = true) {
    if (Blob)
      sqlite3_bind_blob64(S, I, V.data(), V.size(), SQLITE_STATIC);
    else
      sqlite3_bind_text64(S, I, V.data(), V.size(), SQLITE_STATIC, SQLITE_UTF8);
    return *this;
  }
  Stmt &bind(int I, int64_t V) {
    sqlite3_bind_int64(S, I, V);
    return *this;
  }
  int step() { return Rc = sqlite3_step(S); }
  /// Ready for another step with new bindings.
  void again() {
    sqlite3_reset(S);
    sqlite3_clear_bindings(S);
  }
  std::string blob(int I) const {
    const void *P = sqlite3_column_blob(S, I);
    int N = sqlite3_column_bytes(S, I);
    return P ? std::string(static_cast<const char *>(P), size_t(N)) : "";
  }
  int64_t integer(int I) const { return sqlite3_column_int64(S, I); }

private:
  sqlite3_stmt *S = nullptr;
  int Rc;
  bool Prepared;
};

constexpr const char *UnitColumns =
    "key, chunk, target, func, osr, level, request, meta, checksum, hits, object";

/// Reads a row selected with UnitColumns.
void readUnit(const Stmt &S, CacheUnit &U, std::string &Checksum) {
  U.Key = S.blob(0);
  U.Chunk = S.blob(1);
  U.Target = S.blob(2);
  U.Func = uint32_t(S.integer(3));
  U.Osr = S.integer(4);
  U.Level = uint8_t(S.integer(5));
  U.Request = S.blob(6);
  U.Meta = S.blob(7);
  Checksum = S.blob(8);
  U.Hits = uint64_t(S.integer(9));
  U.Object = S.blob(10);
}

int64_t now() { return int64_t(std::time(nullptr)); }

} // namespace

std::string CacheKeyParts::chunk() const {
  std::string S(reinterpret_cast<const char *>(&OpHash), sizeof OpHash);
  return S + ChunkDigest;
}

std::string CacheKeyParts::target() const {
  return Triple + "|" + CpuName + "|" + CpuFeatures + "|O" +
         std::to_string(OptLevel) + "|llvm " + LlvmVersion + "|fusevm " +
         FusevmVersion + "|format " + std::to_string(FormatVersion) +
         "|codegen " + CodegenId + (Extra.empty() ? "" : "|extra " + Extra);
}

std::string CacheKeyParts::key() const {
  std::string S;
  field(S, chunk());
  field(S, target());
  field(S, int64_t(Func));
  field(S, Anchor);
  field(S, int64_t(Tier));
  field(S, int64_t(Level));
  field(S, Specialisation);
  return cacheDigest(S);
}

std::unique_ptr<CodeCache> CodeCache::open(const std::string &Dir,
                                           std::string &Warning,
                                           const char *Vfs) {
  if (Dir.empty()) {
    Warning = "empty cache directory name";
    return nullptr;
  }
  // Owner-only; an existing directory must already be safe (never chmod
  // what someone else made).
  if (::mkdir(Dir.c_str(), 0700) != 0 && errno != EEXIST) {
    Warning = "cannot create " + Dir + ": " + std::strerror(errno);
    return nullptr;
  }
  std::string Why;
  if (!safePath(Dir, true, Why)) {
    Warning = "refusing the cache: " + Why;
    return nullptr;
  }
  std::unique_ptr<CodeCache> C(new CodeCache());
  C->Dir = Dir;
  C->Path = Dir + "/cache.db";
  C->VfsName = Vfs ? Vfs : "";
  struct stat St;
  if (::lstat(C->Path.c_str(), &St) == 0 && !safePath(C->Path, false, Why)) {
    Warning = "refusing the cache: " + Why;
    return nullptr;
  }
  if (!C->connect(Warning))
    return nullptr;
  return C;
}

bool CodeCache::connect(std::string &Warning) {
  // O_NOFOLLOW: SQLite refuses a symbolic link as the database.
  int Flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_NOFOLLOW;
  int Rc = sqlite3_open_v2(Path.c_str(), &Db, Flags,
                           VfsName.empty() ? nullptr : VfsName.c_str());
  if (Rc != SQLITE_OK) {
    Warning = "cannot open " + Path + ": " +
              (Db ? sqlite3_errmsg(Db) : sqlite3_errstr(Rc));
    disconnect();
    return false;
  }
  sqlite3_busy_timeout(Db, BusyTimeoutMs);
  // The file is ours alone (the directory is 0700; make the file so too).
  ::chmod(Path.c_str(), 0600);
  std::string Error;
  {
    Stmt V(Db, "PRAGMA user_version");
    if (!V.ok() || V.step() != SQLITE_ROW) {
      int Code = V.rc();
      Error = sqlite3_errmsg(Db);
      if (Code == SQLITE_NOTADB || Code == SQLITE_CORRUPT)
        return reset("is not a database (" + Error + ")", Warning);
      Warning = "cannot read " + Path + ": " + Error;
      disconnect();
      return false;
    }
    Schema = int(V.integer(0));
  } // finalised: no read transaction left open
  if (Schema == 0) {
    // A new database (or one made by something else with no version):
    // create our table; an existing table of another shape makes the
    // statements below fail, which is a warning. Processes starting on a
    // new cache together race here: a busy database is tried again, and
    // the version read again inside the transaction.
    bool Done = false;
    for (int Try = 0; Try < 100 && !Done; ++Try) {
      std::string Ignored;
      if (Try)
        ::usleep(10000);
      if (!exec("PRAGMA journal_mode=WAL", Error) ||
          !exec("BEGIN IMMEDIATE", Error)) {
        int Code = sqlite3_errcode(Db) & 0xff;
        if (Code == SQLITE_BUSY || Code == SQLITE_LOCKED)
          continue;
        break;
      }
      int Now = 0;
      {
        Stmt V(Db, "PRAGMA user_version");
        if (V.ok() && V.step() == SQLITE_ROW)
          Now = int(V.integer(0));
      }
      if (Now != 0) { // another process set it up first
        exec("COMMIT", Ignored);
        Schema = Now;
        Done = true;
        break;
      }
      if (exec("CREATE TABLE IF NOT EXISTS units("
               "key BLOB PRIMARY KEY, chunk BLOB NOT NULL, target TEXT NOT NULL,"
               " func INTEGER NOT NULL, osr INTEGER NOT NULL,"
               " level INTEGER NOT NULL, request BLOB NOT NULL, meta BLOB NOT NULL,"
               " checksum BLOB NOT NULL, size INTEGER NOT NULL,"
               " created INTEGER NOT NULL, last_used INTEGER NOT NULL,"
               " hits INTEGER NOT NULL DEFAULT 0, object BLOB NOT NULL)",
               Error) &&
          exec("CREATE INDEX IF NOT EXISTS units_by_chunk ON units(chunk, target)",
               Error) &&
          exec("CREATE INDEX IF NOT EXISTS units_by_use ON units(last_used)",
               Error) &&
          exec(("PRAGMA user_version=" + std::to_string(SchemaVersion)).c_str(),
               Error) &&
          exec("COMMIT", Error)) {
        Schema = SchemaVersion;
        Done = true;
        break;
      }
      int Code = sqlite3_errcode(Db) & 0xff;
      exec("ROLLBACK", Ignored);
      if (Code != SQLITE_BUSY && Code != SQLITE_LOCKED)
        break;
    }
    if (!Done) {
      Warning = "cannot set up " + Path + ": " + Error;
      disconnect();
      return false;
    }
  }
  // Another schema (older or from the future): every lookup misses and
  // nothing is written; `fusevm cache clear` starts it over.
  Usable = Schema == SchemaVersion;
  std::string Ignored;
  if (Usable) {
    exec("PRAGMA journal_mode=WAL", Ignored);
    exec("PRAGMA synchronous=NORMAL", Ignored);
  }
  return true;
}

bool CodeCache::reset(const std::string &Why, std::string &Warning) {
  // A cache may always be thrown away: move the broken file aside (for a
  // post-mortem; replaces an earlier one) and start a new database.
  Used.clear();
  disconnect();
  std::string Aside = Path + ".corrupt";
  if (::rename(Path.c_str(), Aside.c_str()) != 0) {
    Warning = Path + " " + Why + " and cannot be moved aside: " +
              std::strerror(errno);
    return false;
  }
  ::unlink((Path + "-wal").c_str());
  ::unlink((Path + "-shm").c_str());
  Warning = Path + " " + Why + "; moved it to " + Aside + " and started a new cache";
  std::string Again;
  if (!connect(Again)) {
    Warning += "; " + Again;
    return false;
  }
  return true;
}

void CodeCache::disconnect() {
  if (Db)
    sqlite3_close_v2(Db);
  Db = nullptr;
  Usable = false;
}

void CodeCache::close() {
  flushHits();
  disconnect();
}

CodeCache::~CodeCache() { close(); }

bool CodeCache::exec(const char *Sql, std::string &Error) {
  char *Msg = nullptr;
  if (sqlite3_exec(Db, Sql, nullptr, nullptr, &Msg) == SQLITE_OK)
    return true;
  Error = Msg ? Msg : sqlite3_errmsg(Db);
  sqlite3_free(Msg);
  return false;
}

std::string CodeCache::lastError() const {
  return Db ? sqlite3_errmsg(Db) : "no database";
}

bool CodeCache::check(const CacheUnit &U, const std::string &Checksum,
                      std::string &Reject) const {
  if (Checksum.size() != 32 || checksumOf(U) != Checksum) {
    Reject = "checksum";
    return false;
  }
  return true;
}

bool CodeCache::lookup(const std::string &Key, const std::string &Chunk,
                       const std::string &Target, CacheUnit &Out,
                       std::string &Reject) {
  if (!Usable)
    return false;
  Stmt S(Db, (std::string("SELECT ") + UnitColumns +
              " FROM units WHERE key = ?1").c_str());
  if (!S.ok()) {
    Reject = "error: " + lastError();
    recover(sqlite3_errcode(Db));
    return false;
  }
  S.bind(1, Key);
  int Rc = S.step();
  if (Rc == SQLITE_DONE)
    return false; // a plain miss
  if (Rc != SQLITE_ROW) {
    Reject = "error: " + lastError();
    recover(sqlite3_errcode(Db));
    return false;
  }
  std::string Checksum;
  readUnit(S, Out, Checksum);
  if (!check(Out, Checksum, Reject)) {
    drop(Key);
    return false;
  }
  // The key names chunk and target already; a row that says otherwise was
  // tampered with.
  if (Out.Chunk != Chunk) {
    Reject = "chunk";
    drop(Key);
    return false;
  }
  if (Out.Target != Target) {
    Reject = "target";
    drop(Key);
    return false;
  }
  Used.push_back(Key);
  return true;
}

std::vector<CacheUnit> CodeCache::unitsFor(const std::string &Chunk,
                                           const std::string &Target,
                                           std::vector<std::string> &Rejects) {
  std::vector<CacheUnit> Units;
  if (!Usable)
    return Units;
  Stmt S(Db, (std::string("SELECT ") + UnitColumns +
              " FROM units WHERE chunk = ?1 AND target = ?2 ORDER BY rowid DESC")
                 .c_str());
  if (!S.ok())
    return Units;
  S.bind(1, Chunk).bind(2, Target, false);
  std::vector<std::string> Bad;
  int Rc;
  while ((Rc = S.step()) == SQLITE_ROW) {
    CacheUnit U;
    std::string Checksum, Reject;
    readUnit(S, U, Checksum);
    if (!check(U, Checksum, Reject)) {
      Rejects.push_back(Reject);
      Bad.push_back(U.Key);
      continue;
    }
    Used.push_back(U.Key);
    Units.push_back(std::move(U));
  }
  if (Rc != SQLITE_DONE) {
    Rejects.push_back("error: " + lastError());
    recover(sqlite3_errcode(Db));
    return Units;
  }
  for (const std::string &K : Bad)
    drop(K);
  return Units;
}

bool CodeCache::store(const CacheUnit &U, std::string &Warning) {
  if (!Usable)
    return false;
  std::string Error;
  // A corrupt database is started over and the unit stored in the new one;
  // other failures (full, read-only, locked) are the caller's warning.
  if (!write(U, Error) && !(recover(LastCode) && write(U, Error))) {
    Warning = "cannot write " + Path + ": " + Error;
    return false;
  }
  // Keep under the cap: least recently used units go first.
  StoredBytes += U.Object.size();
  if (MaxBytes && StoredBytes > MaxBytes / 16) {
    StoredBytes = 0;
    uint64_t Removed;
    Stats St;
    if (stats(St, Error) && St.Bytes > MaxBytes)
      prune(MaxBytes - MaxBytes / 10, Removed, Error);
  }
  return true;
}

bool CodeCache::write(const CacheUnit &U, std::string &Error) {
  if (exec("BEGIN IMMEDIATE", Error) && insert(U, Error) &&
      exec("COMMIT", Error))
    return true;
  LastCode = sqlite3_errcode(Db);
  std::string Ignored;
  exec("ROLLBACK", Ignored);
  return false;
}

bool CodeCache::insert(const CacheUnit &U, std::string &Error) {
  Stmt S(Db, "INSERT OR REPLACE INTO units(key, chunk, target, func, osr,"
             " level, request, meta, checksum, size, created, last_used, hits,"
             " object) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11,"
             " 0, ?12)");
  std::string Sum = checksumOf(U);
  if (S.ok()) {
    S.bind(1, U.Key).bind(2, U.Chunk).bind(3, U.Target, false);
    S.bind(4, int64_t(U.Func)).bind(5, U.Osr).bind(6, int64_t(U.Level));
    S.bind(7, U.Request).bind(8, U.Meta).bind(9, Sum);
    S.bind(10, int64_t(U.Object.size())).bind(11, now()).bind(12, U.Object);
    if (S.step() == SQLITE_DONE)
      return true;
  }
  Error = lastError();
  return false;
}

bool CodeCache::recover(int Code) {
  Code &= 0xff;
  if (!Db || (Code != SQLITE_CORRUPT && Code != SQLITE_NOTADB))
    return false;
  std::string Why = "is corrupt (" + lastError() + ")", Warning;
  bool Ok = reset(Why, Warning);
  Notes.push_back(Warning);
  return Ok;
}

void CodeCache::drop(const std::string &Key) {
  if (!Usable)
    return;
  std::string Error;
  if (!exec("BEGIN IMMEDIATE", Error))
    return;
  Stmt S(Db, "DELETE FROM units WHERE key = ?1");
  if (S.ok()) {
    S.bind(1, Key);
    S.step();
  }
  exec("COMMIT", Error);
}

void CodeCache::flushHits() {
  if (!Usable || Used.empty())
    return;
  // Hit counts and the use times LRU eviction goes by: one short write at
  // the end, skipped when another process holds the lock (they are
  // approximate by nature).
  std::string Error;
  sqlite3_busy_timeout(Db, 100);
  if (exec("BEGIN IMMEDIATE", Error)) {
    Stmt S(Db, "UPDATE units SET hits = hits + 1, last_used = ?2 WHERE key = ?1");
    for (const std::string &K : Used) {
      if (!S.ok())
        break;
      S.bind(1, K).bind(2, now());
      S.step();
      S.again();
    }
    if (!exec("COMMIT", Error))
      exec("ROLLBACK", Error);
  }
  Used.clear();
  sqlite3_busy_timeout(Db, BusyTimeoutMs);
}

bool CodeCache::stats(Stats &Out, std::string &Error) {
  Out = Stats();
  Out.Path = Path;
  Out.Schema = Schema;
  if (!Db) {
    Error = "no database";
    return false;
  }
  if (!Usable)
    return true; // another schema: nothing this build can read
  Stmt S(Db, "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(hits), 0),"
             " COUNT(DISTINCT chunk) FROM units");
  if (!S.ok() || S.step() != SQLITE_ROW) {
    Error = lastError();
    return false;
  }
  Out.Entries = uint64_t(S.integer(0));
  Out.Bytes = uint64_t(S.integer(1));
  Out.Hits = uint64_t(S.integer(2));
  Out.Chunks = uint64_t(S.integer(3));
  return true;
}

bool CodeCache::clear(std::string &Error) {
  // Also how a database of another schema is started over.
  if (!exec("BEGIN IMMEDIATE", Error))
    return false;
  if (!exec("DROP TABLE IF EXISTS units", Error) ||
      !exec("PRAGMA user_version=0", Error) || !exec("COMMIT", Error)) {
    exec("ROLLBACK", Error);
    return false;
  }
  exec("VACUUM", Error); // give the space back
  disconnect();
  std::string Warning;
  if (!connect(Warning)) {
    Error = Warning;
    return false;
  }
  return true;
}

bool CodeCache::prune(uint64_t Cap, uint64_t &Removed, std::string &Error) {
  Removed = 0;
  if (!Usable) {
    Error = "the cache has schema version " + std::to_string(Schema) +
            ", this fusevm reads " + std::to_string(SchemaVersion);
    return false;
  }
  if (!exec("BEGIN IMMEDIATE", Error))
    return false;
  Stats St;
  bool Ok = stats(St, Error);
  if (Ok && St.Bytes > Cap) {
    // Newest first: keep units while they fit, drop the rest.
    Stmt S(Db, "SELECT key, size FROM units ORDER BY last_used DESC, created DESC");
    std::vector<std::string> Drop;
    uint64_t Kept = 0;
    while (Ok && S.step() == SQLITE_ROW) {
      uint64_t Size = uint64_t(S.integer(1));
      if (Kept + Size <= Cap)
        Kept += Size;
      else
        Drop.push_back(S.blob(0));
    }
    Stmt D(Db, "DELETE FROM units WHERE key = ?1");
    for (const std::string &K : Drop) {
      D.bind(1, K);
      if (!D.ok() || D.step() != SQLITE_DONE) {
        Ok = false;
        Error = lastError();
        break;
      }
      D.again();
      ++Removed;
    }
  }
  if (!Ok || !exec("COMMIT", Error)) {
    exec("ROLLBACK", Error);
    Removed = 0;
    return false;
  }
  return true;
}

bool CodeCache::verify(uint64_t &Good, uint64_t &Bad,
                       std::vector<std::string> &Problems, std::string &Error) {
  Good = Bad = 0;
  if (!Usable) {
    Error = "the cache has schema version " + std::to_string(Schema) +
            ", this fusevm reads " + std::to_string(SchemaVersion);
    return false;
  }
  Stmt I(Db, "PRAGMA integrity_check");
  while (I.ok() && I.step() == SQLITE_ROW) {
    std::string Line = I.blob(0);
    if (Line != "ok")
      Problems.push_back("database: " + Line);
  }
  Stmt S(Db, (std::string("SELECT ") + UnitColumns + " FROM units").c_str());
  if (!S.ok()) {
    Error = lastError();
    return false;
  }
  std::vector<std::string> Drop;
  int Rc;
  while ((Rc = S.step()) == SQLITE_ROW) {
    CacheUnit U;
    std::string Checksum, Reject;
    readUnit(S, U, Checksum);
    if (check(U, Checksum, Reject)) {
      ++Good;
      continue;
    }
    ++Bad;
    Drop.push_back(U.Key);
    Problems.push_back("entry for function " + std::to_string(U.Func) +
                       " of chunk " + hex(U.Chunk.substr(0, 8)) +
                       ": bad " + Reject + "; dropped");
  }
  if (Rc != SQLITE_DONE) {
    Error = lastError();
    return false;
  }
  for (const std::string &K : Drop)
    drop(K);
  return true;
}

std::string CodeCache::hex(const std::string &Bytes) {
  static const char Digits[] = "0123456789abcdef";
  std::string S;
  for (unsigned char Ch : Bytes) {
    S.push_back(Digits[Ch >> 4]);
    S.push_back(Digits[Ch & 15]);
  }
  return S;
}

} // namespace fusevm
