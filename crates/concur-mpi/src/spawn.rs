//! Spawn mode: `MPI_Comm_spawn` starts a pool's workers (this program,
//! re-run with its arguments; [`init`](crate::init) diverts them), and the
//! parent and children merge into one communicator on which the parent is
//! rank 0, so the manager, the workers and the liveness links are the
//! world mode's, unchanged.

use crate::error::BuildError;
use crate::liveness::{self, Listening};
use crate::raw::{self, Comm};

/// A spawned group, as the pool holds it.
pub(crate) struct Spawned {
    /// The merged communicator: this process is rank 0, the workers 1..=n.
    pub(crate) comm: Comm,
    /// The inter-communicator the spawn returned, disconnected at the end.
    pub(crate) inter: Comm,
    /// This pool's liveness listener (a world's belongs to the world).
    pub(crate) listening: Option<Listening>,
}

/// Spawns `n` workers with the user's info keys (and `map_by =
/// slot:OVERSUBSCRIBE` unless given), merges, and offers them liveness
/// links.
pub(crate) fn start(n: usize, info: &[(String, String)]) -> Result<Spawned, BuildError> {
    let program = std::env::current_exe().map_err(|e| {
        BuildError::config(format!(
            "cannot find this program to spawn its workers: {e}"
        ))
    })?;
    let program = program.into_os_string().into_string().map_err(|p| {
        BuildError::config(format!(
            "this program's path {p:?} is not UTF-8, which MPI_Comm_spawn cannot pass"
        ))
    })?;
    let args = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string().map_err(|a| {
                BuildError::config(format!(
                    "argument {a:?} is not UTF-8, which MPI_Comm_spawn cannot pass"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut keys: Vec<(&str, &str)> = info.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if !keys.iter().any(|(k, _)| *k == "map_by") {
        keys.push(("map_by", "slot:OVERSUBSCRIBE"));
    }
    // At most `MAX_SPAWN` (checked by `Builder::build`), so it fits.
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    let inter = raw::spawn(&program, &args, n, &keys).map_err(BuildError::mpi)?;
    let comm = inter.merge(false).map_err(BuildError::mpi)?;
    let host = raw::processor_name().map_err(BuildError::mpi)?;
    let listening = liveness::listen(&host);
    liveness::exchange(comm, listening.as_ref().map(|l| &l.offer)).map_err(BuildError::mpi)?;
    Ok(Spawned {
        comm,
        inter,
        listening,
    })
}
