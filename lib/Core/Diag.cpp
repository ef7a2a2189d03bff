//===- Diag.cpp - FvmError ------------------------------------------------===//

#include "fusevm/Core/Diag.h"

#include "llvm/Support/raw_ostream.h"

namespace fusevm {

char FvmError::ID = 0;

std::string FvmError::format(llvm::StringRef Tool) const {
  // spec/cli.md: "FILE:LINE: error: " where a location is known, else
  // "TOOL: error: " (a file without a line is named in the message).
  if (!File.empty() && Line)
    return File + ":" + std::to_string(Line) + ": error: " + Message;
  if (!File.empty())
    return Tool.str() + ": error: " + File + ": " + Message;
  return Tool.str() + ": error: " + Message;
}

void FvmError::log(llvm::raw_ostream &OS) const { OS << format("fusevm"); }

std::error_code FvmError::convertToErrorCode() const {
  return llvm::inconvertibleErrorCode();
}

int reportError(llvm::Error E, llvm::StringRef Tool) {
  int Code = 0;
  llvm::handleAllErrors(
      std::move(E),
      [&](const FvmError &F) {
        llvm::errs() << F.format(Tool) << "\n";
        if (!Code)
          Code = F.Code;
      },
      [&](const llvm::ErrorInfoBase &Other) {
        llvm::errs() << Tool << ": error: " << Other.message() << "\n";
        if (!Code)
          Code = ExitRejected;
      });
  llvm::errs().flush();
  return Code;
}

} // namespace fusevm
