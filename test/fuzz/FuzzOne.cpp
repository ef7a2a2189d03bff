//===- FuzzOne.cpp - One hostile input through every reader ---------------===//

#include "FuzzOne.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/VM/VM.h"
#include "fusevm/Verify/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fusevm::fuzz {

[[noreturn]] static void broken(const char *What, const std::string &Detail) {
  std::fprintf(stderr, "fuzz: property broken: %s\n%s\n", What, Detail.c_str());
  std::abort();
}

Fate fuzzOne(const uint8_t *Data, size_t Size) {
  std::string_view Bytes(reinterpret_cast<const char *>(Data), Size);
  llvm::Expected<Chunk> C = hasFbcMagic(Bytes) ? readFbc(Bytes, "fuzz.fbc")
                                               : assemble(Bytes, "fuzz.fasm");
  if (!C) {
    llvm::consumeError(C.takeError());
    return Fate::Rejected;
  }
  llvm::Expected<VerifyInfo> V = verify(*C);
  if (!V) {
    llvm::consumeError(V.takeError());
    return Fate::Rejected;
  }
  // Accepted chunks survive both round trips with their op hash.
  std::string Text = disassemble(*C);
  llvm::Expected<Chunk> Back = assemble(Text, "round.fasm");
  if (!Back)
    broken("disassembly does not assemble", Text);
  if (Back->opHash() != C->opHash())
    broken("disassembly changes the op hash", Text);
  llvm::Expected<Chunk> Bin = readFbc(writeFbc(*C), "round.fbc");
  if (!Bin || Bin->opHash() != C->opHash())
    broken(".fbc round trip changes the chunk", Text);

  // Run it plain and with superinstructions: same bytes out, same error.
  struct Run {
    std::string Out, Err;
    bool Budget = false;
    bool Failed = false;
  } Runs[2];
  for (int Fused = 0; Fused < 2; ++Fused) {
    Run &Rn = Runs[Fused];
    VM Vm;
    for (const ExtOpDecl &E : C->ExtOps)
      Vm.registerExtOp(E.Id, [Pushes = E.Pushes](HostCall &Call) {
        Call.Results.resize(Pushes);
      });
    RunOptions Opts;
    Opts.Superinstructions = Fused;
    Opts.InstructionBudget = 20000;
    Opts.MaxCallDepth = 500;
    Opts.MaxStringLen = 1 << 16;
    Opts.MaxArrayLen = 1 << 12;
    Opts.Output = [&Rn](std::string_view S) {
      if (Rn.Out.size() < (1 << 20))
        Rn.Out.append(S);
    };
    Opts.ReadLine = [](std::string &) { return false; };
    RunResult R;
    if (llvm::Error E = Vm.run(*C, Opts, R)) {
      Rn.Failed = true;
      llvm::handleAllErrors(std::move(E), [&](const llvm::ErrorInfoBase &B) {
        Rn.Err = B.message();
      });
      Rn.Budget = Rn.Err.find("instruction budget") != std::string::npos;
    } else {
      Rn.Out += "\n[result " + toStdString(R.Result).substr(0, 4096) +
                " status " + std::to_string(R.Status) + "]";
    }
  }
  // The budget counts loop iterations, which fusion changes; compare only
  // runs that did not run out of it, and programs that do not read clock().
  bool ReadsClock = false;
  for (const Instr &I : C->Ops)
    ReadsClock |= I.Op == Opcode::CallBuiltin && I.A == 23;
  if (!ReadsClock && !Runs[0].Budget && !Runs[1].Budget &&
      (Runs[0].Out != Runs[1].Out || Runs[0].Err != Runs[1].Err))
    broken("superinstructions change what the program does",
           Text + "\n--- plain:\n" + Runs[0].Out + Runs[0].Err +
               "\n--- fused:\n" + Runs[1].Out + Runs[1].Err);
  return Runs[0].Failed ? Fate::RuntimeError : Fate::Ran;
}

} // namespace fusevm::fuzz
