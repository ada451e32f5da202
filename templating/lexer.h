// templating/lexer.h: the template lexer (private to templating/).
//
// Two pure functions over the source bytes (STYLE.md R8): lex_piece() cuts
// the source into text, escaped "{{", tags and comments; lex_token() cuts
// the inside of a tag into tokens. Neither allocates, throws or keeps
// state: each takes an offset and returns what it found there and where it
// ends. A template is always complete, so there is no "need more": the
// status is good, bad (with the offset and reason of the error) or end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace templating::lang {

enum class LexStatus : uint8_t { kGood, kBad, kEnd };

enum class PieceKind : uint8_t {
  kText,         // literal text: [begin, end)
  kEscapedOpen,  // "\{{": the literal text "{{" at [body_begin, body_end)
  kTag,          // "{{ … }}" or "{{{ … }}}"
  kComment,      // "{{! … }}" or "{{!-- … --}}"
};

struct Piece {
  PieceKind kind = PieceKind::kText;
  size_t begin = 0, end = 0;            // the bytes the piece covers
  size_t body_begin = 0, body_end = 0;  // tag: between the delimiters and "~"
  bool trim_before = false;             // "{{~": trim whitespace before the tag
  bool trim_after = false;              // "~}}": trim whitespace after it
  bool triple = false;                  // "{{{ … }}}"
};

struct PieceResult {
  LexStatus status = LexStatus::kEnd;
  Piece piece;
  size_t error_offset = 0;
  const char* reason = "";  // static text, for kBad
};

// The piece that starts at `offset`. REQUIRES: offset <= source.size().
PieceResult lex_piece(std::string_view source, size_t offset) noexcept;

enum class TokenKind : uint8_t {
  kEnd,      // the end of the tag body
  kWord,     // a path or a keyword: [A-Za-z_@.\x80-\xff][A-Za-z0-9_@.\-/\x80-\xff]*
  kString,   // "…" or '…' (begin/end include the quotes; \x escapes x)
  kNumber,   // -?[0-9]+(.[0-9]+)?([eE][+-]?[0-9]+)?
  kPipe,     // |
  kColon,    // :
  kComma,    // ,
  kHash,     // #
  kSlash,    // /
  kCompare,  // == != < <= > >=
  kBad,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t begin = 0, end = 0;
  const char* reason = "";  // static text, for kBad
};

// The token at or after `offset` (whitespace skipped) in source[.., limit).
// REQUIRES: offset <= limit <= source.size().
Token lex_token(std::string_view source, size_t offset, size_t limit) noexcept;

}  // namespace templating::lang
