//! The library tests' allocation guard: every allocation made inside
//! [`allocations`] is counted. Tests take turns, so one test's allocations
//! (the guard's own check makes one on purpose) never show in another's
//! count.

use std::sync::Mutex;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};

// Counts allocations inside `assert_no_alloc` and lets every other
// allocation of this test binary through.
#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

static TURN: Mutex<()> = Mutex::new(());

/// Runs `f`, returning its result and how many allocations it made.
pub fn allocations<R>(f: impl FnOnce() -> R) -> (R, u32) {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let before = violation_count();
    let result = assert_no_alloc(f);
    (result, violation_count() - before)
}

#[test]
fn the_allocation_guard_is_live() {
    let (v, made) = allocations(|| Box::new(42u64));
    assert_eq!(*v, 42);
    assert_eq!(made, 1, "the guard missed an allocation");
}
