//! The `sockscope` command line as a library: parses the arguments, runs one command, and
//! turns every error into one line on stderr and a non-zero exit. `main.rs` only calls
//! `main()`; the benchmarks reach the renderers through here.
#![forbid(unsafe_code)]

mod args;
mod commands;
pub mod escape;
mod from;
mod input;
pub mod output;
mod plan;
pub mod render;
mod suggest;
mod term;
mod usage;
mod version;

use clap::Parser;
use output::Guarded;
use sockscope_core::capture::Limit;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

/// The whole program.
pub fn main() -> ExitCode {
    let argv = capture_args_after_command(std::env::args_os().collect());
    let cli = match args::Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(message) = suggest::better(&e, &argv) {
                stderr_line!("sockscope: error: {message}");
                return ExitCode::from(2);
            }
            return clap_error(e);
        }
    };
    if let Err(e) = stdout_is_open() {
        stderr_line!("sockscope: error: {e}");
        return ExitCode::FAILURE;
    }
    let stdout = io::stdout();
    if cli.version {
        let mut out = BufWriter::new(Guarded::new(stdout.lock()));
        let result = version::write(cli.list.json, &mut out).and_then(|()| Ok(out.flush()?)).map(|()| 0);
        return finish(result, out);
    }
    // The guard reads whole 64 KiB buffers, not each small write of the renderers (JSON is
    // written a token at a time).
    let mut out = BufWriter::with_capacity(64 * 1024, Guarded::new(stdout.lock()));
    let width = term::stdout_width();
    // How far a capture (--from, diff) may decompress.
    let limit = cli.max_decompressed().map_or(Limit::Proportional, Limit::Bytes);
    let capture = cli.capture().and_then(|c| Some((c.from.as_deref()?, c.frame)));
    let loaded = match capture.map(|(path, frame)| from_capture(path, frame, limit, cli.command.as_ref())) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => return finish(Err(e), out),
        None => None,
    };
    let origin = || loaded.as_ref().map_or_else(from::Origin::live, from::Origin::of);
    // Files sockscope writes: private unless --file-mode says otherwise.
    let file_mode = cli.file_mode().unwrap_or(sockscope_core::outfile::PRIVATE);
    let result: anyhow::Result<u8> = match &cli.command {
        None => plan::ListPlan::from_args(&cli.list, term::colour(cli.color()), origin())
            .and_then(|plan| commands::list::run(&plan, file_mode, &mut out, width))
            .map(status),
        Some(args::Command::Fds(a)) => commands::fds::run(a, &origin(), &mut out).map(status),
        Some(args::Command::Who(a)) => commands::who::run(a, &origin(), &mut out).map(status),
        Some(args::Command::Doctor(a)) => commands::doctor::run(a, &origin(), term::colour(cli.color()), &mut out),
        Some(args::Command::Record(a)) => commands::record::run(a, file_mode).map(status),
        Some(args::Command::Diff(a)) => commands::diff::run(a, limit, &mut out),
        Some(args::Command::Lab(a)) => commands::lab::run(a, &mut out).map(status),
        Some(args::Command::Trace(a)) => commands::trace::run(a, file_mode),
        Some(args::Command::Events(a)) => commands::events::run(a),
        Some(args::Command::Watch(a)) => {
            commands::watch::run(a, loaded.as_ref(), term::colour(cli.color())).map(|()| 0)
        }
        Some(args::Command::Serve(a)) => commands::serve::run(a).map(|()| 0),
        Some(args::Command::Completions(a)) => commands::docs::completions(a, &mut out).map(status),
        Some(args::Command::Man(a)) => commands::docs::man(a, &mut out).map(status),
        Some(args::Command::LabWorker { spec }) => {
            drop(out);
            return ExitCode::from(sockscope_lab::worker::main(spec).clamp(0, 255) as u8);
        }
    }
    .and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    finish(result, out)
}

/// The shared flags that take a value, which may stand before a subcommand (each command
/// that takes one defines it; `suggest` says which take it).
const GLOBAL_VALUED: [&str; 6] = ["--from", "--frame", "--max-decompressed", "--file-mode", "--color", "--colour"];

