//! Command-line interface (being written).

/// Runs jig with the process arguments and returns the exit code.
pub fn main() -> i32 {
    0
}
