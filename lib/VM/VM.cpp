//===- VM.cpp - The embedding API -----------------------------------------===//

#include "fusevm/VM/VM.h"

#include "Interpreter.h"
#include "JitWorker.h"

namespace fusevm {

VM::VM() = default;
VM::~VM() = default;

void VM::registerBuiltin(uint16_t Id, std::string Name, int Argc,
                         BuiltinFn Fn) {
  if (Id < FirstHostBuiltin)
    return; // 0-255 are the standard table's
  size_t I = Id - FirstHostBuiltin;
  if (Builtins.size() <= I) {
    Builtins.resize(I + 1);
    BuiltinNames.resize(I + 1);
  }
  Builtins[I] = std::move(Fn);
  BuiltinNames[I] = std::move(Name);
  Env.Builtins[Id] = Argc;
}

void VM::registerExtOp(uint16_t Id, ExtOpFn Fn) {
  if (ExtOps.size() <= Id)
    ExtOps.resize(size_t(Id) + 1);
  ExtOps[Id] = std::move(Fn);
}

llvm::Error VM::run(const Chunk &C, const RunOptions &Opts, RunResult &Out) {
  llvm::Expected<VerifyInfo> Info = verify(C, Env);
  if (!Info)
    return Info.takeError();
  Interpreter I(*this, C, *Info, Opts, Out);
  return I.run();
}

} // namespace fusevm
