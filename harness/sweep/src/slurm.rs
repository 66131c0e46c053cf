//! Slurm scale-out: an sbatch job-array script in which array task `I` runs shard `I/N` of the
//! sweep (`securefl sweep SPEC --shard I/N`), each cell in its own `securefl run` process.
//!
//! Shards write disjoint cells into the same output folder (a shared file system on a real
//! cluster), so tasks never touch each other's files; `securefl collect` merges the tables once
//! the array is done. Re-submitting the array skips finished cells, as a local re-run does.

use std::path::Path;

/// What the job script needs.
#[derive(Debug, Clone)]
pub struct SlurmJob<'a> {
    /// The `securefl` executable (absolute).
    pub program: &'a Path,
    /// The spec (absolute).
    pub spec: &'a Path,
    /// The profile, if any.
    pub profile: Option<&'a str>,
    /// The output folder (absolute).
    pub out: &'a Path,
    /// The sweep's name (the job name).
    pub name: &'a str,
    /// Array tasks (shards).
    pub tasks: usize,
    /// CPUs per task (each task runs its cells one at a time with this many training jobs).
    pub cpus: usize,
}

/// The sbatch script.
pub fn script(job: &SlurmJob<'_>) -> String {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let profile = job
        .profile
        .map(|p| format!(" --profile {}", shell_quote(p)))
        .unwrap_or_default();
    format!(
        "#!/bin/bash\n\
         # Written by `securefl sweep --slurm`: array task I runs shard I/{tasks} of the sweep.\n\
         #SBATCH --job-name={name}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --output={logs}/%A_%a.out\n\
         set -euo pipefail\n\
         exec {program} sweep {spec}{profile} --out {out} --workers 1 --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\"\n",
        tasks = job.tasks,
        name = shell_quote(&format!("securefl-{}", job.name)),
        last = job.tasks.saturating_sub(1),
        cpus = job.cpus,
        logs = q(&job.out.join("slurm")),
        program = q(job.program),
        spec = q(job.spec),
        out = q(job.out),
    )
}

/// A word for bash: bare when it is plainly safe, else single-quoted.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_runs_one_shard_per_array_task() {
        let job = SlurmJob {
            program: Path::new("/opt/securefl"),
            spec: Path::new("/w/my sweep.toml"),
            profile: Some("quick"),
            out: Path::new("/w/out"),
            name: "paper",
            tasks: 4,
            cpus: 2,
        };
        let s = script(&job);
        assert!(s.contains("#SBATCH --array=0-3\n"), "{s}");
        assert!(s.contains("#SBATCH --cpus-per-task=2\n"), "{s}");
        assert!(
            s.contains("#SBATCH --output=/w/out/slurm/%A_%a.out\n"),
            "{s}"
        );
        assert!(s.contains(
            "exec /opt/securefl sweep '/w/my sweep.toml' --profile quick --out /w/out --workers 1 --shard \"$SLURM_ARRAY_TASK_ID/4\"\n"
        ), "{s}");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
