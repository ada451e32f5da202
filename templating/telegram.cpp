// templating/telegram.cpp: the Telegram Bot API HTML subset (channels.h).
//
// Telegram refuses a whole message ("Bad Request: can't parse entities") for
// one unsupported tag, one unsupported attribute, one unclosed tag or one
// bare '&', so the output is built, not filtered: text is re-escaped from
// decoded characters, and every tag written comes from a small set with at
// most one attribute we wrote ourselves. Open elements live on a bounded
// stack; an end tag closes the nearest element of its name and everything
// opened after it, an end tag with nothing to close is dropped, and the
// stack is emptied at the end — so the output is balanced by construction.
//
// Nesting rules (Bot API, "Formatting options"): b/i/u/s/spoiler may nest
// in anything but pre and code; pre and code contain nothing (except the
// <pre><code class="language-x"> form); a link holds no link, code or
// blockquote; blockquotes do not nest. A tag that would break a rule is
// dropped, its text kept. Telegram would not refuse most of these, but it
// would silently drop the entity, which is worse to debug than not writing it.
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "templating/channels.h"
#include "templating/channels_internal.h"
#include "templating/html_scan.h"

namespace templating {
namespace {

using html::Tag;
using html::Token;

enum class Kind : uint8_t { kNone, kB, kI, kU, kS, kA, kCode, kPre, kBlockquote, kSpoiler, kCount };

constexpr std::string_view kOpenTag[] = {"",     "<b>",    "<i>",   "<u>",          "<s>",
                                         "",     "<code>", "<pre>", "<blockquote>", "<tg-spoiler>"};
constexpr std::string_view kCloseTag[] = {
    "", "</b>", "</i>", "</u>", "</s>", "</a>", "</code>", "</pre>", "</blockquote>", "</tg-spoiler>"};

bool is_splittable(Kind k) noexcept {
  return k == Kind::kB || k == Kind::kI || k == Kind::kU || k == Kind::kS || k == Kind::kSpoiler;
}

// Deeper nesting than this is never meaningful; ignoring it keeps the end
// tag search O(1) per tag on adversarial input.
constexpr size_t kMaxDepth = 64;

void escape_into(std::string& out, char32_t c) {
  switch (c) {
    case '&': out.append("&amp;"); break;
    case '<': out.append("&lt;"); break;
    case '>': out.append("&gt;"); break;
    default: chan::append_utf8(out, c); break;
  }
}

void escape_attr_into(std::string& out, std::string_view s) {
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    std::string_view rep;
    switch (s[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      default: continue;
    }
    out.append(s.data() + run, i - run);
    out.append(rep);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

// An href (from html::clean_url) Telegram accepts for a text link; false to
// keep the text only.
bool telegram_href(std::string_view url) {
  const std::string_view scheme = chan::url_scheme(url);
  if (chan::iequals(scheme, "http") || chan::iequals(scheme, "https")) return chan::is_http_url(url);
  if (chan::iequals(scheme, "tg") || chan::iequals(scheme, "mailto")) {
    return url.size() > scheme.size() + 1;
  }
  return false;
}

// "language-python" from a class attribute, reduced to the characters a
// language name has; empty when there is none.
std::string_view code_language(std::string_view cls, char* buf, size_t cap) {
  size_t i = 0;
  while (i < cls.size()) {
    while (i < cls.size() && (cls[i] == ' ' || cls[i] == '\t' || cls[i] == '\n')) ++i;
    const size_t b = i;
    while (i < cls.size() && !(cls[i] == ' ' || cls[i] == '\t' || cls[i] == '\n')) ++i;
    const std::string_view word = cls.substr(b, i - b);
    if (!chan::istarts_with(word, "language-")) continue;
    size_t n = 0;
    for (const char c : word.substr(9)) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '+' || c == '#' || c == '.' || c == '-';
      if (ok && n < cap) buf[n++] = c;
    }
    if (n > 0) return std::string_view(buf, n);
  }
  return {};
}

bool has_class(std::string_view cls, std::string_view want) {
  size_t i = 0;
  while (i < cls.size()) {
    while (i < cls.size() && (cls[i] == ' ' || cls[i] == '\t' || cls[i] == '\n')) ++i;
    const size_t b = i;
    while (i < cls.size() && !(cls[i] == ' ' || cls[i] == '\t' || cls[i] == '\n')) ++i;
    if (chan::iequals(cls.substr(b, i - b), want)) return true;
  }
  return false;
}

// Document HTML (an email body) rather than text written for Telegram: a
// quick look at every "<name" and "</name" (a name inside a comment or a
// script counts too; that only errs towards collapsing whitespace).
bool is_document(std::string_view input) {
  size_t i = 0;
  while (i < input.size()) {
    const void* hit = std::memchr(input.data() + i, '<', input.size() - i);
    if (hit == nullptr) return false;
    size_t b = static_cast<size_t>(static_cast<const char*>(hit) - input.data()) + 1;
    if (b < input.size() && input[b] == '/') ++b;
    size_t e = b;
    while (e < input.size() && e - b <= 10 &&
           ((input[e] >= 'a' && input[e] <= 'z') || (input[e] >= 'A' && input[e] <= 'Z') ||
            (input[e] >= '0' && input[e] <= '9') || input[e] == '-')) {
      ++e;
    }
    if (e > b && (html::tag_flags(html::lookup_tag(input.substr(b, e - b))) & html::kDocument)) {
      return true;
    }
    i = b;
  }
  return false;
}

class TelegramWriter {
 public:
  TelegramWriter(size_t input_size, bool document)
      : layout_(out_, /*cap_literal=*/false), collapse_(document) {
    out_.reserve(input_size + input_size / 8 + 64);
    stack_.reserve(16);
  }

  // walk_text() sink.
  void run(std::string_view s) {
    visible();
    out_.append(s);
  }
  void cp(char32_t c) {
    visible();
    escape_into(out_, c);
  }
  void space(char32_t c) {
    if (c == '\r') return;
    if (!collapse_) {  // Telegram-style input: whitespace as written
      if (pre_depth_ > 0) {
        visible();  // code keeps its indentation even at the very start
      } else if (!layout_.has_content()) {
        return;
      }
      if (c < 0x80) {
        out_.push_back(static_cast<char>(c));
      } else {
        chan::append_utf8(out_, c);
      }
      return;
    }
    if (pre_depth_ > 0) {
      if (c == '\n') {
        layout_.pre_space(c, pre_start_);
      } else {
        visible();
        chan::append_utf8(out_, c);
      }
      pre_start_ = false;
      return;
    }
    layout_.space();
  }

  void start_tag(const Token& t) {
    switch (t.tag) {
      case Tag::kB:
      case Tag::kStrong: open(t.tag, Kind::kB); return;
      case Tag::kI:
      case Tag::kEm: open(t.tag, Kind::kI); return;
      case Tag::kU:
      case Tag::kIns: open(t.tag, Kind::kU); return;
      case Tag::kS:
      case Tag::kStrike:
      case Tag::kDel: open(t.tag, Kind::kS); return;
      case Tag::kTgSpoiler: open(t.tag, Kind::kSpoiler); return;
      case Tag::kSpan: {
        std::string_view cls;
        const bool spoiler = html::find_attr(t.attrs, "class", &cls) && has_class(cls, "tg-spoiler");
        open(t.tag, spoiler ? Kind::kSpoiler : Kind::kNone);
        return;
      }
      case Tag::kA: {
        std::string_view href;
        url_.clear();
        const bool ok = html::find_attr(t.attrs, "href", &href) &&
                        (html::clean_url(href, url_), telegram_href(url_));
        open(t.tag, ok ? Kind::kA : Kind::kNone);
        return;
      }
      case Tag::kCode: {
        std::string_view cls;
        class_.clear();
        if (html::find_attr(t.attrs, "class", &cls)) html::decode_attr(cls, class_);
        open(t.tag, Kind::kCode, class_);
        return;
      }
      case Tag::kPre:
        if (collapse_) layout_.block(1);
        pre_start_ = open(t.tag, Kind::kPre);  // a newline right after <pre> is not content
        return;
      case Tag::kBlockquote: {
        if (collapse_) layout_.block(1);
        std::string_view unused;
        expandable_ = html::find_attr(t.attrs, "expandable", &unused);
        open(t.tag, Kind::kBlockquote);
        return;
      }
      case Tag::kImg: {
        std::string_view alt;
        if (html::find_attr(t.attrs, "alt", &alt)) html::walk_text(alt, /*in_attribute=*/true, *this);
        return;
      }
      default:
        break;
    }
    if (!collapse_) return;  // (no document tags in this mode)
    layout_breaks(t.tag, /*start=*/true);
  }

  void end_tag(const Token& t) {
    switch (t.tag) {
      case Tag::kB: case Tag::kStrong: case Tag::kI: case Tag::kEm: case Tag::kU:
      case Tag::kIns: case Tag::kS: case Tag::kStrike: case Tag::kDel: case Tag::kTgSpoiler:
      case Tag::kSpan: case Tag::kA: case Tag::kCode:
        close_matching(t.tag);
        return;
      case Tag::kPre:
      case Tag::kBlockquote:
        close_matching(t.tag);
        if (collapse_) layout_.block(1);
        return;
      default:
        break;
    }
    if (!collapse_) return;
    layout_breaks(t.tag, /*start=*/false);
  }

  std::string finish() {
    layout_.finish();
    while (!stack_.empty()) pop();
    layout_.finish();
    return std::move(out_);
  }

 private:
  struct Open {
    Tag src;         // the element that opened it: end tags match on it
    Kind kind;       // kNone: dropped (kept only so that its end tag matches it)
    size_t open_at;  // out_.size() before the opening tag
    size_t body_at;  // out_.size() after it
  };

  void visible() {
    layout_.content();
    pre_start_ = false;
  }

  void layout_breaks(Tag tag, bool start) {
    switch (tag) {
      case Tag::kBr:
        if (start) layout_.line_break();
        return;
      case Tag::kLi:
        layout_.clear_prefix();
        layout_.block(1);
        if (start) {
          prefix_.assign(2 * (list_depth_ > 1 ? list_depth_ - 1 : 0), ' ');
          prefix_.append("- ");
          layout_.set_prefix(prefix_);
        }
        return;
      case Tag::kUl:
      case Tag::kOl:
        layout_.clear_prefix();
        if (start) {
          layout_.block(list_depth_ == 0 ? 2 : 1);
          ++list_depth_;
        } else {
          if (list_depth_ > 0) --list_depth_;
          layout_.block(list_depth_ == 0 ? 2 : 1);
        }
        return;
      case Tag::kTd:
      case Tag::kTh:
        if (start) layout_.cell();
        return;
      default:
        break;
    }
    const uint8_t flags = html::tag_flags(tag);
    if (flags & html::kPara) {
      layout_.block(2);
    } else if (flags & html::kLine) {
      layout_.block(1);
    }
  }

  bool allowed(Kind k) const noexcept {
    const bool in_code = count(Kind::kCode) > 0 || count(Kind::kPre) > 0;
    if (in_code) {
      // Only <pre><code class="language-x">, right at the start of the pre.
      if (k != Kind::kCode || stack_.empty()) return false;
      const Open& top = stack_.back();
      return top.kind == Kind::kPre && count(Kind::kCode) == 0 && out_.size() == top.body_at;
    }
    switch (k) {
      case Kind::kPre:
      case Kind::kCode:
        return count(Kind::kB) + count(Kind::kI) + count(Kind::kU) + count(Kind::kS) +
                   count(Kind::kSpoiler) + count(Kind::kA) ==
               0;
      case Kind::kA:
        return count(Kind::kA) == 0;
      case Kind::kBlockquote:
        return count(Kind::kBlockquote) == 0 && count(Kind::kA) == 0;
      default:
        return is_splittable(k) && count(k) == 0;  // a second <b> inside <b> adds nothing
    }
  }

  // Opens an element; true when its tag was written.
  bool open(Tag src, Kind kind, std::string_view code_class = {}) {
    if (stack_.size() >= kMaxDepth) return false;
    // Owed breaks and spaces go first: allowed() looks at what precedes.
    if (kind != Kind::kNone) layout_.content(/*visible=*/false);
    if (kind == Kind::kNone || !allowed(kind)) {
      stack_.push_back({src, Kind::kNone, 0, 0});
      return false;
    }
    const size_t open_at = out_.size();
    if (kind == Kind::kA) {
      out_.append("<a href=\"");
      escape_attr_into(out_, url_);
      out_.append("\">");
    } else if (kind == Kind::kCode && count(Kind::kPre) > 0) {
      char buf[32];
      const std::string_view lang = code_language(code_class, buf, sizeof buf);
      if (lang.empty()) {
        out_.append("<code>");
      } else {
        out_.append("<code class=\"language-");
        out_.append(lang);
        out_.append("\">");
      }
    } else if (kind == Kind::kBlockquote && expandable_) {
      out_.append("<blockquote expandable>");
    } else {
      out_.append(kOpenTag[static_cast<size_t>(kind)]);
    }
    ++counts_[static_cast<size_t>(kind)];
    // Whitespace is kept as written only inside a <pre> that is written: a
    // dropped one is ordinary text (and fed back, would be read as such).
    if (kind == Kind::kPre) ++pre_depth_;
    stack_.push_back({src, kind, open_at, out_.size()});
    return true;
  }

  void pop() {
    const Open e = stack_.back();
    stack_.pop_back();
    if (e.kind == Kind::kNone) return;
    if (e.kind == Kind::kPre) --pre_depth_;
    --counts_[static_cast<size_t>(e.kind)];
    if (out_.size() == e.body_at) {
      out_.resize(e.open_at);  // an empty element is left out
    } else {
      out_.append(kCloseTag[static_cast<size_t>(e.kind)]);
    }
  }

  void close_matching(Tag src) {
    for (size_t i = stack_.size(); i-- > 0;) {
      if (stack_[i].src == src) {
        while (stack_.size() > i) pop();
        return;
      }
    }
    // Nothing of that name is open: a stray end tag, dropped.
  }

  size_t count(Kind k) const noexcept { return counts_[static_cast<size_t>(k)]; }

  std::string out_;
  html::Layout layout_;
  bool collapse_;
  std::vector<Open> stack_;
  std::array<size_t, static_cast<size_t>(Kind::kCount)> counts_{};
  std::string url_;
  std::string class_;
  std::string prefix_;
  bool expandable_ = false;
  bool pre_start_ = false;
  int pre_depth_ = 0;
  int list_depth_ = 0;
};

}  // namespace

std::string telegram_html(std::string_view input) {
  TelegramWriter w(input.size(), is_document(input));
  html::convert(input, w);
  return w.finish();
}

std::string telegram_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16 + 8);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '&': out.append("&amp;"); break;
        case '<': out.append("&lt;"); break;
        case '>': out.append("&gt;"); break;
        case '\0': break;
        default: out.push_back(static_cast<char>(c)); break;
      }
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = chan::decode_utf8(p + i, text.size() - i, &cp);
    if (len == 0) {
      chan::append_utf8(out, chan::kReplacement);
      ++i;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
  return out;
}

