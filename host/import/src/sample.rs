//! HH-RLHF files shaped like the public release, for `cairn bench import` and the tests: lines of
//! 1.4 KB on average, one to four turns, raw UTF-8 (`’`, `é`, emoji) in about four lines of five,
//! Python's `json.dumps` separators (`", "`, `": "`), an occasional empty reply, and about one pair in
//! 460 whose transcripts differ before the last turn (an earlier turn edited), as in the
//! `harmless-base` test split (5 of 2,312).

use cairn_model::rng::SplitMix64;

const WORDS: &[&str] = &[
    "the",
    "a",
    "model",
    "should",
    "answer",
    "question",
    "carefully",
    "and",
    "it",
    "is",
    "not",
    "clear",
    "why",
    "people",
    "would",
    "ask",
    "that",
    "but",
    "here",
    "are",
    "some",
    "thoughts",
    "about",
    "safety",
    "help",
    "honest",
    "you",
    "can",
    "try",
    "again",
    "later",
    "if",
    "this",
    "doesn’t",
    "work",
    "café",
    "naïve",
    "résumé",
    "—",
    "“quoted”",
    "…",
    "🙂",
];

/// One line of an HH-RLHF file, `index` of a file generated from `seed`: `{"chosen": …, "rejected": …}`.
pub fn hh_rlhf_line(seed: u64, index: u64) -> String {
    let mut rng = SplitMix64::new(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let ascii_only = rng.below(5) == 0;
    let sentence = |rng: &mut SplitMix64, words: usize| {
        let mut s = String::new();
        for i in 0..words {
            let mut w = WORDS[rng.below(WORDS.len())];
            if ascii_only && !w.is_ascii() {
                w = "plain";
            }
            if i > 0 {
                s.push(' ');
            }
            s.push_str(w);
        }
        s.push('.');
        s
    };
    // Pairs with an edited earlier turn have one or two turns before the last.
    let edited = index % 460 == 100;
    let turns = if edited { 2 + rng.below(2) } else { 1 + rng.below(3) };
    let mut prompt = String::new();
    for t in 0..turns {
        prompt.push_str("\n\nHuman: ");
        let words = 6 + rng.below(20);
        prompt.push_str(&sentence(&mut rng, words));
        if t + 1 < turns {
            prompt.push_str("\n\nAssistant: ");
            let words = 12 + rng.below(40);
            prompt.push_str(&sentence(&mut rng, words));
        }
    }
    let reply = |rng: &mut SplitMix64| {
        if rng.below(100) == 0 {
            return String::new();
        }
        let words = 25 + rng.below(50);
        format!(" {}", sentence(rng, words))
    };
    let chosen = format!("{prompt}\n\nAssistant:{}", reply(&mut rng));
    let rejected = if edited {
        // An earlier human turn edited on one side only.
        let at = prompt.find("\n\nAssistant: ").unwrap_or(prompt.len());
        format!("{} (edited){}\n\nAssistant:{}", &prompt[..at], &prompt[at..], reply(&mut rng))
    } else {
        format!("{prompt}\n\nAssistant:{}", reply(&mut rng))
    };
    // serde_json escapes strings exactly as Python's json.dumps does with ensure_ascii off.
    format!("{{\"chosen\": {}, \"rejected\": {}}}", serde_json::Value::from(chosen), serde_json::Value::from(rejected))
}

/// Writes `count` lines from `seed` to `out`.
pub fn write_hh_rlhf(out: &mut impl std::io::Write, seed: u64, count: u64) -> std::io::Result<()> {
    for i in 0..count {
        writeln!(out, "{}", hh_rlhf_line(seed, i))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_shaped_like_the_release() {
        let lines: Vec<String> = (0..2312).map(|i| hh_rlhf_line(1, i)).collect();
        let mean = lines.iter().map(String::len).sum::<usize>() / lines.len();
        assert!((1000..1800).contains(&mean), "mean line length {mean}");
        let raw = lines.iter().filter(|l| !l.is_ascii()).count();
        assert!((1500..2100).contains(&raw), "{raw} lines with raw UTF-8");
        let diverging = lines
            .iter()
            .filter(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let cut = |s: &str| s[..s.rfind("\n\nAssistant:").unwrap()].to_string();
                cut(v["chosen"].as_str().unwrap()) != cut(v["rejected"].as_str().unwrap())
            })
            .count();
        assert_eq!(diverging, 5, "pairs that differ before the last turn");
        assert!(lines.iter().all(|l| l.starts_with("{\"chosen\": \"") && l.contains("\", \"rejected\": \"")));
    }
}
