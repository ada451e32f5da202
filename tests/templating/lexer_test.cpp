// tests/templating/lexer_test.cpp: the pure template lexer
// (templating/lexer.h): pieces, tokens and error offsets.
#include "templating/lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace templating::lang;

// "T[text]" "E[{{]" "G[body]" with ~ and 3 markers, "C[body]", or "BAD@offset:reason".
std::vector<std::string> pieces(std::string_view s) {
  std::vector<std::string> r;
  size_t at = 0;
  for (;;) {
    PieceResult p = lex_piece(s, at);
    if (p.status == LexStatus::kEnd) break;
    if (p.status == LexStatus::kBad) {
      r.push_back("BAD@" + std::to_string(p.error_offset) + ":" + p.reason);
      break;
    }
    const Piece& x = p.piece;
    EXPECT_EQ(x.begin, at);
    EXPECT_GT(x.end, x.begin);
    std::string body(s.substr(x.body_begin, x.body_end - x.body_begin));
    std::string k = x.kind == PieceKind::kText ? "T" : x.kind == PieceKind::kEscapedOpen ? "E"
                    : x.kind == PieceKind::kTag ? "G" : "C";
    if (x.trim_before) k += "~";
    if (x.triple) k += "3";
    k += "[" + body + "]";
    if (x.trim_after) k += "~";
    r.push_back(k);
    at = x.end;
  }
  return r;
}

using V = std::vector<std::string>;

TEST(Lexer, Pieces) {
  EXPECT_EQ(pieces(""), V{});
  EXPECT_EQ(pieces("ab{{x}}cd"), (V{"T[ab]", "G[x]", "T[cd]"}));
  EXPECT_EQ(pieces("{{ a }}{{b}}"), (V{"G[ a ]", "G[b]"}));
  EXPECT_EQ(pieces("a\\{{b}}"), (V{"T[a]", "E[{{]", "T[b}}]"}));
  EXPECT_EQ(pieces("{ } }} {"), (V{"T[{ } }} {]"}));
  EXPECT_EQ(pieces("{{~ x ~}}"), (V{"G~[ x ]~"}));
  EXPECT_EQ(pieces("{{{x}}}"), (V{"G3[x]"}));
  EXPECT_EQ(pieces("{{~{x}~}}"), (V{"G~3[x]~"}));
  EXPECT_EQ(pieces("{{{~ x ~}}}"), (V{"G~3[ x ]~"}));
  EXPECT_EQ(pieces("{{! c }}{{!-- a }} b --}}{{~!-- d --~}}"), (V{"C[ c ]", "C[ a }} b ]", "C~[ d ]~"}));
  EXPECT_EQ(pieces("{{ x | default: \"}}\" }}!"), (V{"G[ x | default: \"}}\" ]", "T[!]"}));
  EXPECT_EQ(pieces("{{ 'a\\'}}' }}"), (V{"G[ 'a\\'}}' ]"}));
}

TEST(Lexer, PieceErrors) {
  EXPECT_EQ(pieces("ab{{x"), (V{"T[ab]", "BAD@2:'{{' is not closed"}));
  EXPECT_EQ(pieces("{{{x}}"), (V{"BAD@4:'{{{' must be closed with '}}}'"}));
  EXPECT_EQ(pieces("{{{x"), (V{"BAD@0:'{{{' is not closed"}));
  EXPECT_EQ(pieces("{{ \"x }}"), (V{"BAD@3:unterminated string"}));
  EXPECT_EQ(pieces("{{ \"x\n\" }}"), (V{"BAD@3:unterminated string"}));
  EXPECT_EQ(pieces("{{! x"), (V{"BAD@0:comment '{{!' is not closed"}));
  EXPECT_EQ(pieces("{{!-- x }}"), (V{"BAD@0:comment '{{!--' is not closed"}));
  EXPECT_EQ(pieces("{{"), (V{"BAD@0:'{{' is not closed"}));
  EXPECT_EQ(pieces("x\\"), (V{"T[x\\]"}));
}

// Tokens of a whole string, as "kind:text".
std::vector<std::string> tokens(std::string_view s) {
  std::vector<std::string> r;
  size_t at = 0;
  for (int guard = 0; guard < 100; ++guard) {
    Token t = lex_token(s, at, s.size());
    static const char* kNames[] = {"end", "word", "str", "num", "|", ":", ",", "#", "/", "cmp", "bad"};
    std::string text(s.substr(t.begin, t.end - t.begin));
    r.push_back(std::string(kNames[int(t.kind)]) + ":" + (t.kind == TokenKind::kBad ? t.reason : text));
    if (t.kind == TokenKind::kEnd || t.kind == TokenKind::kBad) break;
    at = t.end;
  }
  return r;
}

TEST(Lexer, Tokens) {
  EXPECT_EQ(tokens(" order.items.0.title | truncate: 10 "),
            (V{"word:order.items.0.title", "|:|", "word:truncate", ":::", "num:10", "end:"}));
  EXPECT_EQ(tokens("#if a >= -1.5e3"), (V{"#:#", "word:if", "word:a", "cmp:>=", "num:-1.5e3", "end:"}));
  EXPECT_EQ(tokens("/each"), (V{"/:/", "word:each", "end:"}));
  EXPECT_EQ(tokens("../../name @index this.x ."), (V{"word:../../name", "word:@index", "word:this.x", "word:.", "end:"}));
  EXPECT_EQ(tokens("імʼя == 'Ї' != \"x\""), (V{"word:імʼя", "cmp:==", "str:'Ї'", "cmp:!=", "str:\"x\"", "end:"}));
  EXPECT_EQ(tokens("a < b <= c > d"), (V{"word:a", "cmp:<", "word:b", "cmp:<=", "word:c", "cmp:>", "word:d", "end:"}));
  EXPECT_EQ(tokens("f: 1, 'x'"), (V{"word:f", ":::", "num:1", ",:,", "str:'x'", "end:"}));
  EXPECT_EQ(tokens("a = b"), (V{"word:a", "bad:unexpected '=' (use '==')"}));
  EXPECT_EQ(tokens("!x"), (V{"bad:unexpected '!'"}));
  EXPECT_EQ(tokens("12ab"), (V{"bad:bad number"}));
  EXPECT_EQ(tokens("'open"), (V{"bad:unterminated string"}));
  EXPECT_EQ(tokens(";"), (V{"bad:unexpected character"}));
  EXPECT_EQ(tokens("1e"), (V{"bad:bad number"}));
  // The limit is respected: nothing past it is read.
  std::string s = "abc def";
  Token t = lex_token(s, 0, 2);
  EXPECT_EQ(t.kind, TokenKind::kWord);
  EXPECT_EQ(t.end, 2u);
  EXPECT_EQ(lex_token(s, 3, 3).kind, TokenKind::kEnd);
}

}  // namespace
