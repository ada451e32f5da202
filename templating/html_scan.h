// templating/html_scan.h: the tolerant HTML tokenizer, character
// references and line layout shared by html_to_text() (html_text.cpp) and
// telegram_html() (telegram.cpp). Private to templating/.
//
// The tokenizer follows the HTML5 tokenizer where it matters for text
// extraction and ignores the rest (no tree construction): tags, attributes
// with quoted or unquoted values, comments (also bogus ones, <!DOCTYPE>,
// <?xml?>, CDATA), raw-text elements (script, style, title, textarea, xmp,
// iframe, noembed, noframes) whose content it skips, and a '<' that starts no
// tag is text. Input may be any bytes; an unterminated tag or comment at the
// end is dropped, as browsers do. It never allocates: tokens are views into
// the input.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "templating/channels_internal.h"

namespace templating::html {

// Elements the text rules know. kOther is any other name.
enum class Tag : uint8_t {
  kOther,
  kA, kAddress, kArea, kArticle, kAside, kB, kBase, kBlockquote, kBody, kBr, kCaption, kCenter,
  kCode, kCol, kDd, kDel, kDetails, kDiv, kDl, kDt, kEm, kEmbed, kFieldset, kFigcaption,
  kFigure, kFooter, kForm, kH1, kH2, kH3, kH4, kH5, kH6, kHead, kHeader, kHr, kHtml, kI,
  kIframe, kImg, kInput, kIns, kLegend, kLi, kLink, kMain, kMeta, kNav, kNoembed, kNoframes,
  kOl, kP, kParam, kPre, kS, kScript, kSection, kSource, kSpan, kStrike, kStrong, kStyle,
  kSummary, kTable, kTbody, kTd, kTemplate, kTextarea, kTfoot, kTgSpoiler, kTh, kThead,
  kTitle, kTr, kTrack, kU, kUl, kWbr, kXmp,
};

// Tag properties.
inline constexpr uint8_t kVoid = 1;      // never has content or an end tag
inline constexpr uint8_t kRawText = 2;   // content is raw text, skipped by the Scanner
inline constexpr uint8_t kDropped = 4;   // content is never shown (raw text, template)
inline constexpr uint8_t kDocument = 8;  // marks document HTML (telegram_html whitespace)
inline constexpr uint8_t kLine = 16;     // a block: a line break before and after
inline constexpr uint8_t kPara = 32;     // a paragraph: an empty line before and after

uint8_t tag_flags(Tag t) noexcept;
// The Tag named `name` (ASCII case-insensitive), or kOther.
Tag lookup_tag(std::string_view name) noexcept;

struct Token {
  enum Kind : uint8_t { kEnd, kText, kStartTag, kEndTag };
  Kind kind = kEnd;
  Tag tag = Tag::kOther;
  bool self_closing = false;  // start tag written <x/>
  std::string_view text;      // kText: raw text (references not decoded); tags: the name
  std::string_view attrs;     // kStartTag: the raw attribute source, for next_attr()
};

class Scanner {
 public:
  explicit Scanner(std::string_view src) noexcept : src_(src) {}
  // The next token; kEnd at the end of input (and for ever after).
  Token next() noexcept;

 private:
  // Parses the markup at src_[lt] == '<'. Returns true with *t set for a tag;
  // false when it was a comment or other skipped markup. Advances pos_.
  bool markup(size_t lt, Token* t) noexcept;
  // Index of the '>' that ends the attribute list starting at i (quotes
  // respected), or npos at the end of input. *self_closing for "/>".
  size_t tag_end(size_t i, bool* self_closing) const noexcept;
  bool starts_markup(size_t lt) const noexcept;

