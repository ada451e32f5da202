// tests/templating/telegram_check.h: an independent checker of what
// telegram_html() promises (templating/channels.h), shared by
// telegram_test.cpp and tests/fuzz/channels_fuzz.cpp.
//
// It re-parses the output with the Bot API's own rules, not with our
// tokenizer: only the tags we emit, with only the attributes we emit,
// balanced, nested as Telegram allows, text with only &lt; &gt; &amp; and
// (in href) &quot;, no bare '<' '>' '&', well-formed UTF-8, no NUL, no
// leading or trailing whitespace. Returns an empty string when all holds,
// else the first problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace templating::testing {

inline bool tg_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = p[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// Checks the escapes in text (or an attribute value when attr is true).
inline std::string tg_check_escapes(std::string_view s, bool attr) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<' || c == '>') return "bare '<' or '>'";
    if (attr && c == '"') return "bare '\"' in an attribute";
    if (c != '&') continue;
    const std::string_view rest = s.substr(i);
    if (rest.starts_with("&lt;") || rest.starts_with("&gt;")) {
      i += 3;
    } else if (rest.starts_with("&amp;")) {
      i += 4;
    } else if (attr && rest.starts_with("&quot;")) {
      i += 5;
    } else {
      return "bare '&' or an entity we do not emit: " + std::string(rest.substr(0, 12));
    }
  }
  return {};
}

// trimmed=false for telegram_escape(), which keeps the text's own whitespace.
inline std::string telegram_check(std::string_view s, bool trimmed = true) {
  if (!tg_valid_utf8(s)) return "not valid UTF-8";
  if (s.find('\0') != std::string_view::npos) return "NUL in output";
  if (trimmed && !s.empty()) {
    const char f = s.front();
    const char b = s.back();
    if (f == ' ' || f == '\n' || f == '\t' || b == ' ' || b == '\n' || b == '\t') {
      return "leading or trailing whitespace";
    }
  }
  enum K { kB, kI, kU, kS, kA, kCode, kPre, kQuote, kSpoiler };
  struct Open {
    K k;
    size_t body;
  };
  std::vector<Open> stack;
  auto open_count = [&](K k) {
    size_t n = 0;
    for (const Open& o : stack) n += o.k == k;
    return n;
  };
  size_t i = 0;
  while (i < s.size()) {
    const size_t lt = s.find('<', i);
    const std::string_view text = s.substr(i, lt == std::string_view::npos ? s.npos : lt - i);
    if (std::string e = tg_check_escapes(text, false); !e.empty()) return e;
    if (lt == std::string_view::npos) break;
    const size_t gt = s.find('>', lt);
    if (gt == std::string_view::npos) return "unterminated tag";
    const std::string_view tag = s.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (!tag.empty() && tag[0] == '/') {
      const std::string_view name = tag.substr(1);
      static constexpr std::string_view kNames[] = {"b",   "i",    "u",          "s",         "a",
                                                    "code", "pre", "blockquote", "tg-spoiler"};
      size_t k = 0;
      while (k < std::size(kNames) && kNames[k] != name) ++k;
      if (k == std::size(kNames)) return "unknown closing tag </" + std::string(name) + ">";
      if (stack.empty() || stack.back().k != static_cast<K>(k)) {
        return "unbalanced </" + std::string(name) + ">";
      }
      if (stack.back().body == lt) return "empty element <" + std::string(name) + ">";
      stack.pop_back();
      continue;
    }
    K k;
    bool lang = false;
    if (tag == "b") {
      k = kB;
    } else if (tag == "i") {
      k = kI;
    } else if (tag == "u") {
      k = kU;
    } else if (tag == "s") {
      k = kS;
    } else if (tag == "code") {
      k = kCode;
    } else if (tag == "pre") {
      k = kPre;
    } else if (tag == "blockquote" || tag == "blockquote expandable") {
      k = kQuote;
    } else if (tag == "tg-spoiler") {
      k = kSpoiler;
    } else if (tag.starts_with("a href=\"") && tag.size() > 9 && tag.back() == '"') {
      k = kA;
      const std::string_view href = tag.substr(8, tag.size() - 9);
      if (std::string e = tg_check_escapes(href, true); !e.empty()) return "href: " + e;
      const bool scheme_ok = href.starts_with("http://") || href.starts_with("https://") ||
                             href.starts_with("HTTP://") || href.starts_with("HTTPS://") ||
                             href.starts_with("tg:") || href.starts_with("mailto:") ||
                             href.find(':') != std::string_view::npos;
      if (!scheme_ok) return "href without a scheme";
      for (const char c : href) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return "space or control in href";
      }
    } else if (tag.starts_with("code class=\"language-") && tag.back() == '"' && tag.size() > 22) {
      k = kCode;
      lang = true;
      for (const char c : tag.substr(21, tag.size() - 22)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '+' || c == '#' || c == '.' || c == '-';
        if (!ok) return "bad language name";
      }
    } else {
      return "tag Telegram does not accept: <" + std::string(tag) + ">";
    }
    // Nesting rules of the Bot API ("Formatting options").
    const bool in_code = open_count(kCode) + open_count(kPre) > 0;
    if (in_code) {
      const bool pre_code = k == kCode && !stack.empty() && stack.back().k == kPre &&
                            stack.back().body == lt && open_count(kCode) == 0;
      if (!pre_code) return "a tag inside code/pre";
    } else if (lang) {
      return "code class outside pre";
    }
    if ((k == kCode || k == kPre) && !in_code &&
        open_count(kB) + open_count(kI) + open_count(kU) + open_count(kS) + open_count(kSpoiler) +
                open_count(kA) >
            0) {
      return "code/pre inside a style or a link";
    }
    if (k == kA && open_count(kA) > 0) return "a link inside a link";
    if (k == kQuote && (open_count(kQuote) > 0 || open_count(kA) > 0)) return "nested blockquote";
    stack.push_back({k, i});
  }
  if (!stack.empty()) return "unclosed tag";
  return {};
}

// The text Telegram sees in well-formed output (telegram_check() == ""):
// tags removed, &lt; &gt; &amp; &quot; decoded.
inline std::string telegram_plain(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '<') {
      const size_t gt = s.find('>', i);
      if (gt == std::string_view::npos) break;
      i = gt + 1;
      continue;
    }
    if (c == '&') {
      const std::string_view rest = s.substr(i);
      if (rest.starts_with("&lt;")) {
        out.push_back('<');
        i += 4;
        continue;
      }
      if (rest.starts_with("&gt;")) {
        out.push_back('>');
        i += 4;
        continue;
      }
      if (rest.starts_with("&amp;")) {
        out.push_back('&');
        i += 5;
        continue;
      }
      if (rest.starts_with("&quot;")) {
        out.push_back('"');
        i += 6;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

// UTF-16 code units of well-formed UTF-8.
inline size_t utf16_units(std::string_view s) {
  size_t n = 0;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u & 0xC0) != 0x80) n += u >= 0xF0 ? 2 : 1;
  }
  return n;
}

}  // namespace templating::testing
