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

/// Turns transparent huge pages off for the process, for live collection. mimalloc asks for
/// them on its arenas (`MADV_HUGEPAGE`), and where the kernel grants them on request (THP
/// `madvise`, a common default) a page touched once keeps 2 MiB resident until all of it is free
/// again. Scans of 80 and 320 accounts that hold nothing peaked at 67 and 68 MiB with them and
/// 44 and 48 MiB without (the live heap's peak was 15.4 and 15.5 MiB); collection allocates
/// little at a time and gains nothing from them. Not for `scan --inventory`, which fills
/// hundreds of MiB at once. `MIMALLOC_ALLOW_THP`, when set, wins.
pub fn without_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    // SAFETY: sets a flag of the calling process; no memory is passed. Failure (an old kernel)
    // leaves huge pages as they were.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
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

    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_turned_off_for_the_process() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        without_huge_pages();
        // SAFETY: reads a flag of the calling process.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) }, 1);
    }
}