  std::string_view src_;
  size_t pos_ = 0;
  std::string_view raw_name_;  // non-empty: inside a raw-text element
};

struct Attr {
  std::string_view name;   // as written
  std::string_view value;  // raw: references not decoded, quotes removed
};
// Reads the next attribute from `rest` (a Token::attrs), advancing it.
// False when there is none left.
bool next_attr(std::string_view& rest, Attr* out) noexcept;
// The raw value of attribute `lower_name`; false when absent.
bool find_attr(std::string_view attrs, std::string_view lower_name,
               std::string_view* value) noexcept;
// True when the element is hidden: a style with display:none or
// visibility:hidden, or the hidden attribute.
bool is_hidden(std::string_view attrs) noexcept;

// Decodes the character reference at s[0] == '&'. Returns the bytes it
// takes (0: not a reference, the '&' is literal) and sets *cp. Named
// references need their ';' (the classic amp, lt, gt, quot, nbsp, copy and
// reg also work without it in text, not before an alphanumeric); numeric
// ones follow HTML5: 0, surrogates and out-of-range values give U+FFFD, and
// 0x80-0x9F are read as Windows-1252.
size_t decode_reference(std::string_view s, bool in_attribute, char32_t* cp) noexcept;
// An attribute value with references decoded and ill-formed UTF-8 replaced.
void decode_attr(std::string_view raw, std::string& out);
// A URL from an href: references decoded, tab/CR/LF removed (as the WHATWG
// URL parser does), C0 controls and spaces trimmed at both ends, and any
// left inside percent-encoded ("a b" -> "a%20b").
void clean_url(std::string_view raw, std::string& out);

// Skips the content of a hidden or dropped element: every token up to its
// matching end tag, counting nested elements of the same name. <head> also
// ends where the body evidently starts (<body>, or any block element), so a
// missing </head> does not swallow the message.
class Skipper {
 public:
  bool active() const noexcept { return depth_ > 0; }
  void begin(const Token& t) noexcept {
    tag_ = t.tag;
    name_ = t.text;
    depth_ = 1;
  }
  // Feeds a token met while active(). True when `t` ended the skip and must
  // be processed as usual.
  bool feed(const Token& t) noexcept {
    if (tag_ == Tag::kHead && t.kind == Token::kStartTag &&
        (t.tag == Tag::kBody || (tag_flags(t.tag) & (kLine | kPara | kDocument)))) {
      depth_ = 0;
      return true;
    }
    if (t.kind != Token::kStartTag && t.kind != Token::kEndTag) return false;
    if (t.tag != tag_) return false;
    if (tag_ == Tag::kOther) {
      if (t.text.size() != name_.size()) return false;
      for (size_t i = 0; i < name_.size(); ++i) {
        if (chan::ascii_lower(t.text[i]) != chan::ascii_lower(name_[i])) return false;
      }
    }
    if (t.kind == Token::kStartTag && !t.self_closing) {
      ++depth_;
    } else if (t.kind == Token::kEndTag) {
      --depth_;
    }
    return false;
  }

 private:
  Tag tag_ = Tag::kOther;
  std::string_view name_;
  int depth_ = 0;
};

// Whether a start tag begins content to skip: <head>, a dropped element
// (template; raw-text ones are skipped by the Scanner already) or a hidden one.
inline bool skips_content(const Token& t) noexcept {
  return t.tag == Tag::kHead || (tag_flags(t.tag) & kDropped) || is_hidden(t.attrs);
}

// ---------------------------------------------------------------------------
// The one pass both converters make: tokens to a writer, with skipped
// content (raw text, hidden, dropped, <head>) never reaching it. The writer
// has start_tag(const Token&), end_tag(const Token&) and is a walk_text()
// sink for the text.
template <class Writer>
void convert(std::string_view input, Writer& w);

// ---------------------------------------------------------------------------
// Text decoding. walk_text() splits raw text into calls on a sink:
//   sink.run(std::string_view)  bytes to copy as they are: well-formed UTF-8
//                               with no whitespace, '&', '<', '>' or controls
//   sink.space(char32_t)        a whitespace character: ' ' \t \n \r \f,
//                               U+00A0, U+2028 or U+2029, raw or from a
//                               reference
//   sink.cp(char32_t)           any other character: '&' '<' '>' and what
//                               references decode to; ill-formed UTF-8 is
//                               U+FFFD
// Controls other than whitespace and invisible padding (U+200B, U+200C,
// U+2060, U+FEFF, U+034F, U+00AD) are dropped.

enum : uint8_t { kByteRun = 0, kByteSpace, kByteAmp, kByteMarkup, kByteDrop, kByteHigh };

inline constexpr std::array<uint8_t, 256> kByteClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = kByteDrop;
  t[' '] = t['\t'] = t['\n'] = t['\r'] = t['\f'] = kByteSpace;
  t['&'] = kByteAmp;
  t['<'] = t['>'] = kByteMarkup;
  t[0x7F] = kByteDrop;
  for (int c = 0x80; c < 0x100; ++c) t[c] = kByteHigh;
  return t;
}();

