#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_huge_pages();
    trailaudit::cli::run()
}

/// Turns transparent huge pages off for this process. The allocator asks for them where the
/// system allows it; every chunk of history it frees and takes again then costs the kernel a
/// fresh 2 MiB page to zero. Without them the audit of 1M records peaks about 35 MiB lower and
/// spends half the system time (BENCHMARKS.md, "Session 13").
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integers only and touches no memory of ours; on a kernel
    // without it the call fails and nothing changes.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
