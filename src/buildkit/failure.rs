//! The exit code inside BuildKit's error for a failed RUN. BuildKit 0.8 says
//! `executor failed running [/bin/sh -c exit 3]: exit code: 3`; later versions say
//! `process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`.

pub fn exit_code(error: &str) -> Option<i32> {
    let (_, tail) = error.rsplit_once("exit code: ")?;
    let digits: String = tail.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::exit_code;

    #[test]
    fn both_spellings() {
        assert_eq!(
            exit_code("executor failed running [/bin/sh -c echo one && exit 3]: exit code: 3"),
            Some(3)
        );
        assert_eq!(
            exit_code(r#"process "/bin/sh -c false" did not complete successfully: exit code: 1"#),
            Some(1)
        );
        assert_eq!(
            exit_code("failed to compute cache key: \"/nope\" not found"),
            None
        );
    }
}