// What to do with a decoded code point: 0 show, 1 whitespace, 2 drop.
inline int classify_cp(char32_t cp) noexcept {
  if (cp < 0x20) {
    return (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f') ? 1 : 2;
  }
  if (cp == ' ' || cp == 0xA0 || cp == 0x2028 || cp == 0x2029) return 1;
  if (cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) return 2;
  if (cp == 0xAD || cp == 0x34F || cp == 0x200B || cp == 0x200C || cp == 0x2060 || cp == 0xFEFF) {
    return 2;
  }
  return 0;
}

template <class Sink>
void walk_text(std::string_view raw, bool in_attribute, Sink& sink) {
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  const size_t n = raw.size();
  size_t run = 0;  // start of the pending run
  size_t i = 0;
  auto flush = [&](size_t end) {
    if (end > run) sink.run(std::string_view(raw.data() + run, end - run));
  };
  auto emit = [&](char32_t cp) {
    switch (classify_cp(cp)) {
      case 0: sink.cp(cp); break;
      case 1: sink.space(cp); break;
      default: break;
    }
  };
  while (i < n) {
    const uint8_t cls = kByteClass[p[i]];
    if (cls == kByteRun) {
      ++i;
      continue;
    }
    if (cls == kByteHigh) {
      // Two-byte letters (Cyrillic, Latin-1 letters) need no decoding: only
      // U+00A0/U+00AD (lead C2) and U+034F (lead CD) are special there.
      if (p[i] >= 0xC3 && p[i] <= 0xDF && p[i] != 0xCD && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
        i += 2;
        continue;
      }
      char32_t cp;
      const size_t len = chan::decode_utf8(p + i, n - i, &cp);
      if (len == 0) {
        flush(i);
        sink.cp(chan::kReplacement);
        run = ++i;
        continue;
      }
      // Only a few multi-byte characters need more than copying.
      const unsigned char lead = p[i];
      if ((lead == 0xC2 || lead == 0xCD || lead == 0xE2 || lead == 0xEF) && classify_cp(cp) != 0) {
        flush(i);
        emit(cp);
        i += len;
        run = i;
        continue;
      }
      i += len;
      continue;
    }
    flush(i);
    switch (cls) {
      case kByteSpace:
        sink.space(p[i]);
        ++i;
        break;
      case kByteAmp: {
        char32_t cp;
        const size_t len = decode_reference(raw.substr(i), in_attribute, &cp);
        if (len == 0) {
          sink.cp('&');
          ++i;
        } else {
          emit(cp);
          i += len;
        }
        break;
      }
      case kByteMarkup:
        sink.cp(p[i]);
        ++i;
        break;
      default:  // kByteDrop
        ++i;
        break;
    }
    run = i;
  }
  flush(n);
}

// ---------------------------------------------------------------------------
// Layout: where line breaks and collapsed spaces go. Breaks and spaces are
// owed, not written, until visible content follows, so that nothing
// trails a line or the text and blocks never stack more than one empty line.
// The writer calls content() right before it appends anything visible
// (text, or for Telegram an opening tag).
class Layout {
 public:
  // cap_literal: inside <pre>, also keep to one empty line in a row and
  // strip trailing blanks (the email text part does; Telegram keeps code as
  // written).
  Layout(std::string& out, bool cap_literal) noexcept : out_(out), cap_(cap_literal) {}

  // visible=false: an opening tag (Telegram) goes next; separators owed are
  // written before it, but it does not count as content itself.
  void content(bool visible = true) {
    if (has_content_) {
      if (want_nl_ > 0) {
        const int have = trim_and_count_newlines();
        if (want_nl_ > have && !out_.empty()) {
          out_.append(static_cast<size_t>(want_nl_ - have), '\n');
        }
        line_start_ = true;
      } else if (space_ && !line_start_ && !spaced_) {
        out_.push_back(' ');
        spaced_ = true;  // "x <b> y" has one space, not one each side of <b>
      }
    }
    if (!prefix_.empty() && line_start_) {
      std::string_view p = prefix_;
      // A nested item first in the text has no parent to indent under.
      if (!has_content_) p.remove_prefix(std::min(p.find_first_not_of(' '), p.size()));
      out_.append(p);
      visible = true;
    }
    prefix_.clear();
    want_nl_ = 0;
    space_ = false;
    if (visible) {
      line_start_ = false;
      has_content_ = true;
      spaced_ = false;
    }
  }
  // A collapsible whitespace character.
  void space() noexcept { space_ = true; }
  // Whitespace inside <pre> (collapse mode): spaces are content, '\n' is a
  // line break that is written, '\r' is dropped.
  void pre_space(char32_t c, bool pre_start) {
    if (c == '\r') return;
    if (c == '\n') {
      if (pre_start) return;  // the newline right after <pre> is not content
      if (!has_content_) return;
      if (want_nl_ > 0) {
        content_breaks();
      }
      if (cap_ && trim_and_count_newlines() >= 2) return;
      if (out_.empty()) return;  // only blanks before: nothing to break
      out_.push_back('\n');
      line_start_ = true;
      space_ = false;
      return;
    }
    content();
    out_.push_back(c == '\t' ? '\t' : ' ');
  }
  // A block boundary: at least n (1 or 2) newlines before the next content.
  // Inside a list item whose "- " is not written yet, the item's own break
  // stands (so <li><p>x</p></li> is "- x").
  void block(int n) noexcept {
    if (!prefix_.empty()) return;
    if (n > want_nl_) want_nl_ = n;
  }
  // <br>: one more newline (at most one empty line in a row).
  void line_break() noexcept {
    if (want_nl_ < 2) ++want_nl_;
  }
  // A table cell after the first: a space unless a break is owed anyway.
  void cell() noexcept { space_ = true; }
  void set_prefix(std::string_view p) {
    prefix_.assign(p);
  }
  void clear_prefix() noexcept { prefix_.clear(); }
  bool has_content() const noexcept { return has_content_; }
  // Removes trailing whitespace at the very end of the output.
  void finish() {
    while (!out_.empty() &&
           (out_.back() == ' ' || out_.back() == '\n' || out_.back() == '\t')) {
      out_.pop_back();
    }
  }

 private:
  // Writes the owed newlines without marking content (a <pre> newline).
  void content_breaks() {
    const int have = trim_and_count_newlines();
    if (want_nl_ > have && !out_.empty()) {
      out_.append(static_cast<size_t>(want_nl_ - have), '\n');
    }
    want_nl_ = 0;
    space_ = false;
    line_start_ = true;
  }
  // Strips spaces and tabs at the end and counts the newlines before them
  // (0, 1 or 2: we never need to know more).
  int trim_and_count_newlines() noexcept {
    while (!out_.empty() && (out_.back() == ' ' || out_.back() == '\t')) out_.pop_back();
    const size_t n = out_.size();
    if (n >= 2 && out_[n - 1] == '\n' && out_[n - 2] == '\n') return 2;
    if (n >= 1 && out_[n - 1] == '\n') return 1;
    return 0;
  }

  std::string& out_;
  bool cap_;
  int want_nl_ = 0;          // newlines owed before the next content
  bool space_ = false;       // a collapsed space is owed
  bool line_start_ = true;   // nothing visible on the current line yet
  bool has_content_ = false;  // anything visible written at all
  bool spaced_ = false;       // an owed space was written and no content since
  std::string prefix_;       // written before the next content at a line start ("- ")
};

template <class Writer>
void convert(std::string_view input, Writer& w) {
  Skipper skip;
  Scanner scanner(input);
  for (Token t = scanner.next(); t.kind != Token::kEnd; t = scanner.next()) {
    if (skip.active() && !skip.feed(t)) continue;
    switch (t.kind) {
      case Token::kText:
        walk_text(t.text, /*in_attribute=*/false, w);
        break;
      case Token::kStartTag: {
        const uint8_t flags = tag_flags(t.tag);
        if (flags & kRawText) break;  // the Scanner skips the content
        if (skips_content(t)) {
          if (!(flags & kVoid) && !t.self_closing) skip.begin(t);
          break;
        }
        w.start_tag(t);
        break;
      }
      case Token::kEndTag:
        w.end_tag(t);
        break;
      case Token::kEnd:
        break;
    }
  }
}

}  // namespace templating::html
