//===- fusevm/Core/ChunkBuilder.h - Build chunks from C++ --------*- C++ -*-===//
//
// \file
// The API a frontend uses to emit bytecode, and what the assembler is built
// on. Code emitted before the first beginFunction() is `main`. Labels and
// calls may refer forward; finish() resolves them, appends `Return` where a
// function can fall off its end, and reports the first problem with its
// line.
//
//   ChunkBuilder B("hello.src");
//   B.loadConst(Value::string("hi"));
//   B.op(Opcode::PrintLn, 1);
//   llvm::Expected<Chunk> C = B.finish();
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CORE_CHUNKBUILDER_H
#define FUSEVM_CORE_CHUNKBUILDER_H

#include "fusevm/Core/Chunk.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fusevm {

class ChunkBuilder {
public:
  using Label = uint32_t;

  explicit ChunkBuilder(std::string SourceName = "<builder>");

  void setSourceName(std::string Name) { C.SourceName = std::move(Name); }
  /// Line recorded for the instructions emitted from now on.
  void setLine(uint32_t Line) { CurLine = Line; }
  uint32_t line() const { return CurLine; }

  /// Pool index of \p V (int, float, str, bool or undef); equal constants of
  /// the same kind share an entry.
  uint16_t constant(const Value &V);
  /// Name pool index of \p N.
  uint16_t name(std::string_view N);
  void declareExtOp(uint16_t Id, uint16_t Pops, uint16_t Pushes);

  /// Ends the current function and starts \p Name.
  void beginFunction(std::string_view Name, unsigned Arity);
  /// Ends the current function (optional before beginFunction / finish).
  void endFunction();

  Label makeLabel();
  /// Binds \p L to the next instruction emitted in this function.
  void bind(Label L);

  /// Emits \p I as is; returns its op index.
  uint32_t emit(const Instr &I);
  /// Emits a branch op whose target is \p L (resolved by finish).
  uint32_t emitBranch(Instr I, Label L);
  /// Emits `Call Fn Argc`; \p Fn may be defined later.
  uint32_t emitCall(std::string_view Fn, uint8_t Argc);

  // Conveniences for frontends.
  uint32_t op(Opcode Op, unsigned Operand = 0);
  uint32_t loadInt(int64_t V);
  uint32_t loadFloat(double V);
  uint32_t loadConst(const Value &V);
  uint32_t slotOp(Opcode Op, uint16_t Slot);
  uint32_t nameOp(Opcode Op, std::string_view Name);
  uint32_t jump(Opcode Op, Label L) { return emitBranch(Instr(Op), L); }
  uint32_t callBuiltin(uint16_t Id, uint8_t Argc);

  /// Number of ops emitted so far.
  uint32_t size() const { return static_cast<uint32_t>(C.Ops.size()); }
  /// Reports an error at the current line; finish() returns them all.
  void error(std::string Message) { errorAt(CurLine, std::move(Message)); }

  llvm::Expected<Chunk> finish();

private:
  void errorAt(uint32_t Line, std::string Message);
  void closeFunction();

  struct LabelInfo {
    int64_t Pos = -1;      ///< op index once bound
    uint32_t Function = 0; ///< function it was bound in
  };
  struct BranchFixup {
    uint32_t Op;
    Label L;
    uint32_t Line;
  };
  struct CallFixup {
    uint32_t Op;
    std::string Fn;
    uint32_t Line;
  };

  Chunk C;
  uint32_t CurLine = 0;
  bool InFunction = false;
  std::string CurName;
  unsigned CurArity = 0;
  uint32_t CurEntry = 0;
  bool LabelAtEnd = false; ///< a label is bound past the last op
  std::vector<LabelInfo> Labels;
  std::vector<BranchFixup> Branches;
  std::vector<CallFixup> Calls;
  std::unordered_map<std::string, uint16_t> NameIndex;
  std::map<std::pair<uint8_t, std::string>, uint16_t> ConstIndex;
  std::map<std::string, uint32_t> FunctionLine;
  std::vector<std::pair<uint32_t, std::string>> Errors; ///< line, message
};

} // namespace fusevm

#endif // FUSEVM_CORE_CHUNKBUILDER_H
