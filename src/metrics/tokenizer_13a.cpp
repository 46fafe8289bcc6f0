#include "metrics/tokenizer_13a.h"

#include <vector>

#include "metrics/python_text.h"

namespace dtrain::metrics {
namespace {

// Every occurrence, left to right, as str.replace does.
std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  std::string replaced;
  size_t start = 0;
  for (size_t found; (found = text.find(from, start)) != std::string::npos; start = found + from.size()) {
    replaced.append(text, start, found - start).append(to);
  }
  if (start == 0) return text;
  replaced.append(text, start, std::string::npos);
  return replaced;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// mteval's punctuation and symbols: the ASCII ranges {-~, [-`, space-&, (-+, :-@ and '/'.
bool is_split_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// One pass of re.sub with a pattern of two single-character classes: matches do not overlap, and
// the scan resumes after each one. Every class involved is ASCII, and UTF-8 continuation bytes are
// never ASCII, so scanning bytes matches exactly what Python's scan of code points matches.
template <class First, class Second, class Emit>
std::string substitute_pairs(const std::string& text, First first, Second second, Emit emit) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  size_t i = 0;
  for (; i + 1 < text.size(); ++i) {
    if (first(text[i]) && second(text[i + 1])) {
      emit(out, text[i], text[i + 1]);
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  if (i < text.size()) out.push_back(text[i]);
  return out;
}

std::string join_words(std::string_view text) {
  std::string joined;
  joined.reserve(text.size());
  for (const std::string_view word : python_split(text)) {
    if (!joined.empty()) joined.push_back(' ');
    joined.append(word);
  }
  return joined;
}

}  // namespace

std::string tokenize_13a(std::string_view line) {
  std::string text(line);
  text = replace_all(std::move(text), "<skipped>", "");
  text = replace_all(std::move(text), "-\n", "");
  text = replace_all(std::move(text), "\n", " ");
  if (text.find('&') != std::string::npos) {
    text = replace_all(std::move(text), "&quot;", "\"");
    text = replace_all(std::move(text), "&amp;", "&");
    text = replace_all(std::move(text), "&lt;", "<");
    text = replace_all(std::move(text), "&gt;", ">");
  }

  std::string spaced;
  spaced.reserve(text.size() * 2 + 2);
  spaced.push_back(' ');
  for (const char c : text) {
    if (is_split_symbol(c)) {
      spaced.push_back(' ');
      spaced.push_back(c);
      spaced.push_back(' ');
    } else {
      spaced.push_back(c);
    }
  }
  spaced.push_back(' ');

  const auto period_or_comma = [](char c) { return c == '.' || c == ','; };
  const auto not_digit = [](char c) { return !is_digit(c); };
  // ([^0-9])([\.,]) -> "\1 \2 "
  spaced = substitute_pairs(spaced, not_digit, period_or_comma, [](std::string& out, char a, char b) {
    out.push_back(a), out.push_back(' '), out.push_back(b), out.push_back(' ');
  });
  // ([\.,])([^0-9]) -> " \1 \2"
  spaced = substitute_pairs(spaced, period_or_comma, not_digit, [](std::string& out, char a, char b) {
    out.push_back(' '), out.push_back(a), out.push_back(' '), out.push_back(b);
  });
  // ([0-9])(-) -> "\1 \2 "
  spaced = substitute_pairs(
      spaced, is_digit, [](char c) { return c == '-'; },
      [](std::string& out, char a, char b) {
        out.push_back(a), out.push_back(' '), out.push_back(b), out.push_back(' ');
      });
  return join_words(spaced);
}

std::string tokenize_none(std::string_view line) {
  return join_words(line);
}

}  // namespace dtrain::metrics
