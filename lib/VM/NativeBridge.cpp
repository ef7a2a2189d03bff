//===- NativeBridge.cpp - Native code and the interpreter, both ways ------===//
//
// \file
// The interpreter enters compiled code at calls (nativeCall, enterNative)
// and loop headers (on-stack replacement, in the dispatch loop); compiled
// code calls back for what only the running interpreter can do: calls to
// functions without native code, host builtins, extended ops, Print,
// ReadLine, and resuming a deoptimised activation. Those helpers of
// NativeHelpers.h are defined at the end of this file.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "NativeHelpers.h"

namespace fusevm {

bool Interpreter::nativeStackOk() const {
  return reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) >
         Ctx.StackLimit;
}

uint8_t Interpreter::interpretCall(uint32_t F, Value *Args, Value *Result) {
  Value R;
  if (!runLoop(F, Args, R)) {
    Ctx.Err = static_cast<uint8_t>(ErrKind);
    Ctx.ErrIp = static_cast<uint32_t>(ErrAt);
    return NativeFailed;
  }
  new (Result) Value(std::move(R));
  return NativeOk;
}

uint8_t Interpreter::enterNative(uint32_t F, uint64_t Calls, Value *Args,
                                 Value *Result) {
  NativeFn &N = Native[F];
  maybePoll();
  if (!N.Entry && !N.Tried && Calls >= CallTrigger && Calls >= N.NextTry)
    tryCompile(F, Args, -1, nullptr, nullptr, 0, firstLevel());
  if (!N.Entry || !nativeStackOk())
    return NativeGuardFailed;
  return N.Entry(&Ctx, Args, Result);
}

uint8_t Interpreter::nativeCall(uint32_t F, size_t ArgsAt, uint32_t Depth,
                                uint32_t CallIp) {
  // The interpreter comes here again when the callee has native code, at
  // its next chance to get some, or soon while a compile is in flight
  // (maybePoll installs it).
  const NativeFn &N = Native[F];
  uint64_t Next = Out.CallCounts[F] + 1;
  NativeAt[F] = N.Entry            ? 0
                : N.InFlight       ? Next + 64
                : N.Tried || N.Failed ? UINT64_MAX
                : std::max<uint64_t>({Next + 1, CallTrigger, N.NextTry});
  Ctx.Depth = Depth + 1;
  Ctx.ErrIp = CallIp;
  Value R;
  // This call is counted by the interpreter once it is made.
  uint8_t S = enterNative(F, Out.CallCounts[F] + 1, Fs.Stack.Mem + ArgsAt, &R);
  if (S == NativeOk)
    new (Fs.Stack.Mem + ArgsAt) Value(std::move(R));
  return S;
}

uint8_t Interpreter::callFromNative(uint32_t CallIp, Value *Args,
                                    Value *Result) {
  uint32_t F = Info.Callee[CallIp];
  ++Out.CallCounts[F];
  ++Out.Stats.Calls;
  uint8_t S = enterNative(F, Out.CallCounts[F], Args, Result);
  if (S != NativeGuardFailed)
    return S;
  Ctx.ErrIp = CallIp; // where a failure to set up the frame is reported
  return interpretCall(F, Args, Result);
}

uint8_t Interpreter::hostBuiltin(uint32_t Id, Value *Args, uint32_t N,
                                 Value *Result) {
  HostCall HC(Args, N, static_cast<uint16_t>(Id), 0);
  Value R = Vm.Builtins[Id - FirstHostBuiltin](HC);
  releaseRange(Args, Args + N);
  if (HC.failed()) {
    HostMessage = HC.error();
    Result->K = ValueKind::Undef;
    return static_cast<uint8_t>(RtError::Host);
  }
  new (Result) Value(std::move(R));
  return 0;
}

