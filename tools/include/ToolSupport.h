//===- ToolSupport.h - What fusevm and fusevmc share --------------*- C++ -*-===//
//
// \file
// Only the tools include this (it pulls in CLI11).
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_TOOLS_TOOLSUPPORT_H
#define FUSEVM_TOOLS_TOOLSUPPORT_H

#include "fusevm/Config.h"
#include "fusevm/Core/Chunk.h"
#include "fusevm/Core/Diag.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace fusevm::tools {

/// CLI11 2.3 has no App::usage(); this prints our usage line instead.
class UsageFormatter : public CLI::Formatter {
public:
  explicit UsageFormatter(std::string Usage) : Usage(std::move(Usage)) {}
  std::string make_usage(const CLI::App *, std::string) const override {
    return Usage + "\n";
  }

private:
  std::string Usage;
};

/// Sets the usage line and the --version text of tool \p Name.
inline void setupApp(CLI::App &App, const std::string &Name,
                     const std::string &Usage) {
  App.formatter(std::make_shared<UsageFormatter>(Usage));
  App.set_version_flag("--version",
                       Name + " " + FUSEVM_VERSION_STRING +
                           " (instruction set and .fbc format version " +
                           std::to_string(FormatVersion) + ")");
}

/// Parses the command line. Returns -1 to go on, else the exit code
/// (0 after --help or --version, 64 for a usage error).
inline int parseArgs(CLI::App &App, const char *Name, int argc, char **argv) {
  try {
    App.parse(argc, argv);
  } catch (const CLI::CallForHelp &E) {
    return App.exit(E);
  } catch (const CLI::CallForVersion &E) {
    std::printf("%s\n", E.what());
    return ExitOk;
  } catch (const CLI::ParseError &E) {
    std::fprintf(stderr, "%s: error: %s\n", Name, E.what());
    return ExitUsage;
  }
  return -1;
}

} // namespace fusevm::tools

#endif // FUSEVM_TOOLS_TOOLSUPPORT_H
