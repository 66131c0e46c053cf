#!/usr/bin/env bash
# Starts a single-node Slurm cluster on localhost (Debian, as root, no systemd), installing
# slurmctld, slurmd, slurm-client and munge when missing, and appends the PID of every daemon
# it starts to the file $1, so that down.sh stops exactly those and nothing else.
# Recipe: ../shared/docs/consensus-and-sweeps.md, Part B1.
set -euo pipefail
pids="$1"
: >"$pids"
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    echo "slurm-up: a Slurm daemon is already running; refusing to start a second cluster" >&2
    exit 1
fi
host=$(hostname -s)
getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >>/etc/hosts
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=securefl-ci
SlurmctldHost=$host
SlurmUser=slurm
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
[ -s /etc/munge/munge.key ] || runuser -u munge -- /usr/sbin/mungekey --create
install -d -o munge -g munge -m 0755 /run/munge
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 1 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    cat /run/munge/munged.pid >>"$pids"
fi
/usr/sbin/slurmctld -c
for _ in $(seq 1 50); do [ -s /run/slurmctld.pid ] && break; sleep 0.1; done
cat /run/slurmctld.pid >>"$pids"
/usr/sbin/slurmd
for _ in $(seq 1 50); do [ -s /run/slurmd.pid ] && break; sleep 0.1; done
cat /run/slurmd.pid >>"$pids"
for _ in $(seq 1 120); do sinfo -h -o %T 2>/dev/null | grep -qx idle && exit 0; sleep 0.5; done
echo "slurm-up: the node did not become idle; see /var/log/slurm/" >&2
exit 1