uint8_t Interpreter::extendedOp(uint32_t At, Value *Args, Value *Results) {
  const Instr &I = Code[At];
  const ExtRt &X = Ext[I.B];
  HostCall HC(Args, X.Pops, I.A,
              I.Op == Opcode::Extended ? I.U8 : I.U64);
  (*X.Fn)(HC);
  releaseRange(Args, Args + X.Pops);
  if (HC.failed()) {
    HostMessage = HC.error();
    return static_cast<uint8_t>(RtError::Host);
  }
  if (HC.Results.size() != X.Pushes) {
    HostMessage = "extended op " + std::to_string(I.A) + " handler returned " +
                  std::to_string(HC.Results.size()) + " values, declared " +
                  std::to_string(X.Pushes);
    return static_cast<uint8_t>(RtError::Host);
  }
  for (size_t K = 0; K < HC.Results.size(); ++K)
    new (Results + K) Value(std::move(HC.Results[K]));
  return 0;
}

uint8_t Interpreter::print(bool Newline, Value *Args, uint32_t N) {
  size_t Start = Output.Buf.size();
  for (Value *V = Args; V < Args + N; ++V)
    if (!appendStr(Output.Buf, *V, Output.Buf.size() + Limits.MaxStr)) {
      Output.Buf.resize(Start);
      releaseRange(Args, Args + N);
      return static_cast<uint8_t>(RtError::StringLimit);
    }
  if (Newline)
    Output.Buf.push_back('\n');
  releaseRange(Args, Args + N);
  Output.maybeFlush();
  return 0;
}

uint8_t Interpreter::readLine(Value *Result) {
  Output.flush();
  std::string Line;
  bool TooLong;
  Result->K = ValueKind::Undef;
  if (Input.readLine(Line, Limits.MaxStr, TooLong)) {
    if (TooLong)
      return static_cast<uint8_t>(RtError::StringLimit);
    new (Result) Value(Value::string(Line));
  }
  return 0;
}

} // namespace fusevm

//===-- The helpers of NativeHelpers.h that need the running interpreter --===//

using fusevm::Interpreter;
static Interpreter &run(NativeCtx *Ctx) {
  return *static_cast<Interpreter *>(Ctx->Run);
}

extern "C" {
uint8_t fvm_rt_host_builtin(NativeCtx *Ctx, uint32_t Id, Value *Args,
                            uint32_t N, Value *Out) {
  return run(Ctx).hostBuiltin(Id, Args, N, Out);
}
uint8_t fvm_rt_extended(NativeCtx *Ctx, uint32_t Ip, Value *Args,
                        Value *Results) {
  return run(Ctx).extendedOp(Ip, Args, Results);
}
uint8_t fvm_rt_print(NativeCtx *Ctx, uint32_t Newline, Value *Args,
                     uint32_t N) {
  return run(Ctx).print(Newline != 0, Args, N);
}
uint8_t fvm_rt_readline(NativeCtx *Ctx, Value *Out) {
  return run(Ctx).readLine(Out);
}
/// A call from compiled code to a function that has no native code (yet).
/// Failures come back with Ctx->Err and ErrIp set: NativeFailed.
uint8_t fvm_rt_call(NativeCtx *Ctx, uint32_t CallIp, Value *Args, Value *Out) {
  return run(Ctx).callFromNative(CallIp, Args, Out);
}
/// A failed speculation: the interpreter finishes the activation from the
/// op that speculated, with the frame compiled code had.
uint8_t fvm_rt_resume(NativeCtx *Ctx, uint32_t F, uint32_t Ip, Value *Slots,
                      Value *Stack, uint32_t Height, Value *Out) {
  return run(Ctx).resumeFrom(F, Ip, Slots, Stack, Height, Out);
}
/// Baseline code's counter at a function entry or loop header ran out
/// (\p Slots, \p Stack: the frame there, borrowed). 1: leave for the
/// interpreter at \p Ip (optimised code is ready to take over there).
uint8_t fvm_rt_tier_up(NativeCtx *Ctx, uint32_t F, uint32_t Ip, Value *Slots,
                       Value *Stack, uint32_t Height) {
  return run(Ctx).tierUp(F, Ip, Slots, Stack, Height);
}
/// A compiled function whose entry guard failed runs in the interpreter.
uint8_t fvm_rt_interp_call(NativeCtx *Ctx, uint32_t F, Value *Args,
                           Value *Out) {
  return run(Ctx).interpretCall(F, Args, Out);
}
}
