//! What this process holds, read from Linux's `/proc`: its threads, its
//! open descriptors, its child processes (zombies included), and
//! [`leak_checked`], which runs a case and checks it left none of them
//! behind.

use std::time::{Duration, Instant};

/// The number of threads of this process, from `/proc/self/task`.
///
/// # Panics
///
/// If `/proc/self/task` cannot be read (not Linux).
///
/// # Examples
///
/// ```
/// assert!(concur_testkit::procfs::thread_count() >= 1);
/// ```
#[must_use]
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable on Linux")
        .count()
}

/// How many descriptors this process has open (not counting the one this
/// call opens to list them).
///
/// # Panics
///
/// If `/proc/self/fd` cannot be read (not Linux).
///
/// # Examples
///
/// ```
/// let before = concur_testkit::procfs::open_fds();
/// let f = std::fs::File::open("/proc/self/stat").unwrap();
/// assert_eq!(concur_testkit::procfs::open_fds(), before + 1);
/// drop(f);
/// ```
#[must_use]
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable on Linux")
        .count()
        - 1
}

/// This process's children, in any state (`'Z'` for a zombie), as
/// `(pid, state)`. The process pool's zygote (named `concur-zygote`: one
/// per program, kept until it exits) is not listed, but the children it
/// forked (the pools' fork servers) are, so a fork server left behind
/// still shows; one named `concur-spare`, the server the zygote keeps
/// ready for the next pool, is not (a second one is).
///
/// # Panics
///
/// If `/proc` cannot be read (not Linux).
///
/// # Examples
///
/// ```
/// let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
/// assert!(concur_testkit::procfs::children().iter().any(|&(pid, _)| pid == child.id()));
/// child.kill().unwrap();
/// child.wait().unwrap();
/// ```
#[must_use]
pub fn children() -> Vec<(u32, char)> {
    let all = processes();
    let me = std::process::id();
    let zygotes: Vec<u32> = all
        .iter()
        .filter(|p| p.ppid == me && p.comm == ZYGOTE && p.state != 'Z')
        .map(|p| p.pid)
        .collect();
    // The zygote keeps one fork server ready for the next pool, named a
    // spare until a pool uses it: that one is expected.
    let mut spares = 0;
    all.iter()
        .filter(|p| (p.ppid == me && !zygotes.contains(&p.pid)) || zygotes.contains(&p.ppid))
        .filter(|p| {
            let spare = zygotes.contains(&p.ppid) && p.comm == SPARE && p.state != 'Z';
            spares += usize::from(spare);
            !spare || spares > 1
        })
        .map(|p| (p.pid, p.state))
        .collect()
}

/// The name of the fork server the zygote keeps ready (its `comm`).
const SPARE: &str = "concur-spare";

/// The process pool's zygote's name (its `comm`).
const ZYGOTE: &str = "concur-zygote";

/// One process, as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone)]
pub struct Process {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub ppid: u32,
    /// Its state (`'Z'` for a zombie).
    pub state: char,
    /// Its name (`comm`).
    pub comm: String,
}

/// Every process `/proc` lists.
///
/// # Panics
///
/// If `/proc` cannot be read (not Linux).
///
/// # Examples
///
/// ```
/// let me = std::process::id();
/// assert!(concur_testkit::procfs::processes().iter().any(|p| p.pid == me));
/// ```
#[must_use]
pub fn processes() -> Vec<Process> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc")
        .expect("/proc is readable on Linux")
        .flatten()
    {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ..." — comm may contain spaces; split after ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let mut fields = stat[close + 1..].split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push(Process {
            pid,
            ppid,
            state,
            comm,
        });
    }
    out
}

/// Waits (up to 10 s) until this process has no child left, zombie or not.
///
/// # Panics
///
/// If a child is still there after 10 s, naming the children.
///
/// # Examples
///
/// ```
/// std::process::Command::new("true").status().unwrap(); // waited for: reaped
/// concur_testkit::procfs::assert_no_children();
/// ```
pub fn assert_no_children() {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = children();
        if c.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "children left behind: {c:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `case`, then checks that it left no child process behind
/// ([`assert_no_children`]) and closed every descriptor it opened.
///
/// # Panics
///
/// If `case` panics, a child is left, or the number of open descriptors
/// differs.
///
/// # Examples
///
/// ```
/// concur_testkit::leak_checked(|| {
///     let _f = std::fs::File::open("/proc/self/stat").unwrap();
/// });
/// ```
pub fn leak_checked(case: impl FnOnce()) {
    let fds = open_fds();
    case();
    assert_no_children();
    assert_eq!(open_fds(), fds, "descriptors leaked");
}
