//! A hostile worker rank: rank 0 must turn whatever it sends into a typed
//! error on the task it was given, never a panic, hang or allocation of
//! the message's size. `harness = false`: run by `cargo test`, this
//! binary runs itself as `mpirun -n 2` once per case. Rank 0 is a normal
//! concur-mpi pool (`max_frame` 4096); rank 1 does not call
//! `concur_mpi::init`: it speaks the protocol by hand through `mpi::ffi`
//! on a duplicate of `COMM_WORLD` (the pool's communicator, made by the
//! same collective), completes the handshake, and answers its one task
//! with the case's bytes.

mod helpers;

use helpers::tasks::square;

use concur_core::{ErrorKind, TaskExecutor};
use concur_ipc::{Hello, PREFIX_LEN, Reply, Request, encode_frame};
use helpers::{Descriptors, Tally, check_leftovers, mpirun, run};
use mpi::ffi;
use std::time::{Duration, Instant};

concur_ipc::remote! {}

/// The cases, and the error kind rank 0 must see on the task.
const CASES: &[(&str, ErrorKind)] = &[
    ("oversize", ErrorKind::Protocol),
    ("garbage", ErrorKind::Protocol),
    ("bad_prefix", ErrorKind::Protocol),
    ("wrong_generation", ErrorKind::Protocol),
    ("short_results", ErrorKind::Protocol),
];

/// The tags of the crate's protocol (`tags.rs`).
const REQUEST: i32 = 1;
const REPLY: i32 = 2;

fn main() {
    let Ok(case) = std::env::var("CONCUR_MPI_HOSTILE_CASE") else {
        return driver();
    };
    if std::env::var("OMPI_COMM_WORLD_RANK").as_deref() == Ok("0") {
        rank0(&case);
    } else {
        hostile(&case);
    }
}

