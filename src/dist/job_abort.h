#pragma once
// Ending the whole job when one rank cannot go on: under MPI with several ranks, MPI_Abort, which
// makes the launcher (mpirun, srun) end every rank, so none is left waiting in a collective for the
// one that failed.
namespace dtrain::dist {

// Ends the process with `exit_code`, aborting the whole job when MPI runs with several ranks; before
// MPI starts or after it ended, or alone, it finalises MPI (if running) and exits.
[[noreturn]] void abort_job(int exit_code);

}  // namespace dtrain::dist
