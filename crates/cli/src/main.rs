//! The `sockscope` binary.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    sockscope_cli::main()
}
