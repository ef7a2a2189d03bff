//===- TestUtil.cpp - Helpers for the unit tests --------------------------===//

#include "TestUtil.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/JIT/JIT.h"

#include <gtest/gtest.h>

namespace fusevm::test {

std::string errorText(llvm::Error E, int *Code) {
  std::string Text;
  int C = 0;
  llvm::handleAllErrors(
      std::move(E),
      [&](const FvmError &F) {
        if (Text.empty()) {
          Text = F.format("fusevm");
          C = F.Code;
        }
      },
      [&](const llvm::ErrorInfoBase &B) {
        if (Text.empty())
          Text = B.message();
      });
  if (Code)
    *Code = C;
  return Text;
}

Chunk assembleOk(std::string_view Src) {
  llvm::Expected<Chunk> C = assemble(Src, "t.fasm");
  if (!C) {
    ADD_FAILURE() << errorText(C.takeError());
    return Chunk();
  }
  return std::move(*C);
}

Outcome runChunk(const Chunk &C, VM &Vm, RunOptions Opts, std::string Input) {
  Outcome O;
  Opts.Output = [&](std::string_view S) { O.Out.append(S); };
  size_t Pos = 0;
  Opts.ReadLine = [&, Input](std::string &Line) {
    if (Pos >= Input.size())
      return false;
    size_t Nl = Input.find('\n', Pos);
    size_t End = Nl == std::string::npos ? Input.size() : Nl;
    Line = Input.substr(Pos, End - Pos);
    if (!Line.empty() && Line.back() == '\r')
      Line.pop_back();
    Pos = Nl == std::string::npos ? Input.size() : Nl + 1;
    return true;
  };
  if (llvm::Error E = Vm.run(C, Opts, O.Result))
    O.Err = errorText(std::move(E), &O.Code);
  else
    O.Code = O.Result.exitCode();
  return O;
}

Outcome runText(std::string_view Src, std::vector<std::string> Args,
                std::string Input, VM *Vm, RunOptions Opts) {
  llvm::Expected<Chunk> C = assemble(Src, "t.fasm");
  if (!C) {
    Outcome O;
    O.Err = errorText(C.takeError(), &O.Code);
    return O;
  }
  VM Local;
  Opts.Args = std::move(Args);
  return runChunk(*C, Vm ? *Vm : Local, std::move(Opts), std::move(Input));
}

JitEngine &engine() {
  static std::unique_ptr<JitEngine> E = [] {
    JitOptions O;
    O.Helpers = &nativeRuntimeSymbols();
    return createJitEngine(O);
  }();
  return *E;
}

} // namespace fusevm::test
