//! The command to start: found on PATH as execvp finds it, so that "not found" and
//! "permission denied" are said before anything is forked.

use crate::TraceError;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The program and its arguments, ready for execv.
pub struct Command {
    pub path: CString,
    pub argv: Vec<CString>,
}

/// execvp's search when PATH is unset (glibc's default).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

impl Command {
    /// `argv[0]` found (a name with a `/` as it is; otherwise the first executable file of
    /// that name in a PATH directory), with every argument as a C string.
    pub fn find(argv: &[OsString]) -> Result<Command, TraceError> {
        let Some(program) = argv.first() else {
            return Err(TraceError::NotFound(String::new()));
        };
        let shown = crate::decode::escaped(&program.to_string_lossy());
        let c_string = |s: &OsStr| {
            CString::new(s.as_bytes()).map_err(|_| TraceError::Spawn {
                what: shown.clone(),
                error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "an argument holds a NUL byte"),
            })
        };
        let argv = argv.iter().map(|a| c_string(a)).collect::<Result<Vec<_>, _>>()?;
        let path = if program.as_bytes().contains(&b'/') {
            match executable(Path::new(program)) {
                Found::Yes => PathBuf::from(program),
                Found::NotExecutable => return Err(TraceError::NotExecutable(shown)),
                Found::No => return Err(TraceError::NotFound(shown)),
            }
        } else {
            let search = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
            let mut denied = false;
            let mut found = None;
            for dir in std::env::split_paths(&search) {
                // An empty entry is the current directory, as for execvp.
                let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
                let candidate = dir.join(program);
                match executable(&candidate) {
                    Found::Yes => {
                        found = Some(candidate);
                        break;
                    }
                    Found::NotExecutable => denied = true,
                    Found::No => {}
                }
            }
            match found {
                Some(path) => path,
                None if denied => return Err(TraceError::NotExecutable(shown)),
                None => return Err(TraceError::NotFound(shown)),
            }
        };
        Ok(Command { path: c_string(&path.into_os_string())?, argv })
    }
}

enum Found {
    Yes,
    NotExecutable,
    No,
}

/// Whether `path` is a file this process may execute.
fn executable(path: &Path) -> Found {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => match rustix::fs::access(path, rustix::fs::Access::EXEC_OK) {
            Ok(()) => Found::Yes,
            Err(_) => Found::NotExecutable,
        },
        Ok(_) => Found::NotExecutable,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Found::NotExecutable,
        Err(_) => Found::No,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_name_is_found_on_path_and_a_path_is_taken_as_it_is() {
        let sh = Command::find(&["sh".into(), "-c".into()]).unwrap();
        assert!(sh.path.to_bytes().ends_with(b"/sh"), "{:?}", sh.path);
        assert_eq!(sh.argv.len(), 2);
        assert!(matches!(Command::find(&["no-such-command-here".into()]), Err(TraceError::NotFound(_))));
        let plain = std::env::temp_dir().join(format!("sockscope-not-executable-{}", std::process::id()));
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        let found = Command::find(&[plain.clone().into()]);
        std::fs::remove_file(&plain).unwrap();
        assert!(matches!(found, Err(TraceError::NotExecutable(_))));
        assert!(matches!(Command::find(&["/".into()]), Err(TraceError::NotExecutable(_))));
        assert!(matches!(Command::find(&["./no/such".into()]), Err(TraceError::NotFound(_))));
        assert!(Command::find(&[]).is_err());
    }
}
