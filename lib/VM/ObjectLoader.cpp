//===- ObjectLoader.cpp - Loading cached native code without LLVM ---------===//
//
// \file
// See ObjectLoader.h. Layout of one loaded object, in one mapping:
//
//   [ code sections | call stubs ]  read + execute
//   [ read-only sections | GOT ]    read
//   [ writable sections ]           read + write
//
// A call to a symbol outside the object goes through a stub
// (jmp *[rip]; .quad target): the target may be further than 2 GiB away.
// A GOT-relative load reads the target from a GOT slot. Sections that are
// not needed to run (.eh_frame, notes, debug information) are not loaded,
// and the relocations that belong to them are ignored.
//
//===----------------------------------------------------------------------===//

#include "ObjectLoader.h"

#include "NativeHelpers.h"

#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace fusevm {

SymbolResolver runtimeSymbolResolver() {
  return [](std::string_view Name) -> void * {
    for (const NativeSymbol &S : nativeRuntimeSymbols())
      if (Name == S.Name)
        return S.Addr;
    // What code generation calls for the lowering's IR: frem, block
    // copies and clears.
    static const std::pair<std::string_view, void *> Libc[] = {
        {"fmod", reinterpret_cast<void *>(static_cast<double (*)(double, double)>(&std::fmod))},
        {"memcpy", reinterpret_cast<void *>(&std::memcpy)},
        {"memmove", reinterpret_cast<void *>(&std::memmove)},
        {"memset", reinterpret_cast<void *>(&std::memset)},
    };
    for (const auto &[N, A] : Libc)
      if (Name == N)
        return A;
    return nullptr;
  };
}

namespace {

constexpr size_t StubSize = 16; // jmp *0(%rip); .quad target; padding

class Loader {
public:
  Loader(std::string_view Obj, const SymbolResolver &Resolve, std::string &Why)
      : Obj(Obj), Resolve(Resolve), Why(Why) {}

  bool run(LoadedObject &Out) {
    return header() && sections() && symbols() && layout() && copy() &&
           relocate() && protect() && exports(Out);
  }

private:
  std::string_view Obj;
  const SymbolResolver &Resolve;
  std::string &Why;

  const Elf64_Ehdr *Eh = nullptr;
  std::vector<Elf64_Shdr> Sh;
  std::string_view ShStr;
  const Elf64_Sym *Syms = nullptr;
  size_t NumSyms = 0;
  std::string_view SymStr;
  /// Per section: where it is loaded (null: not loaded).
  std::vector<char *> Base;
  /// Per symbol: the address of an undefined one, its call stub, and the
  /// GOT slot of any symbol a GOT-relative relocation names.
  struct External {
    void *Addr = nullptr;
    char *Stub = nullptr;
    char *Got = nullptr;
    bool NeedsGot = false;
  };
  std::vector<External> Ext; ///< by symbol index
  char *Map = nullptr;
  size_t MapSize = 0, CodeEnd = 0, ReadOnlyEnd = 0;

  bool fail(std::string Msg) {
    Why = "malformed object: " + Msg;
    return false;
  }
  /// \p Count T's at \p Off: in bounds and aligned (the object was copied
  /// to an aligned buffer; a misaligned table is malformed), else null.
  template <typename T> const T *at(uint64_t Off, uint64_t Count = 1) {
    if (Off > Obj.size() || Count > (Obj.size() - Off) / sizeof(T) ||
        (reinterpret_cast<uintptr_t>(Obj.data()) + Off) % alignof(T))
      return nullptr;
    return reinterpret_cast<const T *>(Obj.data() + Off);
  }
  /// The bytes of section \p H (empty for one without any in the file).
  std::string_view bytes(const Elf64_Shdr &H) const {
    if (H.sh_type == SHT_NOBITS || H.sh_offset > Obj.size() ||
        H.sh_size > Obj.size() - H.sh_offset)
      return {};
    return Obj.substr(H.sh_offset, H.sh_size);
  }
  static bool isGotRelative(uint32_t Type) {
    return Type == R_X86_64_GOTPCREL || Type == R_X86_64_GOTPCRELX ||
           Type == R_X86_64_REX_GOTPCRELX;
  }
  static std::string_view cstr(std::string_view Table, uint32_t Off) {
    if (Off >= Table.size())
      return {};
    size_t End = Table.find('\0', Off);
    return End == std::string_view::npos ? std::string_view()
                                         : Table.substr(Off, End - Off);
  }

