//! Tuning of mimalloc, the binary's global allocator.

/// `mi_option_purge_delay`: the 16th option of mimalloc's `mi_option_e` (in mimalloc 2 and 3),
/// which the Rust bindings give no name; a test keeps the number honest.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of returning it to the OS a second later, for a scan of
/// an inventory file: it frees and allocates in waves (a batch of deployments parsed, evaluated,
/// dropped); returned pages come back zeroed by the kernel, which cost a 100,000-deployment scan
/// a tenth of its wall time, and peak memory was the same. Not for live collection: there, the
/// freed memory kept grew with the number of accounts read (18 MiB more for 160 accounts than
/// for 10, against 7 MiB with mimalloc's default; the live heap grew by 0.8 MiB).
/// `MIMALLOC_PURGE_DELAY`, when set, wins.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets a plain integer option; mimalloc reads it when it next purges.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Turns transparent huge pages off for the process; called first thing in `main`, before the
/// allocator has touched its arena. mimalloc asks for them on its arenas (`MADV_HUGEPAGE`), and
/// where the kernel grants them on request (THP `madvise`, a common default) a page touched once
/// keeps 2 MiB resident until all of it is free again. Scans of 80 and 320 accounts that hold
/// nothing peaked at 67 and 68 MiB with them and 44 and 48 MiB without (the live heap's peak was
/// 15.4 and 15.5 MiB). Turned off later, at the start of collection, 6 MiB more stayed resident
/// (51 MiB at 80 accounts): the pages touched before it (rules, the CEL parser) were already
/// huge. `MIMALLOC_ALLOW_THP`, when set, wins.
pub fn without_huge_pages() {
    set_huge_pages(false);
}

/// Turns transparent huge pages back on, for `scan --inventory`, which fills hundreds of MiB at
/// once (the engine benchmark). `MIMALLOC_ALLOW_THP`, when set, wins.
pub fn allow_huge_pages() {
    set_huge_pages(true);
}

fn set_huge_pages(allowed: bool) {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    // SAFETY: sets a flag of the calling process; no memory is passed. The kernel reads it when
    // a page is first touched. Failure (an old kernel) leaves huge pages as they were.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, libc::c_ulong::from(!allowed), 0, 0, 0);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = allowed;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_number_is_the_purge_delay() {
        // Its default in mimalloc 3 is 1,000 ms; no other option defaults to 1,000.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
                1000
            );
        }
        keep_freed_memory();
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
            -1
        );
    }

    // One test: the flag is the process's, shared by every test thread.
    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_turned_off_and_back_on_for_the_process() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        // SAFETY: reads a flag of the calling process.
        let disabled = || unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        without_huge_pages();
        assert_eq!(disabled(), 1);
        allow_huge_pages();
        assert_eq!(disabled(), 0);
        without_huge_pages();
        assert_eq!(disabled(), 1);
    }
}
