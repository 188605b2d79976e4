mod report;
mod sample;

fn main() {}
