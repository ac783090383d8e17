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
    run_in(program, args, false)
}

/// As [`run`], but the program cannot punch, zero or preallocate ranges of files: its
/// `fallocate(2)` fails with EOPNOTSUPP (a seccomp filter), as on a file system without it.
/// mkfs tools then fall back to writing the zeroes they mean, so every range they zero shows as
/// data in a sparse scratch file, and a range that stays a hole was never written at all (what
/// the encrypted install relies on: only data ranges are encrypted and written).
pub fn run_without_fallocate<I, S>(program: &str, args: I) -> Result<String, TaskError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_in(program, args, true)
}

fn run_in<I, S>(program: &str, args: I, no_fallocate: bool) -> Result<String, TaskError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use std::os::unix::process::CommandExt;
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let cmdline = cmdline(program, &args);
    let mut cmd = Command::new(program);
    if no_fallocate {
        // SAFETY: the closure only calls prctl(2), which is async-signal-safe, on data that
        // lives in the closure (no allocation after fork).
        unsafe { cmd.pre_exec(deny_fallocate) };
    }
    let out = cmd
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

/// Installs a seccomp filter in the calling (child) process: `fallocate(2)` returns EOPNOTSUPP,
/// every other system call is allowed. Also sets no_new_privs, which the filter needs.
fn deny_fallocate() -> std::io::Result<()> {
    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
    const LD_ABS_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    // struct seccomp_data: int nr at 0, __u32 arch at 4
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let filter = [
        op(LD_ABS_W, 0, 0, 4),
        // another ABI's system call numbers mean other calls: fail them all rather than guess
        op(JEQ_K, 1, 0, AUDIT_ARCH),
        op(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        op(LD_ABS_W, 0, 0, 0),
        op(JEQ_K, 0, 1, libc::SYS_fallocate as u32),
        op(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EOPNOTSUPP as u32),
        op(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr().cast_mut() };
    // SAFETY: prctl with integer arguments, and a pointer to a filter that outlives the call.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog as *const libc::sock_fprog) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
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
    fn without_fallocate_the_program_cannot_punch_or_preallocate() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, vec![1u8; 1 << 16]).unwrap();
        let s = f.to_str().unwrap();
        // the same command works without the filter
        super::run("fallocate", ["--punch-hole", "-o", "0", "-l", "4096", s]).unwrap();
        let e = super::run_without_fallocate("fallocate", ["--punch-hole", "-o", "4096", "-l", "4096", s]).unwrap_err();
        assert!(e.to_string().contains("supported"), "{e}");
        let e = super::run_without_fallocate("fallocate", ["-l", "1M", s]).unwrap_err();
        assert!(e.to_string().contains("supported"), "{e}");
        // everything else still works
        assert_eq!(super::run_without_fallocate("sh", ["-c", "echo hi"]).unwrap(), "hi\n");
        let data = std::fs::read(&f).unwrap();
        assert!(data[..4096].iter().all(|b| *b == 0) && data[4096..8192].iter().all(|b| *b == 1));
    }

    #[test]
    fn input_goes_in_and_bytes_come_out() {
        assert_eq!(super::run_with_input("tr", ["a", "\u{1}"], b"banana").unwrap(), b"b\x01n\x01n\x01");
        let e = super::run_with_input("sh", ["-c", "cat >/dev/null; echo warn >&2; echo why >&2; exit 2"], b"x").unwrap_err();
        assert!(e.to_string().ends_with("exit status: 2 — why"), "{e}");
    }
}
