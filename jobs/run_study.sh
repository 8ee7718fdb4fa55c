#!/usr/bin/env bash
# Runs one sgdmc study inside a SLURM batch job; the job scripts (jobs/quick.sbatch,
# jobs/*/job.sbatch) exec it after their #SBATCH header:
#
#   run_study.sh FOLDER DEFAULT_CONFIG
#
# runs `sgdmc study FOLDER/DEFAULT_CONFIG.cfg --output=... --resume` on the job's tasks. A study
# stopped early (the --signal warning before the time limit: sgdmc exits 75) requeues the job,
# which resumes it from its results file. So does a study whose master lost a rank (sgdmc exits
# 76: a node died or a rank hangs) or whose launcher lost a node, once SLURM has marked the
# allocation's failed node down, so that the requeued job cannot start there. An mpirun that
# fails within seconds of its launch is launched once more. Any other failure fails the job.
#
# Environment (all optional):
#   CONFIG    config name in FOLDER (quick, full) or a path to any .cfg file
#   SGDMC     the sgdmc program (default: sgdmc on PATH), e.g. $PWD/build/sgdmc
#   LAUNCHER  srun (default: direct launch through PMIx) or mpirun (Open MPI's own launcher,
#             which takes its hosts and slots from the allocation)
#   OUTPUT    the results file (default: NAME.h5 in the submission folder, NAME from the config)
set -euo pipefail

# --signal=B:USR1@... (the warning before the time limit) reaches this shell only: the
# launcher forwards it to every rank, which abandon their runs in flight, write the ones they
# finished and exit 75. TERM (scancel, the time limit itself) reaches every process of the job
# from SLURM directly; forwarding it too would be a second signal, which kills a rank instead of
# stopping it. Counted from the start: bash's default for USR1 would end the job without a word.
signals=0 warnings=0 ranks=
on_warning() {
  signals=$((signals + 1)) warnings=$((warnings + 1))
  [[ -z $ranks ]] && return
  echo "run_study.sh: USR1 at $(date -u +%FT%TZ): stopping the study" >&2
  kill -USR1 "$ranks" 2>/dev/null || true
}
trap on_warning USR1
trap 'signals=$((signals + 1))' TERM

folder=${1:?usage: run_study.sh FOLDER DEFAULT_CONFIG}
config=${CONFIG:-${2:?usage: run_study.sh FOLDER DEFAULT_CONFIG}}
case $config in
  */* | *.cfg) ;;
  *) config=$folder/$config.cfg ;;
esac
# a relative path means relative to where the job was submitted, where the job also starts
submit_dir=${SLURM_SUBMIT_DIR:-$PWD}
[[ $config == /* ]] || config=$submit_dir/$config
if [[ ! -r $config ]]; then
  echo "run_study.sh: cannot read the config $config" >&2
  exit 2
fi
name=$(sed -n 's/^[[:space:]]*name[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config")
name=${name%%$'\n'*}
output=${OUTPUT:-$submit_dir/${name:-$(basename "$config" .cfg)}.h5}

# Open MPI's OMPIO can hang in HDF5's collective writes (HDF5 issue 1227) and corrupts data in
# some cases before 4.1.5 (Open MPI issue 12718); ROMIO's known crash needs chunked datasets,
# which sgdmc never creates. So ROMIO, unless the user chose; both are tested in tests/study.
if [[ -z ${OMPI_MCA_io:-} ]] && command -v ompi_info >/dev/null; then
  romio=$(ompi_info --parsable 2>/dev/null | sed -n 's/^mca:io:\(romio[0-9]*\):version:.*/\1/p')
  romio=${romio%%$'\n'*}
  [[ -z $romio ]] || export OMPI_MCA_io=$romio
fi
# HDF5's own file lock (flock) only guards rank 0's serial build of the file, which sgdmc's
# claim (FILE.h5.claim) already guards; on NFS without lockd or Lustre without -o flock it fails
# the creation. So off, unless the user chose (docs/study.md, "Network file systems").
export HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-FALSE}
# Root runs MPI only on a test machine (tests/slurm); Open MPI refuses it unless told twice.
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

ntasks=${SLURM_NTASKS:-1}
case ${LAUNCHER:-srun} in
  # srun of 22.05 no longer inherits --cpus-per-task from sbatch
  # --kill-on-bad-exit: a rank that dies (a crash at start-up, a lost node) ends the step at
  # once, instead of leaving the others waiting for it
  srun) launch=(srun --mpi=pmix --kill-on-bad-exit=1 -n "$ntasks"
                --cpus-per-task="${SLURM_CPUS_PER_TASK:-1}") ;;
  mpirun) launch=(mpirun -n "$ntasks") ;;
  *) echo "run_study.sh: LAUNCHER must be srun or mpirun, not ${LAUNCHER}" >&2; exit 2 ;;
