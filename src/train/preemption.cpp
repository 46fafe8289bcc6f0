#include "train/preemption.h"

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace dtrain::train {
namespace {

// Written only by the handler; sig_atomic_t is what a handler may safely store to.
volatile std::sig_atomic_t received_signal = 0;

extern "C" void record_signal(int signal_number) {
  received_signal = signal_number;
}

void install(int signal_number, struct sigaction* previous) {
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking calls (file reads, MPI waits) carry on after the signal
  DTRAIN_ASSERT(::sigaction(signal_number, &action, previous) == 0, "sigaction({}) failed: {}", signal_number,
                std::strerror(errno));
}

}  // namespace

PreemptionWatch::PreemptionWatch() {
  received_signal = 0;
  install(SIGTERM, &previous_term_);
  install(SIGUSR1, &previous_usr1_);
}

PreemptionWatch::~PreemptionWatch() {
  ::sigaction(SIGTERM, &previous_term_, nullptr);
  ::sigaction(SIGUSR1, &previous_usr1_, nullptr);
}

bool PreemptionWatch::requested() const {
  return received_signal != 0;
}

int PreemptionWatch::signal_number() const {
  return received_signal;
}

}  // namespace dtrain::train
