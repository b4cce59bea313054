//! `sockscope completions` and `sockscope man`: shell completions and manual pages, generated
//! from the one clap definition in `args.rs`, so they never disagree with `--help`.

use crate::args::{Cli, CompletionsArgs, ManArgs, Shell};
use crate::usage::usage;
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::Path;

pub fn completions(args: &CompletionsArgs, out: &mut impl Write) -> anyhow::Result<bool> {
    let mut cmd = Cli::command();
    if let Some(dir) = &args.dir {
        for (shell, file) in
            [(Shell::Bash, "sockscope.bash"), (Shell::Zsh, "_sockscope"), (Shell::Fish, "sockscope.fish")]
        {
            let mut text = Vec::new();
            generate(shell, &mut cmd, &mut text);
            write_file(&dir.join(file), &text)?;
        }
        return Ok(true);
    }
    let shell = args.shell.context("give a shell (bash, zsh or fish) or --dir").map_err(usage)?;
    generate(shell, &mut cmd, out);
    Ok(true)
}

fn generate(shell: Shell, cmd: &mut clap::Command, out: &mut dyn Write) {
    use clap_complete::{Shell as S, generate};
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    generate(shell, cmd, "sockscope", out);
}

pub fn man(args: &ManArgs, out: &mut impl Write) -> anyhow::Result<bool> {
    let root = Cli::command();
    if let Some(dir) = &args.dir {
        for (name, page) in pages(&root) {
            let mut text = Vec::new();
            clap_mangen::Man::new(page).render(&mut text)?;
            write_file(&dir.join(format!("{name}.1")), &text)?;
        }
        return Ok(true);
    }
    let page = match &args.command {
        None => root,
        Some(name) => visible(&root).find(|c| c.get_name() == name).cloned().ok_or_else(|| {
            let names: Vec<&str> = visible(&root).map(|c| c.get_name()).collect();
            usage(anyhow::anyhow!("man: no command '{}' (one of: {})", crate::escape::escape(name), names.join(", ")))
        })?,
    };
    let name = page.get_name().to_string();
    let page = if name == "sockscope" { page } else { subpage(page, &name) };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    if !args.roff && rustix::termios::isatty(std::io::stdout()) {
        return show(&roff, out);
    }
    out.write_all(&roff)?;
    Ok(true)
}

/// A page on the terminal: through `man -l -` (its pager, its width), as `man` shows an
/// installed one. Without man, the roff is printed, and the note says what to run.
fn show(roff: &[u8], out: &mut impl Write) -> anyhow::Result<bool> {
    use std::process::{Command, Stdio};
    let child = Command::new("man").args(["-l", "-"]).stdin(Stdio::piped()).spawn();
    let Ok(mut child) = child else {
        crate::stderr_line!(
            "sockscope: note: man is not installed: the page's roff follows (groff -man -Tutf8 renders it)"
        );
        out.write_all(roff)?;
        return Ok(true);
    };
    if let Some(mut stdin) = child.stdin.take() {
        // The pager quit early (q): a broken pipe is not an error.
        let _ = stdin.write_all(roff);
    }
    let status = child.wait()?;
    if !status.success() {
        anyhow::bail!("man -l - exited with {status}");
    }
    Ok(true)
}

/// sockscope(1) and one page per visible command, named `sockscope-COMMAND`.
fn pages(root: &clap::Command) -> Vec<(String, clap::Command)> {
    let mut all = vec![("sockscope".to_string(), root.clone())];
    for c in visible(root) {
        all.push((format!("sockscope-{}", c.get_name()), subpage(c.clone(), c.get_name())));
    }
    all
}

/// A command's page: named `sockscope-COMMAND`, with the program's version.
fn subpage(cmd: clap::Command, name: &str) -> clap::Command {
    cmd.name(format!("sockscope-{name}")).version(env!("CARGO_PKG_VERSION"))
}

fn visible(root: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    root.get_subcommands().filter(|c| !c.is_hide_set())
}

fn write_file(path: &Path, text: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", crate::escape::escape_path(path)))
}
