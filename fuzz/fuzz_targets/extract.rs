//! Any bytes, opened and extracted with a short deadline: the engine must return (text
//! or a reason), never panic, and never run far past the deadline.

#![no_main]

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use worker::engine::{Limits, extract};
use worker::protocol::Reason;

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let limits = Limits {
        max_pages: Some(50),
        skip_if_pages_over: None,
        deadline: Some(start + Duration::from_millis(200)),
    };
    let mut pages = 0u32;
    let result = extract(data, &limits, &mut |_, text| {
        pages += 1;
        // The page text is what the measured loop counts; it must be valid and trimmed.
        assert_eq!(text.trim_end().len(), text.len());
        ControlFlow::Continue(())
    });
    match result {
        Ok(outcome) => {
            assert_eq!(outcome.pages_extracted, pages);
            assert!(outcome.pages_extracted <= outcome.page_count);
        }
        // A panic is caught by the engine and reported; for the fuzzer it is a bug.
        Err(e) => assert_ne!(e.reason, Reason::Panic, "{}", e.detail),
    }
    // The deadline is checked cooperatively; one slow step past it is a hang.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
});
