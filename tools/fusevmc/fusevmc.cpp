//===- fusevmc.cpp - Compile a fusevm program -----------------------------===//
//
// \file
// fusevmc [options] PROGRAM -o OUTPUT   (spec/cli.md)
//
// Loads text or binary, verifies it, and writes the requested form. Nothing
// is written when anything fails.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Bytecode/Fuse.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/Support/Program.h"
#include "fusevm/Verify/Verifier.h"

#include "ToolSupport.h"

#include <cstdio>

using namespace fusevm;


static std::string emitFromExtension(const std::string &Out) {
  if (Out == "-")
    return "asm";
  auto EndsWith = [&](const char *S) {
    std::string Suffix(S);
    return Out.size() >= Suffix.size() &&
           Out.compare(Out.size() - Suffix.size(), Suffix.size(), Suffix) == 0;
  };
  if (EndsWith(".fbc"))
    return "fbc";
  if (EndsWith(".fasm"))
    return "asm";
  if (EndsWith(".ll"))
    return "llvm";
  if (EndsWith(".o"))
    return "obj";
  size_t Slash = Out.find_last_of('/');
  std::string Base = Slash == std::string::npos ? Out : Out.substr(Slash + 1);
  return Base.find('.') == std::string::npos ? "exe" : "";
}

int main(int argc, char **argv) {
  CLI::App App{"fusevmc - compile fusevm bytecode", "fusevmc"};
  tools::setupApp(App, "fusevmc",
      "Usage: fusevmc [options] PROGRAM -o OUTPUT\n"
      "  PROGRAM is a .fasm or .fbc file, or - for standard input;\n"
      "  OUTPUT - writes to standard output.");
  App.footer(
      "--emit defaults from OUTPUT's extension: .fbc -> fbc, .fasm -> asm\n"
      "(and - -> asm). The llvm, obj and exe kinds need the code generator,\n"
      "which is not built yet.\n"
      "Exit codes: 0 success, 64 usage error, 65 input rejected, 66 input\n"
      "cannot be opened, 74 output cannot be written.");
  std::string Input, Output, Emit;
  std::vector<std::string> HostBuiltins;
  bool Fuse = false;
  App.add_option("PROGRAM", Input, "Input program (.fasm or .fbc)")
      ->required();
  App.add_option("-o", Output, "Output file")->required()->type_name("OUTPUT");
  App.add_option("--emit", Emit, "Output kind: fbc (binary) or asm (text)")
      ->type_name("KIND");
  App.add_flag("--fuse", Fuse,
               "Rewrite unfused op sequences into the fused superinstructions "
               "of isa.md where exactly equivalent");
  App.add_option("--host-builtin", HostBuiltins,
                 "Accept host builtin ID (>= 256) taking ARGC arguments "
                 "(ARGC -1: any) when verifying; repeatable")
      ->type_name("ID:ARGC");
  if (int Code = tools::parseArgs(App, "fusevmc", argc, argv); Code >= 0)
    return Code;

  if (Emit.empty())
    Emit = emitFromExtension(Output);
  if (Emit == "llvm" || Emit == "obj" || Emit == "exe") {
    std::fprintf(stderr,
                 "fusevmc: error: --emit=%s: the code generator is not built "
                 "yet (this build emits fbc and asm)\n",
                 Emit.c_str());
    return ExitUsage;
  }
  if (Emit != "fbc" && Emit != "asm") {
    std::fprintf(stderr,
                 Emit.empty()
                     ? "fusevmc: error: cannot tell the output kind from '%s'; "
                       "use --emit=fbc or --emit=asm\n"
                     : "fusevmc: error: --emit=%s: unknown kind (fbc, asm, "
                       "llvm, obj, exe)\n",
                 Emit.empty() ? Output.c_str() : Emit.c_str());
    return ExitUsage;
  }

  HostEnv Env;
  for (const std::string &B : HostBuiltins) {
    size_t Colon = B.find(':');
    try {
      if (Colon == std::string::npos)
        throw std::invalid_argument("");
      int Id = std::stoi(B.substr(0, Colon));
      int Argc = std::stoi(B.substr(Colon + 1));
      if (Id < FirstHostBuiltin || Id > 65535 || Argc < -1 || Argc > 255)
        throw std::out_of_range("");
      Env.Builtins[static_cast<uint16_t>(Id)] = Argc;
    } catch (const std::exception &) {
      std::fprintf(stderr,
                   "fusevmc: error: --host-builtin=%s: expected ID:ARGC with "
                   "ID 256-65535 and ARGC -1-255\n",
                   B.c_str());
      return ExitUsage;
    }
  }

  llvm::Expected<Chunk> C = loadProgram(Input);
  if (!C)
    return reportError(C.takeError(), "fusevmc");
  if (llvm::Expected<VerifyInfo> V = verify(*C, Env); !V)
    return reportError(V.takeError(), "fusevmc");
  if (Fuse) {
    *C = fuseChunk(*C);
    // The rewrite must keep the chunk valid; if it ever did not, that is a
    // bug here, reported rather than written out.
    if (llvm::Expected<VerifyInfo> V = verify(*C, Env); !V) {
      llvm::consumeError(V.takeError());
      std::fprintf(stderr, "fusevmc: error: internal error: --fuse produced "
                           "a chunk that fails verification\n");
      return ExitRejected;
    }
  }
  std::string Bytes = Emit == "fbc" ? writeFbc(*C) : disassemble(*C);
  if (llvm::Error E = writeFileAtomic(Output, Bytes))
    return reportError(std::move(E), "fusevmc");
  return ExitOk;
}