esac

echo "run_study.sh: job ${SLURM_JOB_ID:-none} start $((${SLURM_RESTART_COUNT:-0} + 1))" \
  "on $(hostname) at $(date -u +%FT%TZ): ${launch[*]} ${SGDMC:-sgdmc} study $config" \
  "--output=$output --resume (OMPI_MCA_io=${OMPI_MCA_io:-default}," \
  "HDF5_USE_FILE_LOCKING=$HDF5_USE_FILE_LOCKING)"

if ((warnings > 0)); then
  echo "run_study.sh: the time-limit warning came before the study started: give --signal" \
    "fewer seconds than --time" >&2
  exit 1
fi
# Sets status to the launcher's exit status.
launch_study() {
  "${launch[@]}" "${SGDMC:-sgdmc}" study "$config" --output="$output" --resume &
  ranks=$!
  while :; do
    before=$signals
    status=0
    wait "$ranks" || status=$?
    # a trap ends `wait` early with 128 + signal while the ranks still run: wait again
    ((status > 128 && signals != before)) || break
  done
}

launched=$SECONDS
launch_study
# mpirun can fail before sgdmc has started: in a job requeued after a node's crash, started
# within a second of the node's return to service, its daemon there failed to call back ("An
# ORTE daemon has unexpectedly failed after launch"), and mpirun exits 1 at once, as sgdmc's own
# failures do. So an mpirun that ends with 1 within start_window seconds, without a signal, is
# launched once more after a pause; where it was sgdmc's own failure (--resume keeps what is
# done), that failure comes again and ends the job.
start_window=10
if [[ ${LAUNCHER:-srun} == mpirun ]] && ((status == 1 && signals == 0)) \
  && ((SECONDS - launched < start_window)); then
  echo "run_study.sh: mpirun failed $((SECONDS - launched)) s after its launch (status 1):" \
    "launching it once more in 5 s" >&2
  sleep 5
  ((signals > 0)) || launch_study
fi

# Only the warning requeues: after scancel (TERM without a warning) the job must end. A job
# submitted with --no-requeue cannot be requeued: it ends too. Under mpirun a TERM from SLURM
# reaches the ranks twice (directly and forwarded), which can end them with another status.
# The nodes of this allocation that SLURM reports down or not responding, comma-separated
# (nothing when it cannot tell: never a failure, which `set -e` would turn into the job's end).
failed_nodes() {
  local nodes
  nodes=$(scontrol show hostnames "${SLURM_JOB_NODELIST:-}" 2>/dev/null | paste -sd, -) || true
  [[ -n $nodes ]] || return 0
  { sinfo -h -N -n "$nodes" -t down,drained,draining,fail,no_respond -o %N 2>/dev/null || true; } \
    | sort -u | paste -sd, -
}

# A study that ended otherwise than done (0), bad input (2), a failure of its own (1) or a
# stop (75) may have lost a node: sgdmc's master gave up a silent rank (76), or the launcher
# lost one of its hosts (mpirun exits at once with a status of its own, srun with the signal
# of its killed tasks). SLURM marks a dead node within its SlurmdTimeout: wait for that, then
# requeue the job, which then cannot start on that node.
lost=
if ((status != 0 && status != 1 && status != 2 && status != 75)) && [[ -n ${SLURM_JOB_ID:-} ]]
then
  for ((waited = 0; waited < ${SGDMC_NODE_WAIT:-120}; waited += 5)); do
    lost=$(failed_nodes)
    [[ -n $lost ]] && break
    sleep 5
  done
  # requeued now, the job cannot go back onto the node: a node marked down gets no job until
  # it is back in service (excluding it instead could leave a -N job unable to start at all)
fi

if ((status == 0)); then
  echo "run_study.sh: study complete: $output"
elif [[ -n $lost || $status == 76 ]] && [[ -n ${SLURM_JOB_ID:-} ]] \
  && scontrol requeue "$SLURM_JOB_ID"; then
  echo "run_study.sh: a rank was lost${lost:+ (failed node $lost)}: job" \
    "$SLURM_JOB_ID requeued, it resumes $output"
elif ((status == 75 && warnings > 0)) && [[ -n ${SLURM_JOB_ID:-} ]] \
  && scontrol requeue "$SLURM_JOB_ID"; then
  echo "run_study.sh: study incomplete: job $SLURM_JOB_ID requeued, it resumes $output"
elif ((status == 75 || status == 76 || signals > 0)); then
  echo "run_study.sh: study stopped before the end (status $status): submit again to resume" \
    "$output" >&2
else
  echo "run_study.sh: sgdmc study failed with status $status (see the error file)" >&2
fi
exit "$status"
