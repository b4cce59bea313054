//! Splits filter text into tokens, each with its 1-based column.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    LParen,
    RParen,
    Not,
    And,
    Or,
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub column: usize,
    pub text: String,
}

/// Operators and brackets split words even without spaces (`sport>=:80`, `(dport`), as
/// ss's lexer does; `:`, `/`, `[`, `]`, `*`, `@` and `.` stay inside words.
pub fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // chars[i] is the (i+1)th character: its column, found without rescanning the text.
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let two = |a: char, b: char| c == a && next == Some(b);
        let (tok, len) = if c.is_whitespace() {
            i += 1;
            continue;
        } else if c == '(' {
            (Tok::LParen, 1)
        } else if c == ')' {
            (Tok::RParen, 1)
        } else if two('&', '&') {
            (Tok::And, 2)
        } else if c == '&' {
            (Tok::And, 1)
        } else if two('|', '|') {
            (Tok::Or, 2)
        } else if c == '|' {
            (Tok::Or, 1)
        } else if two('!', '=') {
            (Tok::Op("!="), 2)
        } else if c == '!' {
            (Tok::Not, 1)
        } else if two('=', '=') {
            (Tok::Op("=="), 2)
        } else if c == '=' {
            (Tok::Op("="), 1)
        } else if two('<', '=') {
            (Tok::Op("<="), 2)
        } else if two('>', '=') {
            (Tok::Op(">="), 2)
        } else if c == '<' {
            (Tok::Op("<"), 1)
        } else if c == '>' {
            (Tok::Op(">"), 1)
        } else {
            let start = i;
            while i < chars.len() && !is_break(chars[i].1) {
                i += 1;
            }
            let end = chars.get(i).map_or(text.len(), |&(p, _)| p);
            let word = &text[pos..end];
            out.push(Token { tok: word_token(word), column: start + 1, text: word.to_string() });
            debug_assert!(i > start);
            continue;
        };
        let end = chars.get(i + len).map_or(text.len(), |&(p, _)| p);
        out.push(Token { tok, column: i + 1, text: text[pos..end].to_string() });
        i += len;
    }
    out
}

fn is_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '&' | '|' | '!' | '=' | '<' | '>')
}

/// Word forms of the connectives and comparison operators.
fn word_token(w: &str) -> Tok {
    match w {
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "eq" => Tok::Op("=="),
        "ne" | "neq" => Tok::Op("!="),
        "gt" => Tok::Op(">"),
        "lt" => Tok::Op("<"),
        "ge" | "geq" => Tok::Op(">="),
        "le" | "leq" => Tok::Op("<="),
        _ => Tok::Word(w.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(Tok, usize)> {
        lex(s).into_iter().map(|t| (t.tok, t.column)).collect()
    }

    #[test]
    fn operators_split_words_and_keep_columns() {
        assert_eq!(
            toks("(sport>=:80)||!dst [::1]"),
            vec![
                (Tok::LParen, 1),
                (Tok::Word("sport".into()), 2),
                (Tok::Op(">="), 7),
                (Tok::Word(":80".into()), 9),
                (Tok::RParen, 12),
                (Tok::Or, 13),
                (Tok::Not, 15),
                (Tok::Word("dst".into()), 16),
                (Tok::Word("[::1]".into()), 20),
            ]
        );
        assert_eq!(toks("a neq b")[1].0, Tok::Op("!="));
    }
}