  bool header() {
    Eh = at<Elf64_Ehdr>(0);
    if (!Eh || std::memcmp(Eh->e_ident, ELFMAG, SELFMAG) != 0)
      return fail("not an ELF file");
    if (Eh->e_ident[EI_CLASS] != ELFCLASS64 || Eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        Eh->e_type != ET_REL || Eh->e_machine != EM_X86_64)
      return fail("not an x86-64 relocatable object");
    if (Eh->e_shentsize != sizeof(Elf64_Shdr) || Eh->e_shnum == 0 ||
        Eh->e_shstrndx >= Eh->e_shnum)
      return fail("bad section table");
    return true;
  }

  bool sections() {
    const Elf64_Shdr *S = at<Elf64_Shdr>(Eh->e_shoff, Eh->e_shnum);
    if (!S)
      return fail("section table out of bounds");
    Sh.assign(S, S + Eh->e_shnum);
    for (const Elf64_Shdr &H : Sh)
      if (H.sh_type != SHT_NOBITS && H.sh_type != SHT_NULL &&
          !at<char>(H.sh_offset, H.sh_size))
        return fail("section out of bounds");
    ShStr = bytes(Sh[Eh->e_shstrndx]);
    for (size_t I = 0; I < Sh.size(); ++I) {
      if (Sh[I].sh_type != SHT_SYMTAB)
        continue;
      if (Syms || Sh[I].sh_entsize != sizeof(Elf64_Sym) ||
          Sh[I].sh_link >= Sh.size())
        return fail("bad symbol table");
      NumSyms = Sh[I].sh_size / sizeof(Elf64_Sym);
      Syms = at<Elf64_Sym>(Sh[I].sh_offset, NumSyms);
      SymStr = bytes(Sh[Sh[I].sh_link]);
    }
    if (!Syms)
      return fail("no symbol table");
    // Nothing the JIT makes needs running at load or thread-local storage:
    // an object that asks for either is not one of ours.
    for (const Elf64_Shdr &H : Sh)
      if (loaded(H) && (H.sh_type == SHT_INIT_ARRAY || H.sh_type == SHT_FINI_ARRAY ||
                        H.sh_type == SHT_PREINIT_ARRAY || (H.sh_flags & SHF_TLS)))
        return fail("initialiser or thread-local section " +
                    std::string(cstr(ShStr, H.sh_name)));
    return true;
  }

  bool loaded(const Elf64_Shdr &H) const {
    if (!(H.sh_flags & SHF_ALLOC) || H.sh_size == 0)
      return false;
    std::string_view Name = cstr(ShStr, H.sh_name);
    return Name != ".eh_frame" && Name.substr(0, 5) != ".note";
  }

  bool symbols() {
    Ext.assign(NumSyms, External());
    for (size_t I = 1; I < NumSyms; ++I) {
      const Elf64_Sym &S = Syms[I];
      if (S.st_shndx != SHN_UNDEF)
        continue;
      std::string_view Name = cstr(SymStr, S.st_name);
      if (Name.empty())
        return fail("unnamed undefined symbol");
      Ext[I].Addr = Resolve(Name);
      // An unknown symbol is refused when a loaded section uses it
      // (relocate()); one that nothing loaded uses does not matter.
    }
    for (const Elf64_Shdr &R : Sh) {
      if (R.sh_type != SHT_RELA || R.sh_info >= Sh.size() ||
          !loaded(Sh[R.sh_info]) || R.sh_entsize != sizeof(Elf64_Rela))
        continue;
      size_t N = R.sh_size / sizeof(Elf64_Rela);
      const Elf64_Rela *Rel = at<Elf64_Rela>(R.sh_offset, N);
      for (size_t K = 0; Rel && K < N; ++K) {
        uint32_t SymI = ELF64_R_SYM(Rel[K].r_info);
        if (isGotRelative(ELF64_R_TYPE(Rel[K].r_info)) && SymI < NumSyms)
          Ext[SymI].NeedsGot = true;
      }
    }
    return true;
  }

  static size_t alignTo(size_t V, size_t A) { return (V + A - 1) / A * A; }

