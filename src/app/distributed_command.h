#pragma once
// Runs a command's body on every rank of an MPI job. An error on any rank is printed once with its
// rank and aborts the whole job (MPI_Abort), so no rank is left waiting in a collective for a rank
// that failed — and MPI is never finalised under a pending collective, which would hang.
#include <functional>

namespace dtrain::dist {
class ProcessGroup;
}

namespace dtrain::app {

void run_distributed(const std::function<void(const dist::ProcessGroup&)>& body);

}  // namespace dtrain::app
