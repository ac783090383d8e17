//! One way to put an error and its causes into words: each cause once. Library errors often
//! repeat their cause in their own message ("partition 3: TPM2: …" whose source is "TPM2: …"),
//! so a plain walk down the chain says the same thing two or three times.

/// The messages of `e` and its causes, outermost first, without a cause whose message the
/// previous one already contains.
pub fn causes(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !out.last().is_some_and(|prev| prev.contains(&m)) {
            out.push(m);
        }
        cur = c.source();
    }
    out
}

/// [`causes`] joined with ": ", for one line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    causes(e).join(": ")
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("TPM2: {0}")]
    struct Inner(&'static str);
    #[derive(Debug, thiserror::Error)]
    #[error("partition 3: {source}")]
    struct Outer {
        source: Inner,
    }

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let e = anyhow::Error::new(Outer { source: Inner("the PCRs differ") }).context("installing onto t.img");
        assert_eq!(super::chain(e.as_ref()), "installing onto t.img: partition 3: TPM2: the PCRs differ");
        let io = anyhow::Error::new(std::io::Error::other("disk full")).context("writing x");
        assert_eq!(super::chain(io.as_ref()), "writing x: disk full");
    }
}
