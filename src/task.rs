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

/// `program args…` as a shell would read it, for errors.
fn cmdline(program: &str, args: &[std::ffi::OsString]) -> String {
    std::iter::once(program.to_string()).chain(args.iter().map(|a| shell_quote(&a.to_string_lossy()))).collect::<Vec<_>>().join(" ")
}

/// Runs `program args…`, capturing its output; Ok(stdout) on exit status 0.
pub fn run<I, S>(program: &str, args: I) -> Result<String, TaskError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let cmdline = cmdline(program, &args);
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

/// Runs `program args…` with `input` on its standard input; Ok(stdout, as bytes) on exit status 0.
/// For programs that take data on stdin or give back bytes that are not text (or are secret: the
/// caller wraps them, nothing is copied into a String here).
pub fn run_with_input<I, S>(program: &str, args: I, input: &[u8]) -> Result<Vec<u8>, TaskError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use std::io::Write;
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let cmdline = cmdline(program, &args);
    let fail = |detail: String| TaskError { cmdline: cmdline.clone(), detail };
    let mut child = Command::new(program)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let wrote = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        // the last line that says something: tools such as systemd-creds warn before they fail
        let why = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").trim();
        return Err(fail(format!("{} — {why}", out.status)));
    }
    wrote.map_err(|e| fail(format!("writing its input: {e}")))?;
    Ok(out.stdout)
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

    #[test]
    fn input_goes_in_and_bytes_come_out() {
        assert_eq!(super::run_with_input("tr", ["a", "\u{1}"], b"banana").unwrap(), b"b\x01n\x01n\x01");
        let e = super::run_with_input("sh", ["-c", "cat >/dev/null; echo warn >&2; echo why >&2; exit 2"], b"x").unwrap_err();
        assert!(e.to_string().ends_with("exit status: 2 — why"), "{e}");
    }
}