size_t telegram_length(std::string_view s) {
  size_t units = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = p[i];
    if (c == '<') {
      const size_t gt = s.find('>', i);
      if (gt == std::string_view::npos) break;
      i = gt + 1;
      continue;
    }
    if (c == '&') {
      // Telegram decodes numeric references and the four named ones.
      const std::string_view rest = s.substr(i);
      size_t len = 0;
      char32_t cp = 0;
      if (rest.starts_with("&lt;") || rest.starts_with("&gt;")) {
        len = 4;
        cp = '<';
      } else if (rest.starts_with("&amp;")) {
        len = 5;
        cp = '&';
      } else if (rest.starts_with("&quot;")) {
        len = 6;
        cp = '"';
      } else if (rest.starts_with("&#")) {
        len = html::decode_reference(rest, /*in_attribute=*/false, &cp);
      }
      if (len > 0) {
        units += cp >= 0x10000 ? 2 : 1;
        i += len;
        continue;
      }
      ++units;
      ++i;
      continue;
    }
    if (c < 0x80) {
      ++units;
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = chan::decode_utf8(p + i, s.size() - i, &cp);
    if (len == 0) {
      ++units;
      ++i;
    } else {
      units += cp >= 0x10000 ? 2 : 1;
      i += len;
    }
  }
  return units;
}

}  // namespace templating
