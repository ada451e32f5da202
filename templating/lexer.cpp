// templating/lexer.cpp: see lexer.h.
#include "templating/lexer.h"

#include <cstring>

namespace templating::lang {

namespace {

bool starts_with(std::string_view s, size_t at, std::string_view what) noexcept {
  return at <= s.size() && s.size() - at >= what.size() && s.compare(at, what.size(), what) == 0;
}

// Finds the "}}" that ends a tag body starting at `from`, stepping over
// string literals so that `default: "}}"` does not end the tag. Sets
// *bad_string to the offset of an unterminated quote (a string may not
// span lines), or returns npos when there is no "}}".
size_t find_tag_end(std::string_view s, size_t from, size_t* bad_string) noexcept {
  size_t i = from;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"' || c == '\'') {
      size_t q = i++;
      while (i < s.size() && s[i] != c && s[i] != '\n') {
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] != '\n') ++i;
        ++i;
      }
      if (i >= s.size() || s[i] != c) {
        *bad_string = q;
        return std::string_view::npos;
      }
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < s.size() && s[i + 1] == '}') return i;
    ++i;
  }
  return std::string_view::npos;
}

PieceResult bad(size_t at, const char* reason) noexcept {
  PieceResult r;
  r.status = LexStatus::kBad;
  r.error_offset = at;
  r.reason = reason;
  return r;
}

PieceResult lex_tag(std::string_view s, size_t offset) noexcept {
  Piece p;
  p.begin = offset;
  size_t i = offset + 2;
  if (i < s.size() && s[i] == '~') {
    p.trim_before = true;
    ++i;
  }
  if (starts_with(s, i, "!--")) {
    // Long comment: ends at "--}}" or "--~}}"; may contain "}}".
    size_t from = i + 3;
    for (;;) {
      size_t q = s.find("}}", from);
      if (q == std::string_view::npos) return bad(offset, "comment '{{!--' is not closed");
      size_t b = q;
      bool tilde = b > from && s[b - 1] == '~';
      if (tilde) --b;
      if (b >= from + 2 && s[b - 1] == '-' && s[b - 2] == '-') {
        p.kind = PieceKind::kComment;
        p.trim_after = tilde;
        p.body_begin = i + 3;
        p.body_end = b - 2;
        p.end = q + 2;
        return {LexStatus::kGood, p, 0, ""};
      }
      from = q + 1;
    }
  }
  if (i < s.size() && s[i] == '!') {
    size_t q = s.find("}}", i + 1);
    if (q == std::string_view::npos) return bad(offset, "comment '{{!' is not closed");
    p.kind = PieceKind::kComment;
    p.body_begin = i + 1;
    p.body_end = q;
    if (q > i + 1 && s[q - 1] == '~') {
      p.trim_after = true;
      --p.body_end;
    }
    p.end = q + 2;
    return {LexStatus::kGood, p, 0, ""};
  }

  p.kind = PieceKind::kTag;
  if (i < s.size() && s[i] == '{') {
    p.triple = true;
    ++i;
    if (!p.trim_before && i < s.size() && s[i] == '~') {  // "{{{~"
      p.trim_before = true;
      ++i;
    }
  }
  size_t bad_string = std::string_view::npos;
  size_t q = find_tag_end(s, i, &bad_string);
  if (q == std::string_view::npos) {
    if (bad_string != std::string_view::npos) return bad(bad_string, "unterminated string");
    return bad(offset, p.triple ? "'{{{' is not closed" : "'{{' is not closed");
  }
  size_t body_end = q;
  p.end = q + 2;
  if (p.triple) {
    if (q + 2 < s.size() && s[q + 2] == '}') {  // "}}}" or "~}}}"
      p.end = q + 3;
    } else if (body_end >= i + 2 && s[body_end - 1] == '~' && s[body_end - 2] == '}') {  // "}~}}"
      p.trim_after = true;
      body_end -= 2;
    } else {
      return bad(q, "'{{{' must be closed with '}}}'");
    }
  }
  if (!p.trim_after && body_end > i && s[body_end - 1] == '~') {
    p.trim_after = true;
    --body_end;
  }
  p.body_begin = i;
  p.body_end = body_end;
  return {LexStatus::kGood, p, 0, ""};
}

bool word_start(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '@' || c == '.' ||
         c >= 0x80;
}
bool word_char(unsigned char c) noexcept {
  return word_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '/';
}
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

