#![allow(dead_code)] // Nothing calls the report and sample modules yet.

mod report;
mod sample;

fn main() {}
