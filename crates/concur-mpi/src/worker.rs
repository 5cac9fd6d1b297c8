//! The loop a worker rank runs after [`init`](crate::init) diverted it:
//! the process pool's worker protocol (`Hello`, `Init`/`Ready`, `Call`/
//! `Done`, `Exit`) over MPI messages to and from rank 0.
//!
//! A worker waits for the next request with `MPI_Improbe` and a bounded
//! back-off (yields for a moment after each reply, then sleeps from 20 µs
//! doubling up to 1 ms), never a blocking receive: Open MPI's and
//! MPICH's blocking calls poll the CPU, which starves ranks sharing cores
//! (3 ranks on 2 cores here).

use crate::backoff::Backoff;
use crate::raw::Comm;
use crate::tags;
use concur_ipc::{
    Hello, ItemResult, PREFIX_LEN, Registry, RemoteError, RemoteErrorKind, Reply, Request,
    encode_frame,
};

/// Exit code of a worker that received a frame it could not decode, or
/// whose MPI calls failed.
pub(crate) const EXIT_PROTOCOL: i32 = 70;

/// Serves rank 0 until told to exit. Returns the process exit code.
pub(crate) fn serve(comm: Comm) -> i32 {
    concur_ipc::install_panic_capture();
    let registry = Registry::global();
    let mut max_frame = concur_ipc::DEFAULT_MAX_FRAME;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let hello = Reply::Hello(Hello::current(std::process::id()));
    if let Err(e) = send(comm, &hello, max_frame, &mut out) {
        eprintln!("concur-mpi worker: {e}");
        return EXIT_PROTOCOL;
    }
    loop {
        let probed = match wait_request(comm) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("concur-mpi worker: {e}");
                return EXIT_PROTOCOL;
            }
        };
        if probed.len > max_frame.saturating_add(PREFIX_LEN) {
            eprintln!(
                "concur-mpi worker: a request of {} bytes exceeds max_frame",
                probed.len
            );
            return EXIT_PROTOCOL;
        }
        if let Err(e) = probed.recv(&mut buf) {
            eprintln!("concur-mpi worker: {e}");
            return EXIT_PROTOCOL;
        }
        let Some(request) = crate::frame::decode::<Request>(&buf) else {
            eprintln!("concur-mpi worker: rank 0 sent a frame that is not a request");
            return EXIT_PROTOCOL;
        };
        let reply = match request {
            Request::Exit => return 0,
            Request::Init {
                initializer,
                max_frame: m,
            } => {
                max_frame = concur_ipc::clamp_limit(m);
                match initializer.map(|(f, args)| run_initializer(registry, f, &args)) {
                    Some(Err(e)) => {
                        let _ = send(comm, &Reply::InitFailed(e), max_frame, &mut out);
                        return 0;
                    }
                    _ => Reply::Ready,
                }
            }
            Request::Call(call) => Reply::Done {
                generation: call.generation,
                results: registry.execute(&call),
            },
        };
        if let Err(e) = send(comm, &reply, max_frame, &mut out) {
            eprintln!("concur-mpi worker: {e}");
            return EXIT_PROTOCOL;
        }
    }
}

/// Waits for rank 0's next request with a bounded back-off.
fn wait_request(comm: Comm) -> Result<crate::raw::Probed, crate::MpiError> {
    let mut backoff = Backoff::new();
    loop {
        if let Some(p) = comm.improbe(0, tags::REQUEST)? {
            return Ok(p);
        }
        backoff.wait();
    }
}

fn run_initializer(
    registry: &Registry,
    f: concur_ipc::FnRef,
    args: &[u8],
) -> Result<(), RemoteError> {
    let reg = registry.resolve(f)?;
    reg.invoke(args)
        .map(drop)
        .map_err(|e| RemoteError::new(RemoteErrorKind::Initializer, e.type_name(), e.message()))
}

/// Encodes and sends `reply`; a `Done` over `max_frame` is sent with every
/// item failed as `FrameTooLarge` instead.
fn send(comm: Comm, reply: &Reply, max_frame: usize, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    if let Err(e) = encode_frame(reply, max_frame, out) {
        let Reply::Done {
            generation,
            results,
        } = reply
        else {
            return Err(e.to_string());
        };
        let err = RemoteError::from_error(RemoteErrorKind::FrameTooLarge, "concur_ipc::Reply", &e);
        let failed: Vec<ItemResult> = results.iter().map(|_| Err(err.clone())).collect();
        let smaller = Reply::Done {
            generation: *generation,
            results: failed.into(),
        };
        out.clear();
        encode_frame(&smaller, max_frame, out).map_err(|e| e.to_string())?;
    }
    comm.send(out, 0, tags::REPLY).map_err(|e| e.to_string())
}
