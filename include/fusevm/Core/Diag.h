//===- fusevm/Core/Diag.h - Errors with a location and an exit code -*- C++ -*-===//
//
// \file
// The one error type the libraries return through llvm::Error. It carries
// the exit code the tools use (spec/cli.md) and, where known, FILE:LINE.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CORE_DIAG_H
#define FUSEVM_CORE_DIAG_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace fusevm {

/// Exit codes of spec/cli.md.
enum ExitCode : int {
  ExitOk = 0,
  ExitUsage = 64,
  ExitRejected = 65,   ///< malformed input, failed verification, bad version
  ExitNoInput = 66,    ///< an input file cannot be opened
  ExitRuntime = 70,    ///< runtime error in the program
  ExitCantWrite = 74,  ///< an output file or the cache cannot be written
};

class FvmError : public llvm::ErrorInfo<FvmError> {
public:
  static char ID;
  int Code;
  std::string File; ///< empty when no location is known
  uint32_t Line;    ///< 0 when unknown
  std::string Message;

  FvmError(int Code, std::string File, uint32_t Line, std::string Message)
      : Code(Code), File(std::move(File)), Line(Line),
        Message(std::move(Message)) {}

  /// "FILE:LINE: error: MSG", "TOOL: error: FILE: MSG" (no line known), or
  /// "TOOL: error: MSG".
  std::string format(llvm::StringRef Tool) const;
  void log(llvm::raw_ostream &OS) const override;
  std::error_code convertToErrorCode() const override;
};

inline llvm::Error makeError(int Code, std::string File, uint32_t Line,
                             std::string Message) {
  return llvm::make_error<FvmError>(Code, std::move(File), Line,
                                    std::move(Message));
}
inline llvm::Error makeError(int Code, std::string Message) {
  return makeError(Code, "", 0, std::move(Message));
}

/// Prints every error in \p E to stderr as the tool \p Tool would and
/// returns the exit code of the first one (ExitRejected for foreign errors).
int reportError(llvm::Error E, llvm::StringRef Tool);

} // namespace fusevm

#endif // FUSEVM_CORE_DIAG_H
