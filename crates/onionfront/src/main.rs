//! The `onionfront` binary: CLI entry point.

fn main() {
    println!("onionfront");
}
