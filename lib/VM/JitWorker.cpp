//===- JitWorker.cpp - The compile thread of a VM -------------------------===//

#include "JitWorker.h"

#include <sys/resource.h>
#include <unistd.h>

namespace fusevm {

JitWorker::~JitWorker() {
  {
    std::lock_guard<std::mutex> L(M);
    Stop = true;
    Queue.clear();
  }
  CV.notify_all();
  if (T.joinable())
    T.join();
}

void JitWorker::submit(JitJob J) {
  std::lock_guard<std::mutex> L(M);
  Queue.push_back(std::move(J));
  if (!T.joinable())
    T = std::thread([this] { main(); });
  CV.notify_one();
}

JitDone JitWorker::compileNow(const JitJob &J) {
  JitDone D;
  D.Run = J.Run;
  D.Gen = J.Gen;
  D.F = J.F;
  D.OsrIp = J.OsrIp;
  D.TraceTree = J.TraceTree;
  D.Linear = J.R.Linear;
  D.Level = J.R.Level;
  D.Params = J.R.ParamMasks;
  std::lock_guard<std::mutex> L(EngineLock);
  D.Ok = J.Engine->compile(J.R, D.Res, D.Why);
  return D;
}

void JitWorker::poll(std::vector<JitDone> &Out) {
  std::lock_guard<std::mutex> L(M);
  Out.swap(Done);
  HasResults.store(false, std::memory_order_relaxed);
}

void JitWorker::cancel(uint64_t Run) {
  std::lock_guard<std::mutex> L(M);
  std::erase_if(Queue, [Run](const JitJob &J) { return J.Run == Run; });
  std::erase_if(Done, [Run](const JitDone &D) { return D.Run == Run; });
}

void JitWorker::supersede(uint64_t Run, int64_t Anchor, int32_t Tree) {
  std::lock_guard<std::mutex> L(M);
  std::erase_if(Queue, [&](const JitJob &J) {
    return J.Run == Run && J.OsrIp == Anchor && J.TraceTree == Tree;
  });
}

void JitWorker::drain(unsigned MaxMs) {
  std::unique_lock<std::mutex> L(M);
  Idle.wait_for(L, std::chrono::milliseconds(MaxMs),
                [this] { return Queue.empty() && !Busy; });
}

void JitWorker::main() {
  // Compiling is background work: let the program's own threads (and
  // anything else on the machine) go first.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  for (;;) {
    JitJob J;
    {
      std::unique_lock<std::mutex> L(M);
      CV.wait(L, [this] { return Stop || !Queue.empty(); });
      if (Stop)
        return;
      J = std::move(Queue.front());
      Queue.pop_front();
      Busy = true;
    }
    JitDone D = compileNow(J);
    D.Background = true;
    std::lock_guard<std::mutex> L(M);
    Busy = false;
    Idle.notify_all();
    if (Stop)
      return;
    Done.push_back(std::move(D));
    HasResults.store(true, std::memory_order_relaxed);
  }
}

} // namespace fusevm
