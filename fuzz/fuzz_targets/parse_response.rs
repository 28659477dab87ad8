//! Arbitrary bytes through both entry points of the response grammar: no
//! panic, consumed lengths and deviation offsets inside the input, and a
//! bounded excerpt. Any deviation must also be something `quirks::identify`
//! can look at without panicking.
#![no_main]

use imapprobe::grammar::{parse_greeting, parse_response, Deviation, Options, ParseError};
use libfuzzer_sys::fuzz_target;

fn check_deviation(input: &[u8], d: &Deviation) {
    assert!(
        d.offset <= input.len(),
        "offset {} past the end ({} bytes)",
        d.offset,
        input.len()
    );
    let found: Vec<u8> = input[d.offset..]
        .iter()
        .take(d.found.len())
        .copied()
        .collect();
    assert_eq!(d.found, found, "`found` is not the input at `offset`");
    let excerpt = d.excerpt(input);
    assert!(excerpt.lines().all(|l| l.len() < 100), "excerpt too wide");
    let _ = imapprobe::quirks::identify(input, d);
}

fn check<T>(input: &[u8], outcome: Result<(T, usize), ParseError>) {
    match outcome {
        Ok((_, n)) => assert!(n > 0 && n <= input.len(), "consumed {n} of {}", input.len()),
        Err(ParseError::Invalid(d)) => check_deviation(input, &d),
        Err(ParseError::Incomplete { .. }) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the options, so both UTF8=ACCEPT modes and a
    // shallow nesting limit are explored.
    let (opts, input) = match data.split_first() {
        Some((&b, rest)) => (
            Options {
                utf8_accept: b & 1 == 1,
                max_depth: if b & 2 == 2 { 4 } else { 32 },
            },
            rest,
        ),
        None => (Options::default(), data),
    };
    check(input, parse_response(input, &opts));
    check(input, parse_greeting(input, &opts));
});
