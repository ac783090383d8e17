//! The one way imprint runs an external program (mkfs and friends): quiet unless it fails, and
//! then the error carries the full command line and what the program printed.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
#[error("{cmdline}: {detail}")]
pub struct TaskError {
    pub cmdline: String,
    pub detail: String,
}

/// Runs `program args…`, capturing its output; Ok(stdout) on exit status 0.
pub fn run<I, S>(program: &str, args: I) -> Result<String, TaskError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let cmdline =
        std::iter::once(program.to_string()).chain(args.iter().map(|a| shell_quote(&a.to_string_lossy()))).collect::<Vec<_>>().join(" ");
    let out = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TaskError { cmdline: cmdline.clone(), detail: format!("cannot run: {e}") })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let text = if stderr.trim().is_empty() { stdout.trim().to_string() } else { stderr.trim().to_string() };
        return Err(TaskError { cmdline, detail: format!("{} — {}", out.status, text) });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn failures_carry_the_command_line() {
        let e = super::run("sh", ["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert!(e.to_string().starts_with("sh -c 'echo oops >&2; exit 3': "), "{e}");
        assert!(e.to_string().contains("oops"));
        assert_eq!(super::run("sh", ["-c", "echo hi"]).unwrap(), "hi\n");
    }
}