PieceResult lex_piece(std::string_view s, size_t offset) noexcept {
  if (offset >= s.size()) return {};
  if (s[offset] == '\\' && starts_with(s, offset + 1, "{{")) {
    Piece p;
    p.kind = PieceKind::kEscapedOpen;
    p.begin = offset;
    p.end = offset + 3;
    p.body_begin = offset + 1;
    p.body_end = offset + 3;
    return {LexStatus::kGood, p, 0, ""};
  }
  if (starts_with(s, offset, "{{")) return lex_tag(s, offset);

  // Text runs to the next "{{" (or "\{{"). memchr keeps long literal
  // stretches of HTML fast.
  size_t i = offset;
  for (;;) {
    const void* hit = std::memchr(s.data() + i, '{', s.size() - i);
    if (!hit) {
      i = s.size();
      break;
    }
    i = size_t(static_cast<const char*>(hit) - s.data());
    if (i + 1 < s.size() && s[i + 1] == '{') {
      if (i > offset && s[i - 1] == '\\') --i;
      if (i > offset) break;
      // Only reachable when offset itself starts "{{" or "\{{", handled above.
    }
    ++i;
    if (i >= s.size()) break;
  }
  Piece p;
  p.kind = PieceKind::kText;
  p.begin = p.body_begin = offset;
  p.end = p.body_end = i;
  return {LexStatus::kGood, p, 0, ""};
}

Token lex_token(std::string_view s, size_t i, size_t limit) noexcept {
  while (i < limit && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                       s[i] == '\f' || s[i] == '\v')) {
    ++i;
  }
  Token t;
  t.begin = i;
  if (i >= limit) {
    t.kind = TokenKind::kEnd;
    t.end = i;
    return t;
  }
  char c = s[i];
  auto one = [&](TokenKind k, size_t len) {
    t.kind = k;
    t.end = i + len;
    return t;
  };
  switch (c) {
    case '|': return one(TokenKind::kPipe, 1);
    case ':': return one(TokenKind::kColon, 1);
    case ',': return one(TokenKind::kComma, 1);
    case '#': return one(TokenKind::kHash, 1);
    case '/': return one(TokenKind::kSlash, 1);
    case '<':
    case '>':
      return one(TokenKind::kCompare, (i + 1 < limit && s[i + 1] == '=') ? 2 : 1);
    case '=':
    case '!':
      if (i + 1 < limit && s[i + 1] == '=') return one(TokenKind::kCompare, 2);
      t.kind = TokenKind::kBad;
      t.end = i + 1;
      t.reason = c == '=' ? "unexpected '=' (use '==')" : "unexpected '!'";
      return t;
    case '"':
    case '\'': {
      size_t j = i + 1;
      while (j < limit && s[j] != c && s[j] != '\n') {
        if (s[j] == '\\' && j + 1 < limit) ++j;
        ++j;
      }
      if (j >= limit || s[j] != c) {
        t.kind = TokenKind::kBad;
        t.end = j;
        t.reason = "unterminated string";
        return t;
      }
      return one(TokenKind::kString, j + 1 - i);
    }
    default:
      break;
  }
  if (digit(c) || (c == '-' && i + 1 < limit && digit(s[i + 1]))) {
    size_t j = i + (c == '-');
    while (j < limit && digit(s[j])) ++j;
    if (j + 1 < limit && s[j] == '.' && digit(s[j + 1])) {
      j += 2;
      while (j < limit && digit(s[j])) ++j;
    }
    if (j < limit && (s[j] == 'e' || s[j] == 'E')) {
      size_t k = j + 1;
      if (k < limit && (s[k] == '+' || s[k] == '-')) ++k;
      if (k < limit && digit(s[k])) {
        while (k < limit && digit(s[k])) ++k;
        j = k;
      }
    }
    if (j < limit && word_char(static_cast<unsigned char>(s[j]))) {
      while (j < limit && word_char(static_cast<unsigned char>(s[j]))) ++j;
      t.kind = TokenKind::kBad;
      t.end = j;
      t.reason = "bad number";
      return t;
    }
    return one(TokenKind::kNumber, j - i);
  }
  if (word_start(static_cast<unsigned char>(c))) {
    size_t j = i + 1;
    while (j < limit && word_char(static_cast<unsigned char>(s[j]))) ++j;
    return one(TokenKind::kWord, j - i);
  }
  t.kind = TokenKind::kBad;
  t.end = i + 1;
  t.reason = "unexpected character";
  return t;
}

}  // namespace templating::lang
