//===- fusevm/Cache/CodeCache.h - The SQLite code cache ----------*- C++ -*-===//
//
// \file
// Compiled code kept across processes (docs/cache.md): one SQLite database,
// DIR/cache.db, in WAL mode. Each entry is one compiled unit (the object
// file of a function or loop entry at a tier and level), under a key that
// names everything the code depends on; the VM builds keys and loads
// objects, this library only stores and finds them (it depends on Core and
// SQLite, nothing else).
//
// Nothing here can fail a program: every problem (an unsafe directory, a
// locked, full, read-only or corrupt database, a bad entry) is a warning
// or a miss, and the run goes on without the cache.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CACHE_CODECACHE_H
#define FUSEVM_CACHE_CODECACHE_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace fusevm {

/// Everything compiled code depends on: its cache key is a digest of all
/// of it, so that no change of program, request, code generator or
/// machine can find old code (docs/cache.md "Keys").
struct CacheKeyParts {
  uint64_t OpHash = 0;       ///< the chunk's op hash
  std::string ChunkDigest;   ///< and a digest of its bytes
  uint32_t Func = 0;         ///< the unit: a function ...
  int64_t Anchor = -1;       ///< ... entered at this op (OSR, trace), or -1
  uint8_t Tier = 0;          ///< linear, block, trace
  uint8_t Level = 0;         ///< compile level (JitLevel)
  std::string Specialisation; ///< the request's kinds and speculation
  unsigned OptLevel = 2;
  std::string Triple, CpuName, CpuFeatures;
  std::string LlvmVersion, FusevmVersion;
  uint32_t FormatVersion = 0; ///< of the bytecode, and of the cache schema
  std::string CodegenId;      ///< digest of the code generator's sources
  std::string Extra;          ///< the embedder's: its JitExtensions' version

  /// The chunk column: op hash and digest.
  std::string chunk() const;
  /// The target column: code generator and machine, readable.
  std::string target() const;
  /// SHA-256 of all of the above.
  std::string key() const;
};

/// One compiled unit.
struct CacheUnit {
  std::string Key;     ///< CacheKeyParts::key()
  std::string Chunk;   ///< CacheKeyParts::chunk()
  std::string Target;  ///< CacheKeyParts::target()
  uint32_t Func = 0;
  int64_t Osr = -1;    ///< the op it is entered at (OSR), or -1
  uint8_t Level = 1;   ///< JitLevel
  std::string Request; ///< the specialisation, to install it again
  /// What else a unit needs to be installed again: a trace's metadata
  /// (TraceMetadata::exportBytes); empty for a function.
  std::string Meta;
  std::string Object;  ///< the relocatable object file
  uint64_t Hits = 0;
};

class CodeCache {
public:
  /// The schema this build reads and writes (PRAGMA user_version).
  static constexpr int SchemaVersion = 1;
  /// Default size cap: stores prune least recently used units beyond it.
  static constexpr uint64_t DefaultMaxBytes = uint64_t(256) << 20;

  /// Opens, or creates, the cache under \p Dir (DIR/cache.db). Returns
  /// null and one line in \p Warning when it must not or cannot be used:
  /// a directory or database not owned by this user, writable by group or
  /// others, or a symbolic link; a database that cannot be opened. A file
  /// that is not a database is moved aside and a new cache started (a
  /// warning too). \p Vfs names an SQLite VFS (tests inject faults).
  static std::unique_ptr<CodeCache> open(const std::string &Dir,
                                         std::string &Warning,
                                         const char *Vfs = nullptr);
  ~CodeCache();
  CodeCache(const CodeCache &) = delete;
  CodeCache &operator=(const CodeCache &) = delete;

  /// False when the database has another schema version: every lookup
  /// misses and nothing is stored (the run goes on uncached).
  bool usable() const { return Usable; }
  int schema() const { return Schema; }
  const std::string &path() const { return Path; }
  void setMaxBytes(uint64_t N) { MaxBytes = N; }

  /// Finds \p Key. A hit has passed its checksum and names \p Chunk and
  /// \p Target; a bad entry is dropped and its reason is in \p Reject
  /// ("checksum", "chunk", "target"; "error: ..." for a database error):
  /// a miss either way.
  bool lookup(const std::string &Key, const std::string &Chunk,
              const std::string &Target, CacheUnit &Out, std::string &Reject);
  /// Every unit of \p Chunk for \p Target (a warm run installs them at its
  /// start: the code that got hot before). Bad entries are dropped, their
  /// reasons appended to \p Rejects.
  std::vector<CacheUnit> unitsFor(const std::string &Chunk,
                                  const std::string &Target,
                                  std::vector<std::string> &Rejects);
  /// Stores \p U (its checksum is computed here). False with a warning on
  /// failure (full disk, read-only, locked): the run goes on.
  bool store(const CacheUnit &U, std::string &Warning);
  void drop(const std::string &Key);

  struct Stats {
    uint64_t Entries = 0, Bytes = 0, Hits = 0, Chunks = 0;
    int Schema = 0;
    std::string Path;
  };
  bool stats(Stats &Out, std::string &Error);
  /// Removes every unit (and starts a database of another schema over).
  bool clear(std::string &Error);
  /// Least recently used entries go until the objects fit \p MaxBytes.
  bool prune(uint64_t MaxBytes, uint64_t &Removed, std::string &Error);
  /// Checks the database and every entry's checksum; drops bad entries,
  /// one line per problem in \p Problems.
  bool verify(uint64_t &Good, uint64_t &Bad, std::vector<std::string> &Problems,
              std::string &Error);

  static std::string hex(const std::string &Bytes);
  /// Warnings about what the cache did on its own (a corrupt database
  /// moved aside and started over), since the last call.
  std::vector<std::string> takeNotes() { return std::move(Notes); }
  /// Records the hits of this process (one write; also at close).
  void flushHits();
  /// Writes the hits and closes the database (its WAL is folded in when
  /// no other process has it open); the cache is unusable afterwards.
  void close();

private:
  CodeCache() = default;
  bool connect(std::string &Warning);
  bool reset(const std::string &Why, std::string &Warning);
  void disconnect();
  bool exec(const char *Sql, std::string &Error);
  /// One transaction storing \p U; on failure LastCode is SQLite's code.
  bool write(const CacheUnit &U, std::string &Error);
  bool insert(const CacheUnit &U, std::string &Error);
  /// After an error with SQLite code \p Code: a corrupt database is
  /// moved aside and a new one started (a note). False for other errors.
  bool recover(int Code);
  std::string lastError() const;
  bool check(const CacheUnit &U, const std::string &Checksum,
             std::string &Reject) const;

  sqlite3 *Db = nullptr;
  std::string Dir, Path, VfsName;
  int Schema = 0;
  bool Usable = false;
  uint64_t MaxBytes = DefaultMaxBytes;
  uint64_t StoredBytes = 0; ///< since the last size check
  std::vector<std::string> Used; ///< keys hit, for flushHits
  std::vector<std::string> Notes;
  int LastCode = 0;
};

/// SHA-256 of \p Data (32 bytes), as the cache uses for keys and checksums.
std::string cacheDigest(const std::string &Data);

} // namespace fusevm

#endif // FUSEVM_CACHE_CODECACHE_H
