//! `sockscope trace -- CMD`: the network system calls of a command, as strace shows them.
//! The trace goes to stderr (or -o FILE), as strace's; the exit status is the command's.

use crate::args::TraceArgs;
use crate::usage::usage;
use anyhow::Context;
use sockscope_trace::{Options, TraceError, syscalls, trace_command};
use std::io::Write;

pub fn run(args: &TraceArgs) -> anyhow::Result<u8> {
    let mut opts = Options { follow: args.follow, string_limit: args.string_limit, ..Options::default() };
    if let Some(expr) = &args.expr {
        let set = expr.strip_prefix("trace=").unwrap_or(expr);
        opts.set = syscalls::parse_set(set).map_err(|word| {
            usage(anyhow::anyhow!(
                "-e trace={}: unknown syscall or class '{}' (this version knows %net and its calls)",
                crate::escape::escape(set),
                crate::escape::escape(&word)
            ))
        })?;
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", crate::escape::escape_path(path)))?,
        )),
        None => Box::new(crate::output::Guarded::new(std::io::stderr())),
    };
    let mut failed = None;
    // As strace: `[pid N]` prefixes once a second process is traced.
    let mut pids = std::collections::HashSet::new();
    let status = trace_command(&args.command, &opts, |event| {
        pids.insert(crate::render::trace::pid_of(event));
        if failed.is_none()
            && let Err(e) = crate::render::trace::write(&mut out, event, pids.len() > 1, args.jsonl)
        {
            failed = Some(e);
        }
    });
    out.flush()?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    match status {
        Ok(code) => Ok(u8::try_from(code).unwrap_or(u8::MAX)),
        Err(e @ TraceError::NotFound(_)) => {
            crate::stderr_line!("sockscope: error: {e}");
            Ok(127)
        }
        Err(e @ TraceError::NotExecutable(_)) => {
            crate::stderr_line!("sockscope: error: {e}");
            Ok(126)
        }
        Err(e) => Err(e.into()),
    }
}
