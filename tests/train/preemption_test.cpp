#include "train/preemption.h"

#include <gtest/gtest.h>

#include <csignal>

namespace dtrain::train {
namespace {

TEST(PreemptionWatch, SigusrOneAndSigtermOnlySetTheFlagWhileWatched) {
  for (const int signal_number : {SIGUSR1, SIGTERM}) {
    PreemptionWatch watch;
    EXPECT_FALSE(watch.requested());
    ASSERT_EQ(std::raise(signal_number), 0);  // the process survives: the handler only records it
    EXPECT_TRUE(watch.requested());
    EXPECT_EQ(watch.signal_number(), signal_number);
  }
}

TEST(PreemptionWatch, RestoresThePreviousHandlers) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &previous), 0);
  { PreemptionWatch watch; }
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGUSR1, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
  ::sigaction(SIGUSR1, &previous, nullptr);
}

}  // namespace
}  // namespace dtrain::train