/// `sockscope --from X.cap fds 1234`: the shared flags may come before a command; clap
/// takes flags before a command as the socket table's, so they are moved after its name.
fn capture_args_after_command(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let mut i = 1;
    while let Some(a) = argv.get(i).and_then(|a| a.to_str()) {
        match a {
            _ if GLOBAL_VALUED.contains(&a) => i += 2,
            _ if GLOBAL_VALUED.iter().any(|f| a.strip_prefix(f).is_some_and(|v| v.starts_with('='))) => i += 1,
            _ => break,
        }
    }
    let is_command = argv
        .get(i)
        .and_then(|a| a.to_str())
        .is_some_and(|name| args::Cli::command().get_subcommands().any(|c| c.get_name() == name));
    if i > 1 && is_command && i < argv.len() {
        let flags: Vec<_> = argv.drain(1..i).collect();
        let at = 2;
        argv.splice(at..at, flags);
    }
    argv
}

/// `--from`: the capture, read before the command runs (only the commands that answer from
/// one take the flag). Only `watch` replays every look; the others answer from one and keep
/// only it.
fn from_capture(
    path: &std::path::Path,
    frame: Option<usize>,
    limit: Limit,
    command: Option<&args::Command>,
) -> anyhow::Result<from::Loaded> {
    let all = matches!(command, Some(args::Command::Watch(_)));
    let loaded = from::Loaded::read(path, frame, all, limit)?;
    loaded.announce();
    Ok(loaded)
}

/// Commands that succeed or not: 0 or 1.
fn status(ok: bool) -> u8 {
    if ok { 0 } else { 1 }
}

/// `sockscope >&-` must not lose its output silently. Rust's runtime reopens a closed fd 1
/// on /dev/null (read-write) before `main`, so a closed stdout shows as that: /dev/null
/// opened read-write while stdin and stderr are not. (A daemon that points all three at
/// one read-write /dev/null has chosen to discard the output, and is left alone; `>/dev/null`
/// opens it write-only.)
fn stdout_is_open() -> anyhow::Result<()> {
    use rustix::fs::{FileType, OFlags};
    use std::os::fd::AsFd;
    let null_read_write = |fd: rustix::fd::BorrowedFd<'_>| {
        rustix::fs::fstat(fd).is_ok_and(|st| {
            FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
                && rustix::fs::major(st.st_rdev) == 1
                && rustix::fs::minor(st.st_rdev) == 3
        }) && rustix::fs::fcntl_getfl(fd).is_ok_and(|f| f & OFlags::RWMODE == OFlags::RDWR)
    };
    let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
    let out = stdout.as_fd();
    let reopened = rustix::io::fcntl_getfd(out).is_err()
        || (null_read_write(out) && !null_read_write(stdin.as_fd()) && !null_read_write(stderr.as_fd()));
    if reopened {
        anyhow::bail!("standard output is closed; nothing could be written (use >/dev/null to discard it)");
    }
    Ok(())
}

/// The exit status of a command's result: its code, or 1 with one line for an error.
fn finish(result: anyhow::Result<u8>, out: BufWriter<Guarded<io::StdoutLock<'_>>>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        // `sockscope … | head` closes the pipe early: that is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Drop what is buffered: a failed write must not be retried on exit.
            std::mem::forget(out);
            stderr_line!("sockscope: error: {}", one_line(&e));
            if usage::is_usage(&e) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            // JSON is written by serde_json, whose error wraps the io::Error.
            || c.downcast_ref::<serde_json::Error>().is_some_and(|j| j.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

/// "what: why: cause" on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}

/// Help and version print as clap renders them, to stdout; usage errors in full, to stderr.
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Help goes to stdout; a reader closing it early is not an error.
            let _ = io::stdout().write_all(e.render().to_string().as_bytes());
            ExitCode::SUCCESS
        }
        // `sockscope lab` alone: its help lists the scenarios, but nothing was run.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            for line in e.render().to_string().trim_end().lines() {
                stderr_line!("{line}");
            }
            ExitCode::from(2)
        }
        _ => {
            // clap's whole message: what is wrong, valid values or a suggestion, the usage
            // line and which --help to read (the subcommand's, for a subcommand).
            for line in e.render().to_string().trim_end().lines() {
                stderr_line!("{line}");
            }
            ExitCode::from(2)
        }
    }
}
