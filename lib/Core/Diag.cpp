//===- Diag.cpp - FvmError ------------------------------------------------===//

#include "fusevm/Core/Diag.h"

#include "llvm/Support/raw_ostream.h"

namespace fusevm {

char FvmError::ID = 0;

std::string FvmError::format(llvm::StringRef Tool) const {
  std::string Out;
  if (!File.empty()) {
    Out = File;
    if (Line)
      Out += ":" + std::to_string(Line);
  } else {
    Out = Tool.str();
  }
  Out += ": error: " + Message;
  return Out;
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
