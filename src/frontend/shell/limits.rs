//! Size limits on expansion. BuildKit has none, and a 392-byte Dockerfile that quadruples a
//! variable thirty times asks for 24 GB; these caps turn that into an error long before memory is
//! at risk while staying far above anything a real Dockerfile writes (Linux itself refuses an
//! environment string over 128 KiB in `execve`).

use super::ShellError;

/// An expanded word may be at most this many bytes longer than the word as written.
pub const MAX_GROWTH: usize = 1 << 20;

/// The ARG and ENV names and values of one stage (or of the global ARGs) may total this many bytes.
pub const MAX_VARS: usize = 4 << 20;

/// Fails when the variables `vars` hold more than [`MAX_VARS`] bytes; `name` is the variable just set.
pub fn check_vars<'a>(
    name: &str,
    vars: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<(), ShellError> {
    let total: usize = vars.into_iter().map(|(k, v)| k.len() + v.len()).sum();
    if total <= MAX_VARS {
        return Ok(());
    }
    Err(ShellError {
        word: name.to_string(),
        reason: format!(
            "the stage's ARG and ENV values reach {total} bytes, over the limit of {MAX_VARS} bytes"
        ),
        too_large: true,
    })
}