fn rank0(case: &str) {
    let world = concur_mpi::init().expect("MPI init");
    let pool = concur_mpi::MpiPool::builder()
        .max_frame(4096)
        .build()
        .expect("the handshake is honest");
    let err = pool
        .submit_task(square, 3)
        .unwrap()
        .into_result()
        .unwrap_err();
    println!("{case}: {err}");
    let want = CASES.iter().find(|(c, _)| *c == case).unwrap().1;
    assert_eq!(err.kind(), want, "{err}");
    if err.to_string().contains("retired") {
        // Its only rank is gone: the pool is broken, and says so.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pool.is_broken() {
            assert!(Instant::now() < deadline, "not broken");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    drop(pool);
    drop(world);
    println!("case {case} ok");
}

/// Checks an MPI return code (the hostile rank's own calls).
fn ok(call: &str, rc: i32) {
    assert_eq!(rc, ffi::MPI_SUCCESS as i32, "{call} failed");
}

fn send(comm: ffi::MPI_Comm, bytes: &[u8]) {
    // SAFETY: `bytes` is valid for its length for this blocking send; the
    // datatype is predefined; `comm` is a valid communicator.
    let rc = unsafe {
        ffi::MPI_Send(
            bytes.as_ptr().cast(),
            i32::try_from(bytes.len()).unwrap(),
            ffi::RSMPI_UINT8_T,
            0,
            REPLY,
            comm,
        )
    };
    ok("MPI_Send", rc);
}

fn frame(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(reply, 1 << 30, &mut out).unwrap();
    out
}

/// The next request from rank 0, or `None` after `limit`.
fn request(comm: ffi::MPI_Comm, limit: Duration) -> Option<Request> {
    let deadline = Instant::now() + limit;
    loop {
        let mut flag = 0;
        // SAFETY: out-parameter only.
        let mut status: ffi::MPI_Status = unsafe { std::mem::zeroed() };
        // SAFETY: valid communicator and out-pointers.
        ok("MPI_Iprobe", unsafe {
            ffi::MPI_Iprobe(0, REQUEST, comm, &mut flag, &mut status)
        });
        if flag != 0 {
            let mut len = 0;
            // SAFETY: `status` was filled by the probe.
            ok("MPI_Get_count", unsafe {
                ffi::MPI_Get_count(&status, ffi::RSMPI_UINT8_T, &mut len)
            });
            let mut buf = vec![0u8; usize::try_from(len).unwrap()];
            // SAFETY: `buf` holds `len` bytes; the probe matched this
            // message and only this thread receives.
            ok("MPI_Recv", unsafe {
                ffi::MPI_Recv(
                    buf.as_mut_ptr().cast(),
                    len,
                    ffi::RSMPI_UINT8_T,
                    0,
                    REQUEST,
                    comm,
                    &mut status,
                )
            });
            return Some(concur_ipc::decode(&buf[PREFIX_LEN..]).expect("a request"));
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn hostile(case: &str) {
    let mut provided = 0;
    // SAFETY: MPI is not initialised in this process; null argc/argv are
    // allowed.
    ok("MPI_Init_thread", unsafe {
        ffi::MPI_Init_thread(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            ffi::RSMPI_THREAD_MULTIPLE,
            &mut provided,
        )
    });
    // SAFETY: out-parameter only.
    let mut comm: ffi::MPI_Comm = unsafe { std::mem::zeroed() };
    // SAFETY: MPI is initialised; the collective matches rank 0's in
    // `concur_mpi::init`.
    ok("MPI_Comm_dup", unsafe {
        ffi::MPI_Comm_dup(ffi::RSMPI_COMM_WORLD, &mut comm)
    });
    // The liveness offer (512 bytes from rank 0); no link is opened.
    let mut offer = [0u8; 512];
    // SAFETY: `offer` holds the 512 bytes every rank passes.
    ok("MPI_Bcast", unsafe {
        ffi::MPI_Bcast(offer.as_mut_ptr().cast(), 512, ffi::RSMPI_UINT8_T, 0, comm)
    });
    send(
        comm,
        &frame(&Reply::Hello(Hello::current(std::process::id()))),
    );
    let init = request(comm, Duration::from_secs(30));
    assert!(matches!(init, Some(Request::Init { .. })), "{init:?}");
    send(comm, &frame(&Reply::Ready));
    let Some(Request::Call(call)) = request(comm, Duration::from_secs(30)) else {
        panic!("no call");
    };
    let g = call.generation;
    match case {
        "oversize" => send(comm, &vec![0u8; 1 << 20]),
        "garbage" => {
            let mut bytes = 32u32.to_le_bytes().to_vec();
            bytes.extend([0xff; 32]);
            send(comm, &bytes);
        }
        "bad_prefix" => {
            let mut bytes = 1000u32.to_le_bytes().to_vec();
            bytes.extend([0; 10]);
            send(comm, &bytes);
        }
        "wrong_generation" => send(
            comm,
            &frame(&Reply::Done {
                generation: g + 1000,
                results: vec![Ok(vec![9])].into(),
            }),
        ),
        "short_results" => send(
            comm,
            &frame(&Reply::Done {
                generation: g,
                results: Vec::new().into(),
            }),
        ),
        other => panic!("unknown case {other}"),
    }
    // Rank 0 tells it to go (as a retired or a finished worker).
    while let Some(r) = request(comm, Duration::from_secs(30)) {
        if matches!(r, Request::Exit) {
            break;
        }
    }
    // SAFETY: every request of this process has completed.
    ok("MPI_Finalize", unsafe { ffi::MPI_Finalize() });
}

fn driver() {
    let exe = std::env::current_exe().unwrap();
    let mut tally = Tally::new();
    let fds = Descriptors::now();
    for (case, _) in CASES {
        let job = run(mpirun(60, 2)
            .args(["-x", &format!("CONCUR_MPI_HOSTILE_CASE={case}")])
            .arg(&exe));
        if let Some(line) = job
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{case}:")))
        {
            println!("  {line}");
        }
        let fine = job.code == Some(0) && job.stdout.contains(&format!("case {case} ok"));
        tally.check(&format!("mpi hostile rank: {case}"), fine, || job.dump());
        check_leftovers(&mut tally, case, &[&exe]);
    }
    fds.check(&mut tally);
    tally.finish();
}
