//! `unseal`: what field decryption adds to a page (issue 17). The pages decrypt in the row
//! mapping (`entity::sealed::Sealed`), so they run no extra statement (the e2e statement-count
//! tests show it); what they add is CPU time. This measures it on the values of the two pages
//! that decrypt most: the 50-request `bloodRequests` page (patient name and medical notes)
//! and a 50-donor `donors` page (birth date, phone and address), sealed as the server seals
//! them, opened over and over on one core for `--duration` seconds. Compare with the
//! `blood-page` latency of the same sitting.

use crate::Args;
use std::time::{Duration, Instant};

/// Runs the measurement and prints one markdown row per page.
pub fn run(args: &Args) -> crate::setup::Res<bool> {
    let ring = lifeflow::sealing::keyring_from(
        "bench:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=",
        "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=",
    )?;
    let notes = "Post-partum haemorrhage, Hb 6.1 g/dL after two units; cross-matched, \
                 no antibodies detected. Consultant on call informed; keep two more units \
                 on hold until the evening review.";
    let requests: Vec<String> = (0..50)
        .flat_map(|i| {
            [
                ring.seal(&format!("Patient Number {i:04}")),
                ring.seal(notes),
            ]
        })
        .collect();
    let donors: Vec<String> = (0..50)
        .flat_map(|i| {
            [
                ring.seal("1988-03-14"),
                ring.seal(&format!("+9198450{i:05}")),
                ring.seal(&format!("{i} 11th Main Road, Jayanagar 4th Block")),
            ]
        })
        .collect();
    println!(
        "| page | values | µs per page (decrypt) | µs per page (encrypt, for writes) | pages measured |"
    );
    println!("|---|---:|---:|---:|---:|");
    let budget = Duration::from_secs(args.duration.max(1));
    for (name, values) in [
        ("bloodRequests(first: 50)", &requests),
        ("donors(first: 50)", &donors),
    ] {
        let plain: Vec<String> = values
            .iter()
            .map(|v| ring.open(v).unwrap_or_default())
            .collect();
        let started = Instant::now();
        let mut pages = 0u64;
        while started.elapsed() < budget / 2 {
            for v in values {
                std::hint::black_box(ring.open(std::hint::black_box(v)).ok());
            }
            pages += 1;
        }
        let open_us = started.elapsed().as_secs_f64() * 1e6 / pages as f64;
        let started = Instant::now();
        let mut sealed_pages = 0u64;
        while started.elapsed() < budget / 2 {
            for p in &plain {
                std::hint::black_box(ring.seal(std::hint::black_box(p)));
            }
            sealed_pages += 1;
        }
        let seal_us = started.elapsed().as_secs_f64() * 1e6 / sealed_pages as f64;
        println!(
            "| {name} | {} | {open_us:.1} | {seal_us:.1} | {pages} |",
            values.len()
        );
    }
    Ok(true)
}
