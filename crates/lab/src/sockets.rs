//! Helpers that open well-known socket situations directly.
