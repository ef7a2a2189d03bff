//===- CacheCommand.cpp - fusevm cache stats|clear|prune|verify DIR -------===//
//
// \file
// Looking after a code cache (spec/cli.md, docs/cache.md). Never creates
// a cache: a DIR without one is an error (exit 66), a cache that must not
// be used (not ours, writable by others, a symbolic link) or cannot be
// written is exit 74.
//
//===----------------------------------------------------------------------===//

#include "CacheCommand.h"

#include "fusevm/Cache/CodeCache.h"

#include "ToolSupport.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace fusevm {

static int cacheError(const std::string &Msg, int Code) {
  std::fprintf(stderr, "fusevm: error: %s\n", Msg.c_str());
  return Code;
}

int runCacheCommand(int argc, char **argv) {
  CLI::App App{"fusevm cache - look after a fusevm code cache", "fusevm cache"};
  tools::setupApp(App, "fusevm",
                  "Usage: fusevm cache stats|clear|prune|verify DIR "
                  "[--max-bytes=N]");
  App.require_subcommand(1);
  std::string Dir;
  uint64_t MaxBytes = CodeCache::DefaultMaxBytes;
  auto Add = [&](const char *Name, const char *Help) {
    CLI::App *S = App.add_subcommand(Name, Help);
    S->add_option("DIR", Dir, "The cache directory (as given to --cache)")
        ->required();
    return S;
  };
  Add("stats", "Entries, bytes, hit counts, programs and schema version");
  Add("clear", "Remove every entry (also starts over a cache of another "
               "schema version)");
  CLI::App *Prune = Add("prune", "Remove least recently used entries until "
                                 "the compiled code fits --max-bytes");
  Prune->add_option("--max-bytes", MaxBytes,
                    "Size cap in bytes (default 268435456, 256 MiB: the cap "
                    "runs keep the cache under)")
      ->type_name("N");
  Add("verify", "Check the database and every entry's checksum; report and "
                "drop bad entries");
  if (int Code = tools::parseArgs(App, "fusevm", argc, argv); Code >= 0)
    return Code;
  std::string Cmd = App.get_subcommands().front()->get_name();

  struct stat St;
  if (::lstat((Dir + "/cache.db").c_str(), &St) != 0)
    return cacheError(Dir + ": no cache there (" + std::strerror(errno) + ")",
                      ExitNoInput);
  std::string Warning;
  std::unique_ptr<CodeCache> Cache = CodeCache::open(Dir, Warning);
  if (!Cache)
    return cacheError(Warning, ExitCantWrite);
  if (!Warning.empty())
    std::fprintf(stderr, "fusevm: warning: %s\n", Warning.c_str());
  std::string Error;
  if (Cmd == "stats") {
    CodeCache::Stats S;
    if (!Cache->stats(S, Error))
      return cacheError(Cache->path() + ": " + Error, ExitCantWrite);
    std::printf("cache: %s\nschema: %d\n", S.Path.c_str(), S.Schema);
    if (!Cache->usable()) {
      std::printf("entries: unknown (this fusevm reads schema %d; `fusevm "
                  "cache clear` starts it over)\n",
                  CodeCache::SchemaVersion);
      return ExitOk;
    }
    std::printf("entries: %llu\nbytes: %llu\nhits: %llu\nprograms: %llu\n",
                static_cast<unsigned long long>(S.Entries),
                static_cast<unsigned long long>(S.Bytes),
                static_cast<unsigned long long>(S.Hits),
                static_cast<unsigned long long>(S.Chunks));
    return ExitOk;
  }
  if (Cmd == "clear") {
    CodeCache::Stats S;
    Cache->stats(S, Error);
    if (!Cache->clear(Error))
      return cacheError(Cache->path() + ": cannot clear: " + Error,
                        ExitCantWrite);
    std::printf("removed %llu entries\n",
                static_cast<unsigned long long>(S.Entries));
    return ExitOk;
  }
  if (Cmd == "prune") {
    uint64_t Removed;
    if (!Cache->prune(MaxBytes, Removed, Error))
      return cacheError(Cache->path() + ": cannot prune: " + Error,
                        ExitCantWrite);
    CodeCache::Stats S;
    Cache->stats(S, Error);
    std::printf("removed %llu entries; %llu left, %llu bytes\n",
                static_cast<unsigned long long>(Removed),
                static_cast<unsigned long long>(S.Entries),
                static_cast<unsigned long long>(S.Bytes));
    return ExitOk;
  }
  // verify
  uint64_t Good, Bad;
  std::vector<std::string> Problems;
  if (!Cache->verify(Good, Bad, Problems, Error))
    return cacheError(Cache->path() + ": cannot verify: " + Error,
                      ExitCantWrite);
  for (const std::string &P : Problems)
    std::printf("%s\n", P.c_str());
  std::printf("%llu entries good, %llu bad (dropped)\n",
              static_cast<unsigned long long>(Good),
              static_cast<unsigned long long>(Bad));
  return ExitOk;
}

} // namespace fusevm
