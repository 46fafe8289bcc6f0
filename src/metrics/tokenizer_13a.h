#pragma once
// BLEU's tokenizers as sacreBLEU applies them: "13a" (mteval-v13a.pl, sacreBLEU's default) and
// "none". The output is the tokens joined by single spaces.
#include <string>
#include <string_view>

namespace dtrain::metrics {

// mteval-v13a: drops "<skipped>", joins "-\n" hyphenations, unescapes &quot; &amp; &lt; &gt;, splits
// off ASCII punctuation and symbols (periods and commas only next to a non-digit, dashes after a
// digit), then collapses whitespace.
std::string tokenize_13a(std::string_view line);

// "none": the line as it is, whitespace collapsed.
std::string tokenize_none(std::string_view line);

}  // namespace dtrain::metrics
