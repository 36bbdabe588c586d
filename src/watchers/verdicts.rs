//! Whether the inbound provider vouches for an email's `From`. Anyone can write any `From`, so a watcher
//! rule on the sender means something only when the domain in it is authenticated. SendGrid Inbound Parse
//! posts its own verdicts as form fields: `SPF` (`pass`, `fail`, `softfail`, `neutral`, `none`…) and `dkim`
//! (`{@bank.example : pass}`, several comma-separated, or `none`). The message's own headers
//! (`Authentication-Results`, `Received-SPF`) are never read for this: the sender can write those too.
//!
//! The `From` is vouched for when DKIM passed for its domain, or SPF passed for the envelope sender's domain
//! and that is the `From`'s domain: an SPF pass for the forger's own envelope domain proves nothing about
//! `From`. Domains match when one is the other or a subdomain of it (DMARC's relaxed alignment).

/// What the provider's verdicts say about the `From` domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The provider posted no verdicts: nothing to judge by, so rules match as they always did.
    Absent,
    Pass,
    /// Verdicts were posted and none vouches for the `From` domain.
    Fail,
}

fn aligned(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase());
    !a.is_empty() && (a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}")))
}

fn domain_of(address: &str) -> Option<&str> {
    address.rsplit_once('@').map(|(_, domain)| domain.trim_end_matches('>'))
}

/// Judges `from` (the bare `From` address) by the provider's `spf` and `dkim` fields and the SMTP envelope
/// sender (`envelope_from`, when known).
pub fn judge(from: &str, envelope_from: Option<&str>, spf: &str, dkim: &str) -> Verdict {
    let (spf, dkim) = (spf.trim(), dkim.trim());
    if spf.is_empty() && dkim.is_empty() {
        return Verdict::Absent;
    }
    let Some(from_domain) = domain_of(from) else { return Verdict::Fail };
    let dkim_pass = dkim.trim_matches(['{', '}']).split(',').any(|entry| {
        let (domain, result) = entry.split_once(':').unwrap_or((entry, ""));
        result.trim().eq_ignore_ascii_case("pass") && aligned(domain.trim().trim_start_matches('@'), from_domain)
    });
    let spf_pass = spf.eq_ignore_ascii_case("pass")
        && envelope_from.and_then(domain_of).is_some_and(|domain| aligned(domain, from_domain));
    if dkim_pass || spf_pass { Verdict::Pass } else { Verdict::Fail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dkim_must_pass_for_the_from_domain() {
        let from = "alerts@bank.example";
        assert_eq!(judge(from, None, "", ""), Verdict::Absent);
        assert_eq!(judge(from, None, "", "{@bank.example : pass}"), Verdict::Pass);
        assert_eq!(judge("a@mail.bank.example", None, "", "{@bank.example : pass}"), Verdict::Pass);
        assert_eq!(judge(from, None, "none", "{@evil.example : pass}"), Verdict::Fail, "the forger's own key");
        assert_eq!(judge(from, None, "", "{@evil.example : pass, @bank.example : fail}"), Verdict::Fail);
        assert_eq!(judge(from, None, "", "{@sendgrid.net : pass, @bank.example : pass}"), Verdict::Pass);
        assert_eq!(judge(from, None, "", "{@notbank.example : pass}"), Verdict::Fail);
        assert_eq!(judge(from, None, "fail", "none"), Verdict::Fail);
    }

    #[test]
    fn spf_counts_only_for_the_from_domain() {
        let from = "alerts@bank.example";
        assert_eq!(judge(from, Some("bounces@bank.example"), "pass", "none"), Verdict::Pass);
        assert_eq!(judge(from, Some("x@evil.example"), "pass", "none"), Verdict::Fail, "aligned only");
        assert_eq!(judge(from, None, "pass", "none"), Verdict::Fail, "no envelope to align");
        assert_eq!(judge(from, Some("bounces@bank.example"), "softfail", ""), Verdict::Fail);
    }
}