  bool layout() {
    size_t Page = size_t(::sysconf(_SC_PAGESIZE));
    Base.assign(Sh.size(), nullptr);
    std::vector<size_t> Off(Sh.size(), 0);
    size_t Cursor = 0;
    auto place = [&](auto Pred) {
      for (size_t I = 0; I < Sh.size(); ++I) {
        const Elf64_Shdr &H = Sh[I];
        if (!loaded(H) || !Pred(H))
          continue;
        size_t A = H.sh_addralign ? H.sh_addralign : 1;
        if (A > Page || (A & (A - 1)))
          return false;
        Cursor = alignTo(Cursor, A);
        Off[I] = Cursor;
        Cursor += H.sh_size;
        if (Cursor > (size_t(1) << 30))
          return false;
      }
      return true;
    };
    bool Ok = place([](const Elf64_Shdr &H) { return H.sh_flags & SHF_EXECINSTR; });
    size_t NumExt = 0, NumGot = 0;
    for (const External &E : Ext) {
      NumExt += E.Addr != nullptr;
      NumGot += E.NeedsGot;
    }
    size_t Stubs = alignTo(Cursor, StubSize);
    Cursor = Stubs + NumExt * StubSize;
    CodeEnd = alignTo(Cursor, Page);
    Cursor = CodeEnd;
    Ok = Ok && place([](const Elf64_Shdr &H) {
           return !(H.sh_flags & (SHF_EXECINSTR | SHF_WRITE));
         });
    size_t Got = alignTo(Cursor, 8);
    Cursor = Got + NumGot * 8;
    ReadOnlyEnd = alignTo(Cursor, Page);
    Cursor = ReadOnlyEnd;
    Ok = Ok && place([](const Elf64_Shdr &H) {
           return (H.sh_flags & SHF_WRITE) && !(H.sh_flags & SHF_EXECINSTR);
         });
    if (!Ok)
      return fail("section alignment or size out of range");
    MapSize = alignTo(std::max<size_t>(Cursor, 1), Page);
    void *M = ::mmap(nullptr, MapSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (M == MAP_FAILED) {
      Why = "cannot map memory for code";
      return false;
    }
    Map = static_cast<char *>(M);
    for (size_t I = 0; I < Sh.size(); ++I)
      if (loaded(Sh[I]))
        Base[I] = Map + Off[I];
    size_t K = 0, G = 0;
    for (External &E : Ext) {
      if (E.Addr)
        E.Stub = Map + Stubs + K++ * StubSize;
      if (E.NeedsGot)
        E.Got = Map + Got + G++ * 8;
    }
    return true;
  }

  bool copy() {
    for (size_t I = 0; I < Sh.size(); ++I) {
      if (!Base[I])
        continue;
      if (Sh[I].sh_type == SHT_NOBITS)
        std::memset(Base[I], 0, Sh[I].sh_size);
      else
        std::memcpy(Base[I], Obj.data() + Sh[I].sh_offset, Sh[I].sh_size);
    }
    for (const External &E : Ext) {
      if (!E.Addr)
        continue;
      // jmp *0(%rip); then the address it reads.
      static const unsigned char Jmp[6] = {0xff, 0x25, 0, 0, 0, 0};
      std::memcpy(E.Stub, Jmp, sizeof Jmp);
      std::memcpy(E.Stub + 6, &E.Addr, 8);
    }
    // GOT slots hold their symbol's address (defined ones too).
    for (uint32_t I = 1; I < NumSyms; ++I) {
      if (!Ext[I].NeedsGot)
        continue;
      uint64_t S;
      if (!symbolAddress(I, false, false, S))
        return false;
      std::memcpy(Ext[I].Got, &S, 8);
    }
    return true;
  }

  /// The address symbol \p I stands for; \p Call: through a stub.
  bool symbolAddress(uint32_t I, bool Call, bool Got, uint64_t &S) {
    if (I == 0 || I >= NumSyms)
      return fail("relocation against symbol " + std::to_string(I));
    const Elf64_Sym &Sym = Syms[I];
    if (Sym.st_shndx == SHN_UNDEF) {
      const External &E = Ext[I];
      if (!E.Addr) {
        Why = "undefined symbol '" + std::string(cstr(SymStr, Sym.st_name)) +
              "' is not one of the runtime's";
        return false;
      }
      S = reinterpret_cast<uint64_t>(Got ? E.Got : Call ? E.Stub : E.Addr);
      return true;
    }
    if (Got) {
      S = reinterpret_cast<uint64_t>(Ext[I].Got);
      return true;
    }
    if (Sym.st_shndx == SHN_ABS) {
      S = Sym.st_value;
      return true;
    }
    if (Sym.st_shndx >= Sh.size() || !Base[Sym.st_shndx])
      return fail("relocation against a section that is not loaded");
    if (Sym.st_value > Sh[Sym.st_shndx].sh_size)
      return fail("symbol outside its section");
    S = reinterpret_cast<uint64_t>(Base[Sym.st_shndx]) + Sym.st_value;
    return true;
  }

  bool relocate() {
    for (const Elf64_Shdr &R : Sh) {
      if (R.sh_type == SHT_REL)
        return fail("REL relocations");
      if (R.sh_type != SHT_RELA)
        continue;
      if (R.sh_info >= Sh.size() || !Base[R.sh_info])
        continue; // relocations of a section that is not loaded
      if (R.sh_entsize != sizeof(Elf64_Rela))
        return fail("bad relocation entry size");
      size_t N = R.sh_size / sizeof(Elf64_Rela);
      const Elf64_Rela *Rel = at<Elf64_Rela>(R.sh_offset, N);
      if (!Rel)
        return fail("relocations out of bounds");
      const Elf64_Shdr &Target = Sh[R.sh_info];
      char *T = Base[R.sh_info];
      for (size_t K = 0; K < N; ++K) {
        uint32_t Type = ELF64_R_TYPE(Rel[K].r_info);
        uint32_t SymI = ELF64_R_SYM(Rel[K].r_info);
        uint64_t Off = Rel[K].r_offset;
        size_t Width = Type == R_X86_64_64 ? 8 : 4;
        if (Type == R_X86_64_NONE)
          continue;
        if (Off > Target.sh_size || Target.sh_size - Off < Width)
          return fail("relocation outside its section");
        char *P = T + Off;
        uint64_t Place = reinterpret_cast<uint64_t>(P), S;
        int64_t A = Rel[K].r_addend;
        switch (Type) {
        case R_X86_64_64: {
          if (!symbolAddress(SymI, false, false, S))
            return false;
          uint64_t V = S + uint64_t(A);
          std::memcpy(P, &V, 8);
          break;
        }
        case R_X86_64_PC32:
        case R_X86_64_PLT32:
        case R_X86_64_GOTPCREL:
        case R_X86_64_GOTPCRELX:
        case R_X86_64_REX_GOTPCRELX: {
          if (!symbolAddress(SymI, !isGotRelative(Type), isGotRelative(Type), S))
            return false;
          int64_t V = int64_t(S + uint64_t(A) - Place);
          if (V < INT32_MIN || V > INT32_MAX)
            return fail("PC-relative relocation out of range");
          int32_t V32 = int32_t(V);
          std::memcpy(P, &V32, 4);
          break;
        }
        default:
          Why = "unsupported relocation type " + std::to_string(Type);
          return false;
        }
      }
    }
    return true;
  }

  bool protect() {
    if (::mprotect(Map, CodeEnd, PROT_READ | PROT_EXEC) != 0 ||
        (ReadOnlyEnd > CodeEnd &&
         ::mprotect(Map + CodeEnd, ReadOnlyEnd - CodeEnd, PROT_READ) != 0)) {
      Why = "cannot make the code executable";
      return false;
    }
    return true;
  }

  bool exports(LoadedObject &Out) {
    for (size_t I = 1; I < NumSyms; ++I) {
      const Elf64_Sym &S = Syms[I];
      unsigned Type = ELF64_ST_TYPE(S.st_info);
      if (S.st_shndx == SHN_UNDEF || S.st_shndx >= Sh.size() ||
          !Base[S.st_shndx] || (Type != STT_FUNC && Type != STT_OBJECT))
        continue;
      std::string_view Name = cstr(SymStr, S.st_name);
      if (!Name.empty() && S.st_value <= Sh[S.st_shndx].sh_size)
        Out.Symbols.emplace(std::string(Name), Base[S.st_shndx] + S.st_value);
    }
    Out.MappedBytes = MapSize;
    Map = nullptr; // handed over: stays mapped
    return true;
  }

public:
  ~Loader() {
    if (Map)
      ::munmap(Map, MapSize);
  }
};

} // namespace

bool loadObject(std::string_view Object, const SymbolResolver &Resolve,
                LoadedObject &Out, std::string &Why) {
  Out = LoadedObject();
  // ELF's tables are read in place: give them the alignment they need (a
  // blob from SQLite has none in particular).
  std::vector<uint64_t> Aligned((Object.size() + 7) / 8);
  if (!Object.empty())
    std::memcpy(Aligned.data(), Object.data(), Object.size());
  std::string_view Copy(reinterpret_cast<const char *>(Aligned.data()),
                        Object.size());
  return Loader(Copy, Resolve, Why).run(Out);
}

} // namespace fusevm
