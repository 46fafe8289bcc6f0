#pragma once
// Character classes exactly as the Hugging Face `tokenizers` crate defines them for BERT. They differ
// from the Python BERT tokenizer and from plain Unicode categories in small but id-changing ways
// (e.g. U+000B is a control character to be removed, not whitespace; '$' and '^' are punctuation).
namespace dtrain::data {

// Rust's `char::is_whitespace` (the Unicode White_Space property).
bool is_rust_whitespace(char32_t code);

// Categories are the crate's, which come from Unicode 8 tables: characters that got a category later
// are ordinary characters to it (see bert_char_classes.cpp).

// Removed by clean_text: categories Cc, Cf, Co, Cs, except '\t', '\n' and '\r'. Unassigned code
// points (Cn) are kept, as the crate's category tables have no Cn class.
bool is_bert_control(char32_t code);

// CJK ideograph blocks that get spaces around them (the crate's ranges, typo at U+2B920 included).
bool is_chinese_char(char32_t code);

// ASCII punctuation (which includes symbols like '$', '+', '^') or any Unicode P* category.
bool is_bert_punctuation(char32_t code);

// Dropped after NFD when stripping accents (category Mn).
bool is_bert_nonspacing_mark(char32_t code);

}  // namespace dtrain::data
