//! Branch names: `{fix|feat|refactor|infra}/#{issue}-{slug}`.
//!
//! The slug is lowercase ASCII letters, digits and single hyphens, at most 40 characters, never
//! starting or ending with a hyphen. Latin letters with accents are folded to their base letter
//! (é → e, ß → ss, æ → ae); text in other scripts is dropped, and a title with nothing left
//! becomes `issue`.

use super::ChangeClass;

/// Longest slug a branch name carries.
pub const MAX_SLUG: usize = 40;

/// The branch for `issue` of a change of `class`, titled `title`.
pub fn branch_name(class: ChangeClass, issue: u64, title: &str) -> String {
    format!("{}/#{issue}-{}", class.branch_prefix(), slug(title))
}

/// A slug for `title` (see the module documentation).
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    let mut pending_hyphen = false;
    for ch in title.chars() {
        let folded = fold(ch);
        if folded.is_empty() {
            // Letters of other scripts vanish without splitting a word; everything else separates.
            if !ch.is_alphanumeric() {
                pending_hyphen = true;
            }
            continue;
        }
        for c in folded.chars() {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c);
        }
    }
    if out.len() > MAX_SLUG {
        // Cut at the last word boundary that fits, or hard at the limit for one long word.
        let cut = out[..=MAX_SLUG]
            .rfind('-')
            .filter(|&i| i > 0)
            .unwrap_or(MAX_SLUG);
        out.truncate(cut);
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "issue".to_string()
    } else {
        out
    }
}

/// ASCII lowercase letters and digits stay; Latin letters with diacritics fold to their base;
/// everything else is empty.
fn fold(ch: char) -> &'static str {
    const ASCII: [&str; 36] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    ];
    let lower = ch.to_ascii_lowercase();
    if lower.is_ascii_lowercase() {
        return ASCII[(lower as u8 - b'a') as usize];
    }
    if lower.is_ascii_digit() {
        return ASCII[26 + (lower as u8 - b'0') as usize];
    }
    match ch {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'ð' | 'Ď' | 'Đ' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę'
        | 'Ě' => "e",
        'ğ' | 'ģ' | 'Ğ' | 'Ģ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => {
            "i"
        }
        'ķ' | 'Ķ' => "k",
        'ł' | 'ľ' | 'ĺ' | 'ļ' | 'Ł' | 'Ľ' | 'Ĺ' | 'Ļ' => "l",
        'ñ' | 'ń' | 'ň' | 'ņ' | 'Ñ' | 'Ń' | 'Ň' | 'Ņ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō'
        | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ŕ' | 'ř' | 'Ŕ' | 'Ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' | 'Ś' | 'Š' | 'Ş' | 'Ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' | 'Ť' | 'Ţ' | 'Ț' => "t",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű'
        | 'Ų' => "u",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_follow_the_convention() {
        assert_eq!(
            branch_name(ChangeClass::Feature, 42, "Add OAuth2 login (Google)"),
            "feat/#42-add-oauth2-login-google"
        );
        assert_eq!(
            branch_name(ChangeClass::Hotfix, 7, "Checkout 500s!"),
            "fix/#7-checkout-500s"
        );
        assert_eq!(
            branch_name(ChangeClass::RiskyInfra, 1, "VPC peering"),
            "infra/#1-vpc-peering"
        );
        assert_eq!(branch_name(ChangeClass::Refactor, 3, "x"), "refactor/#3-x");
    }

    #[test]
    fn slugs_fold_accents_and_drop_other_scripts() {
        assert_eq!(slug("Crème brûlée façade"), "creme-brulee-facade");
        assert_eq!(slug("Straße für Ærø"), "strasse-fur-aero");
        assert_eq!(slug("修复 login 错误"), "login");
        assert_eq!(slug("Проверка"), "issue");
        assert_eq!(slug("  --Hello__World--  "), "hello-world");
        assert_eq!(slug(""), "issue");
    }

    #[test]
    fn slugs_are_bounded_and_never_end_in_a_hyphen() {
        let s = slug("Make the payment service retry idempotently when the upstream times out");
        assert!(s.len() <= MAX_SLUG, "{s}");
        assert!(!s.ends_with('-'), "{s}");
        assert_eq!(s, "make-the-payment-service-retry");
        let long = slug(&"a".repeat(100));
        assert_eq!(long.len(), MAX_SLUG);
        for title in [
            "a-",
            "-",
            "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        ] {
            let s = slug(title);
            assert!(
                s.len() <= MAX_SLUG && !s.ends_with('-') && !s.starts_with('-'),
                "{s}"
            );
        }
    }
}
