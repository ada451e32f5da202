// templating/html_scan.cpp: the tolerant HTML tokenizer and character
// references (html_scan.h).
#include "templating/html_scan.h"

#include <cstring>

namespace templating::html {
namespace {

using chan::ascii_lower;
using chan::iequals;

struct TagEntry {
  std::string_view name;
  Tag tag;
  uint8_t flags;
};

// One row per element the text rules know; sorted below for lookup.
constexpr TagEntry kTagList[] = {
    {"a", Tag::kA, 0},
    {"address", Tag::kAddress, kLine},
    {"area", Tag::kArea, kVoid},
    {"article", Tag::kArticle, kLine},
    {"aside", Tag::kAside, kLine},
    {"b", Tag::kB, 0},
    {"base", Tag::kBase, kVoid},
    {"blockquote", Tag::kBlockquote, kPara},
    {"body", Tag::kBody, kDocument},
    {"br", Tag::kBr, kVoid | kDocument},
    {"caption", Tag::kCaption, kLine},
    {"center", Tag::kCenter, kLine},
    {"code", Tag::kCode, 0},
    {"col", Tag::kCol, kVoid},
    {"dd", Tag::kDd, kLine},
    {"del", Tag::kDel, 0},
    {"details", Tag::kDetails, kLine},
    {"div", Tag::kDiv, kLine | kDocument},
    {"dl", Tag::kDl, kPara},
    {"dt", Tag::kDt, kLine},
    {"em", Tag::kEm, 0},
    {"embed", Tag::kEmbed, kVoid},
    {"fieldset", Tag::kFieldset, kLine},
    {"figcaption", Tag::kFigcaption, kLine},
    {"figure", Tag::kFigure, kPara},
    {"footer", Tag::kFooter, kLine},
    {"form", Tag::kForm, kLine},
    {"h1", Tag::kH1, kPara | kDocument},
    {"h2", Tag::kH2, kPara | kDocument},
    {"h3", Tag::kH3, kPara | kDocument},
    {"h4", Tag::kH4, kPara | kDocument},
    {"h5", Tag::kH5, kPara | kDocument},
    {"h6", Tag::kH6, kPara | kDocument},
    {"head", Tag::kHead, kDocument},
    {"header", Tag::kHeader, kLine},
    {"hr", Tag::kHr, kVoid | kPara | kDocument},
    {"html", Tag::kHtml, kDocument},
    {"i", Tag::kI, 0},
    {"iframe", Tag::kIframe, kRawText | kDropped},
    {"img", Tag::kImg, kVoid},
    {"input", Tag::kInput, kVoid},
    {"ins", Tag::kIns, 0},
    {"legend", Tag::kLegend, kLine},
    {"li", Tag::kLi, kLine | kDocument},
    {"link", Tag::kLink, kVoid},
    {"main", Tag::kMain, kLine},
    {"meta", Tag::kMeta, kVoid},
    {"nav", Tag::kNav, kLine},
    {"noembed", Tag::kNoembed, kRawText | kDropped},
    {"noframes", Tag::kNoframes, kRawText | kDropped},
    {"ol", Tag::kOl, kDocument},
    {"p", Tag::kP, kPara | kDocument},
    {"param", Tag::kParam, kVoid},
    {"pre", Tag::kPre, kPara},
    {"s", Tag::kS, 0},
    {"script", Tag::kScript, kRawText | kDropped},
    {"section", Tag::kSection, kLine},
    {"source", Tag::kSource, kVoid},
    {"span", Tag::kSpan, 0},
    {"strike", Tag::kStrike, 0},
    {"strong", Tag::kStrong, 0},
    {"style", Tag::kStyle, kRawText | kDropped},
    {"summary", Tag::kSummary, kLine},
    {"table", Tag::kTable, kPara | kDocument},
    {"tbody", Tag::kTbody, 0},
    {"td", Tag::kTd, kDocument},
    {"template", Tag::kTemplate, kDropped},
    {"textarea", Tag::kTextarea, kRawText | kDropped},
    {"tfoot", Tag::kTfoot, 0},
    {"tg-spoiler", Tag::kTgSpoiler, 0},
    {"th", Tag::kTh, kDocument},
    {"thead", Tag::kThead, 0},
    {"title", Tag::kTitle, kRawText | kDropped},
    {"tr", Tag::kTr, kLine | kDocument},
    {"track", Tag::kTrack, kVoid},
    {"u", Tag::kU, 0},
    {"ul", Tag::kUl, kDocument},
    {"wbr", Tag::kWbr, kVoid},
    {"xmp", Tag::kXmp, kRawText | kDropped},
};
constexpr size_t kTagCount = std::size(kTagList);
constexpr size_t kMaxTagName = 10;  // "blockquote", "figcaption", "tg-spoiler"

constexpr auto kTagsByName = [] {
  std::array<TagEntry, kTagCount> a{};
  for (size_t i = 0; i < kTagCount; ++i) a[i] = kTagList[i];
  std::sort(a.begin(), a.end(), [](const TagEntry& x, const TagEntry& y) { return x.name < y.name; });
  return a;
}();

// Where the names starting with each letter begin in kTagsByName (a tag
// name is looked up for every tag of every message: a bucket of at most a
// handful of names beats a binary search of memcmp calls).
constexpr auto kTagBucket = [] {
  std::array<uint8_t, 27> b{};
  for (int l = 0; l <= 26; ++l) {
    size_t i = 0;
    while (i < kTagCount && kTagsByName[i].name[0] < 'a' + l) ++i;
    b[l] = static_cast<uint8_t>(i);
  }
  return b;
}();

constexpr auto kFlagsByTag = [] {
  std::array<uint8_t, 256> f{};
  for (const TagEntry& e : kTagList) f[static_cast<uint8_t>(e.tag)] = e.flags;
  return f;
}();

static_assert(static_cast<size_t>(Tag::kXmp) == kTagCount, "every Tag has one row in kTagList");

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) noexcept { return is_alpha(c) || (c >= '0' && c <= '9'); }

// The HTML 4.01 named character references (with lang/rang as HTML5 maps
// them), &apos; and the upper-case aliases HTML5 keeps for the classic five.
// Checked against Python's html.entities.html5. Sorted by name (bytes).
struct Entity {
  std::string_view name;
  char32_t cp;
};
constexpr Entity kEntities[] = {
    {"AElig", 0xC6}, {"AMP", 0x26}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Agrave", 0xC0},
    {"Alpha", 0x391}, {"Aring", 0xC5}, {"Atilde", 0xC3}, {"Auml", 0xC4}, {"Beta", 0x392},
    {"COPY", 0xA9}, {"Ccedil", 0xC7}, {"Chi", 0x3A7}, {"Dagger", 0x2021}, {"Delta", 0x394},
    {"ETH", 0xD0}, {"Eacute", 0xC9}, {"Ecirc", 0xCA}, {"Egrave", 0xC8}, {"Epsilon", 0x395},
    {"Eta", 0x397}, {"Euml", 0xCB}, {"GT", 0x3E}, {"Gamma", 0x393}, {"Iacute", 0xCD},
    {"Icirc", 0xCE}, {"Igrave", 0xCC}, {"Iota", 0x399}, {"Iuml", 0xCF}, {"Kappa", 0x39A},
    {"LT", 0x3C}, {"Lambda", 0x39B}, {"Mu", 0x39C}, {"Ntilde", 0xD1}, {"Nu", 0x39D},
    {"OElig", 0x152}, {"Oacute", 0xD3}, {"Ocirc", 0xD4}, {"Ograve", 0xD2}, {"Omega", 0x3A9},
    {"Omicron", 0x39F}, {"Oslash", 0xD8}, {"Otilde", 0xD5}, {"Ouml", 0xD6}, {"Phi", 0x3A6},
    {"Pi", 0x3A0}, {"Prime", 0x2033}, {"Psi", 0x3A8}, {"QUOT", 0x22}, {"REG", 0xAE}, {"Rho", 0x3A1},
    {"Scaron", 0x160}, {"Sigma", 0x3A3}, {"THORN", 0xDE}, {"Tau", 0x3A4}, {"Theta", 0x398},
    {"Uacute", 0xDA}, {"Ucirc", 0xDB}, {"Ugrave", 0xD9}, {"Upsilon", 0x3A5}, {"Uuml", 0xDC},
    {"Xi", 0x39E}, {"Yacute", 0xDD}, {"Yuml", 0x178}, {"Zeta", 0x396}, {"aacute", 0xE1},
    {"acirc", 0xE2}, {"acute", 0xB4}, {"aelig", 0xE6}, {"agrave", 0xE0}, {"alefsym", 0x2135},
    {"alpha", 0x3B1}, {"amp", 0x26}, {"and", 0x2227}, {"ang", 0x2220}, {"apos", 0x27},
    {"aring", 0xE5}, {"asymp", 0x2248}, {"atilde", 0xE3}, {"auml", 0xE4}, {"bdquo", 0x201E},
    {"beta", 0x3B2}, {"brvbar", 0xA6}, {"bull", 0x2022}, {"cap", 0x2229}, {"ccedil", 0xE7},
    {"cedil", 0xB8}, {"cent", 0xA2}, {"chi", 0x3C7}, {"circ", 0x2C6}, {"clubs", 0x2663},
    {"cong", 0x2245}, {"copy", 0xA9}, {"crarr", 0x21B5}, {"cup", 0x222A}, {"curren", 0xA4},
    {"dArr", 0x21D3}, {"dagger", 0x2020}, {"darr", 0x2193}, {"deg", 0xB0}, {"delta", 0x3B4},
    {"diams", 0x2666}, {"divide", 0xF7}, {"eacute", 0xE9}, {"ecirc", 0xEA}, {"egrave", 0xE8},
    {"empty", 0x2205}, {"emsp", 0x2003}, {"ensp", 0x2002}, {"epsilon", 0x3B5}, {"equiv", 0x2261},
    {"eta", 0x3B7}, {"eth", 0xF0}, {"euml", 0xEB}, {"euro", 0x20AC}, {"exist", 0x2203},
    {"fnof", 0x192}, {"forall", 0x2200}, {"frac12", 0xBD}, {"frac14", 0xBC}, {"frac34", 0xBE},
    {"frasl", 0x2044}, {"gamma", 0x3B3}, {"ge", 0x2265}, {"gt", 0x3E}, {"hArr", 0x21D4},
    {"harr", 0x2194}, {"hearts", 0x2665}, {"hellip", 0x2026}, {"iacute", 0xED}, {"icirc", 0xEE},
    {"iexcl", 0xA1}, {"igrave", 0xEC}, {"image", 0x2111}, {"infin", 0x221E}, {"int", 0x222B},
    {"iota", 0x3B9}, {"iquest", 0xBF}, {"isin", 0x2208}, {"iuml", 0xEF}, {"kappa", 0x3BA},
    {"lArr", 0x21D0}, {"lambda", 0x3BB}, {"lang", 0x27E8}, {"laquo", 0xAB}, {"larr", 0x2190},
    {"lceil", 0x2308}, {"ldquo", 0x201C}, {"le", 0x2264}, {"lfloor", 0x230A}, {"lowast", 0x2217},
    {"loz", 0x25CA}, {"lrm", 0x200E}, {"lsaquo", 0x2039}, {"lsquo", 0x2018}, {"lt", 0x3C},
    {"macr", 0xAF}, {"mdash", 0x2014}, {"micro", 0xB5}, {"middot", 0xB7}, {"minus", 0x2212},
    {"mu", 0x3BC}, {"nabla", 0x2207}, {"nbsp", 0xA0}, {"ndash", 0x2013}, {"ne", 0x2260},
    {"ni", 0x220B}, {"not", 0xAC}, {"notin", 0x2209}, {"nsub", 0x2284}, {"ntilde", 0xF1},
    {"nu", 0x3BD}, {"oacute", 0xF3}, {"ocirc", 0xF4}, {"oelig", 0x153}, {"ograve", 0xF2},
    {"oline", 0x203E}, {"omega", 0x3C9}, {"omicron", 0x3BF}, {"oplus", 0x2295}, {"or", 0x2228},
    {"ordf", 0xAA}, {"ordm", 0xBA}, {"oslash", 0xF8}, {"otilde", 0xF5}, {"otimes", 0x2297},
    {"ouml", 0xF6}, {"para", 0xB6}, {"part", 0x2202}, {"permil", 0x2030}, {"perp", 0x22A5},
    {"phi", 0x3C6}, {"pi", 0x3C0}, {"piv", 0x3D6}, {"plusmn", 0xB1}, {"pound", 0xA3},
    {"prime", 0x2032}, {"prod", 0x220F}, {"prop", 0x221D}, {"psi", 0x3C8}, {"quot", 0x22},
    {"rArr", 0x21D2}, {"radic", 0x221A}, {"rang", 0x27E9}, {"raquo", 0xBB}, {"rarr", 0x2192},
    {"rceil", 0x2309}, {"rdquo", 0x201D}, {"real", 0x211C}, {"reg", 0xAE}, {"rfloor", 0x230B},
    {"rho", 0x3C1}, {"rlm", 0x200F}, {"rsaquo", 0x203A}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
    {"scaron", 0x161}, {"sdot", 0x22C5}, {"sect", 0xA7}, {"shy", 0xAD}, {"sigma", 0x3C3},
    {"sigmaf", 0x3C2}, {"sim", 0x223C}, {"spades", 0x2660}, {"sub", 0x2282}, {"sube", 0x2286},
    {"sum", 0x2211}, {"sup", 0x2283}, {"sup1", 0xB9}, {"sup2", 0xB2}, {"sup3", 0xB3},
    {"supe", 0x2287}, {"szlig", 0xDF}, {"tau", 0x3C4}, {"there4", 0x2234}, {"theta", 0x3B8},
    {"thetasym", 0x3D1}, {"thinsp", 0x2009}, {"thorn", 0xFE}, {"tilde", 0x2DC}, {"times", 0xD7},
    {"trade", 0x2122}, {"uArr", 0x21D1}, {"uacute", 0xFA}, {"uarr", 0x2191}, {"ucirc", 0xFB},
    {"ugrave", 0xF9}, {"uml", 0xA8}, {"upsih", 0x3D2}, {"upsilon", 0x3C5}, {"uuml", 0xFC},
    {"weierp", 0x2118}, {"xi", 0x3BE}, {"yacute", 0xFD}, {"yen", 0xA5}, {"yuml", 0xFF},
    {"zeta", 0x3B6}, {"zwj", 0x200D}, {"zwnj", 0x200C},
};
constexpr size_t kMaxEntityName = 8;  // "thetasym"

constexpr bool entities_sorted() {
  for (size_t i = 1; i < std::size(kEntities); ++i) {
    if (!(kEntities[i - 1].name < kEntities[i].name)) return false;
  }
  return true;
}
static_assert(entities_sorted(), "kEntities must be sorted for binary search");
static_assert(std::size(kEntities) == 252 + 1 + 6, "HTML 4 set, apos, upper-case aliases");

// Where the names starting with each byte begin in kEntities (sorted by
// bytes, so each first character is one contiguous run).
constexpr auto kEntityBucket = [] {
  std::array<uint16_t, 129> b{};
  for (int c = 0; c <= 128; ++c) {
    size_t i = 0;
    while (i < std::size(kEntities) && static_cast<unsigned char>(kEntities[i].name[0]) < c) ++i;
    b[c] = static_cast<uint16_t>(i);
  }
  return b;
}();

bool lookup_entity(std::string_view name, char32_t* cp) noexcept {
  const auto c = static_cast<unsigned char>(name[0]);
  if (c >= 128) return false;
  for (size_t i = kEntityBucket[c]; i < kEntityBucket[c + 1]; ++i) {
    const std::string_view n = kEntities[i].name;
    if (n.size() == name.size() && std::memcmp(n.data(), name.data(), n.size()) == 0) {
      *cp = kEntities[i].cp;
      return true;
    }
  }
  return false;
}

// HTML5 "numeric character reference end state": 0x80-0x9F as Windows-1252.
constexpr char16_t kWindows1252[32] = {
    0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178,
};

// The classic references that also work without ';' in text.
bool legacy_without_semicolon(std::string_view name) noexcept {
  return name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "nbsp" ||
         name == "copy" || name == "reg" || name == "AMP" || name == "LT" || name == "GT" ||
         name == "QUOT" || name == "COPY" || name == "REG";
}

size_t find_ci(std::string_view hay, size_t from, std::string_view lower_needle) noexcept {
  while (from < hay.size()) {
    const void* hit = std::memchr(hay.data() + from, '<', hay.size() - from);
    if (hit == nullptr) return std::string_view::npos;
    const size_t lt = static_cast<size_t>(static_cast<const char*>(hit) - hay.data());
    if (chan::istarts_with(hay.substr(lt), lower_needle)) return lt;
    from = lt + 1;
  }
  return std::string_view::npos;
}

// Whether a style attribute hides its element: a display:none or
// visibility:hidden declaration (any case, any spacing, !important or not).
// One pass over the colons, not over every character: email HTML has a
// style on nearly every element.
bool style_hides(std::string_view css) noexcept {
  size_t from = 0;
  while (from < css.size()) {
    const void* hit = std::memchr(css.data() + from, ':', css.size() - from);
    if (hit == nullptr) return false;
    const size_t colon = static_cast<size_t>(static_cast<const char*>(hit) - css.data());
    from = colon + 1;
    // The property name before the colon.
    size_t e = colon;
    while (e > 0 && is_space(css[e - 1])) --e;
    size_t b = e;
    while (b > 0 && (is_alpha(css[b - 1]) || css[b - 1] == '-')) --b;
    const std::string_view property = css.substr(b, e - b);
    std::string_view want;
    if (iequals(property, "display")) {
      want = "none";
    } else if (iequals(property, "visibility")) {
      want = "hidden";
    } else {
      continue;
    }
    size_t v = colon + 1;
    while (v < css.size() && is_space(css[v])) ++v;
    if (!chan::istarts_with(css.substr(v), want)) continue;
    v += want.size();
    if (v == css.size() || !(is_alnum(css[v]) || css[v] == '-' || css[v] == '_')) return true;
  }
  return false;
}

}  // namespace

uint8_t tag_flags(Tag t) noexcept { return kFlagsByTag[static_cast<uint8_t>(t)]; }

Tag lookup_tag(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxTagName) return Tag::kOther;
  char buf[kMaxTagName];
  for (size_t i = 0; i < name.size(); ++i) buf[i] = ascii_lower(name[i]);
  const std::string_view lower(buf, name.size());
  if (buf[0] < 'a' || buf[0] > 'z') return Tag::kOther;
  const int l = buf[0] - 'a';
  for (size_t i = kTagBucket[l]; i < kTagBucket[l + 1]; ++i) {
    const std::string_view n = kTagsByName[i].name;
    if (n.size() != lower.size()) continue;
    size_t k = 1;  // names are short: a loop beats a memcmp call
    while (k < n.size() && n[k] == lower[k]) ++k;
    if (k == n.size()) return kTagsByName[i].tag;
  }
  return Tag::kOther;
}

// ---------------------------------------------------------------------------
// Scanner

bool Scanner::starts_markup(size_t lt) const noexcept {
  if (lt + 1 >= src_.size()) return false;
  const char c = src_[lt + 1];
  return is_alpha(c) || c == '/' || c == '!' || c == '?';
}

size_t Scanner::tag_end(size_t i, bool* self_closing) const noexcept {
  const size_t n = src_.size();
  *self_closing = false;
  for (;;) {
    while (i < n && (is_space(src_[i]) || src_[i] == '/')) {
      if (src_[i] == '/' && i + 1 < n && src_[i + 1] == '>') {
        *self_closing = true;
        return i + 1;
      }
      ++i;
    }
    if (i >= n) return std::string_view::npos;
    if (src_[i] == '>') return i;
    // Attribute name (its first character may be anything, even '=').
    ++i;
    while (i < n && !is_space(src_[i]) && src_[i] != '/' && src_[i] != '>' && src_[i] != '=') ++i;
    while (i < n && is_space(src_[i])) ++i;
    if (i < n && src_[i] == '=') {
      ++i;
      while (i < n && is_space(src_[i])) ++i;
      if (i < n && (src_[i] == '"' || src_[i] == '\'')) {
        const void* q = std::memchr(src_.data() + i + 1, src_[i], n - i - 1);
        if (q == nullptr) return std::string_view::npos;
        i = static_cast<size_t>(static_cast<const char*>(q) - src_.data()) + 1;
      } else {
        while (i < n && !is_space(src_[i]) && src_[i] != '>') ++i;
      }
    }
  }
}

bool Scanner::markup(size_t lt, Token* t) noexcept {
  const size_t n = src_.size();
  const char c = src_[lt + 1];
  auto skip_to_gt = [&](size_t from) {
    const void* gt = from < n ? std::memchr(src_.data() + from, '>', n - from) : nullptr;
    pos_ = gt ? static_cast<size_t>(static_cast<const char*>(gt) - src_.data()) + 1 : n;
  };
  if (c == '!') {
    if (src_.substr(lt, 4) == "<!--") {
      // <!--> and <!---> are complete (empty) comments in HTML5.
      if (src_.substr(lt + 4, 1) == ">") {
        pos_ = lt + 5;
      } else if (src_.substr(lt + 4, 2) == "->") {
        pos_ = lt + 6;
      } else {
        const size_t e = src_.find("-->", lt + 4);
        const size_t e2 = src_.find("--!>", lt + 4);
        if (e == std::string_view::npos && e2 == std::string_view::npos) {
          pos_ = n;
        } else if (e2 == std::string_view::npos || (e != std::string_view::npos && e < e2)) {
          pos_ = e + 3;
        } else {
          pos_ = e2 + 4;
        }
      }
      return false;
    }
    skip_to_gt(lt + 2);  // <!DOCTYPE ...>, <![CDATA[...]]>: bogus comments
    return false;
  }
  if (c == '?') {
    skip_to_gt(lt + 2);
    return false;
  }
  const bool end_tag = c == '/';
  size_t name_begin = lt + 1;
  if (end_tag) {
    if (lt + 2 >= n) {  // "</" at the end: text in HTML5; nothing to show
      pos_ = n;
      return false;
    }
    if (src_[lt + 2] == '>') {  // "</>" is ignored
      pos_ = lt + 3;
      return false;
    }
    if (!is_alpha(src_[lt + 2])) {
      skip_to_gt(lt + 2);
      return false;
    }
    name_begin = lt + 2;
  }
  size_t i = name_begin;
  while (i < n && !is_space(src_[i]) && src_[i] != '/' && src_[i] != '>') ++i;
  const std::string_view name = src_.substr(name_begin, i - name_begin);
  bool self_closing = false;
  const size_t gt = tag_end(i, &self_closing);
  if (gt == std::string_view::npos) {  // EOF in a tag: the tag is dropped
    pos_ = n;
    return false;
  }
  const size_t attrs_end = self_closing ? gt - 1 : gt;
  pos_ = gt + 1;
  t->kind = end_tag ? Token::kEndTag : Token::kStartTag;
  t->tag = lookup_tag(name);
  t->text = name;
  t->self_closing = self_closing && !end_tag;
  t->attrs = end_tag ? std::string_view() : src_.substr(i, attrs_end - i);
  if (!end_tag && (tag_flags(t->tag) & kRawText)) raw_name_ = name;
  return true;
}

Token Scanner::next() noexcept {
  const size_t n = src_.size();
  if (!raw_name_.empty()) {
    // Skip the raw text to "</name" followed by a delimiter.
    size_t from = pos_;
    size_t found = std::string_view::npos;
    char needle[2 + kMaxTagName];
    needle[0] = '<';
    needle[1] = '/';
    for (size_t k = 0; k < raw_name_.size(); ++k) needle[2 + k] = ascii_lower(raw_name_[k]);
    const std::string_view lower_needle(needle, 2 + raw_name_.size());
    while ((found = find_ci(src_, from, lower_needle)) != std::string_view::npos) {
      const size_t after = found + lower_needle.size();
      if (after >= n || is_space(src_[after]) || src_[after] == '/' || src_[after] == '>') break;
      from = found + 1;
    }
    raw_name_ = {};
    pos_ = found == std::string_view::npos ? n : found;
  }
  while (pos_ < n) {
    if (src_[pos_] == '<' && starts_markup(pos_)) {
      Token t;
      if (markup(pos_, &t)) return t;
      continue;
    }
    // Text up to the next '<' that starts markup.
    const size_t start = pos_;
    size_t i = pos_ + 1;
    for (;;) {
      const void* lt = i < n ? std::memchr(src_.data() + i, '<', n - i) : nullptr;
      if (lt == nullptr) {
        i = n;
        break;
      }
      i = static_cast<size_t>(static_cast<const char*>(lt) - src_.data());
      if (starts_markup(i)) break;
      ++i;
    }
    pos_ = i;
    Token t;
    t.kind = Token::kText;
    t.text = src_.substr(start, i - start);
    return t;
  }
  return Token{};
}

// ---------------------------------------------------------------------------
// Attributes

bool next_attr(std::string_view& rest, Attr* out) noexcept {
  size_t i = 0;
  const size_t n = rest.size();
  while (i < n && (is_space(rest[i]) || rest[i] == '/')) ++i;
  if (i >= n) {
    rest = {};
    return false;
  }
  const size_t name_begin = i;
  ++i;
  while (i < n && !is_space(rest[i]) && rest[i] != '/' && rest[i] != '=') ++i;
  out->name = rest.substr(name_begin, i - name_begin);
  out->value = {};
  size_t j = i;
  while (j < n && is_space(rest[j])) ++j;
  if (j < n && rest[j] == '=') {
    ++j;
    while (j < n && is_space(rest[j])) ++j;
    if (j < n && (rest[j] == '"' || rest[j] == '\'')) {
      const size_t close = rest.find(rest[j], j + 1);
      const size_t end = close == std::string_view::npos ? n : close;
      out->value = rest.substr(j + 1, end - j - 1);
      i = close == std::string_view::npos ? n : close + 1;
    } else {
      const size_t vb = j;
      while (j < n && !is_space(rest[j])) ++j;
      out->value = rest.substr(vb, j - vb);
      i = j;
    }
  }
  rest = rest.substr(i);
  return true;
}

bool find_attr(std::string_view attrs, std::string_view lower_name,
               std::string_view* value) noexcept {
  Attr a;
  while (next_attr(attrs, &a)) {
    if (iequals(a.name, lower_name)) {  // the first one counts, as in HTML5
      *value = a.value;
      return true;
    }
  }
  return false;
}

bool is_hidden(std::string_view attrs) noexcept {
  if (attrs.empty()) return false;
  Attr a;
  while (next_attr(attrs, &a)) {
    if (iequals(a.name, "hidden")) return true;
    if (iequals(a.name, "style") &&
        style_hides(a.value)) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Character references

size_t decode_reference(std::string_view s, bool in_attribute, char32_t* cp) noexcept {
  const size_t n = s.size();
  if (n < 2) return 0;
  if (s[1] == '#') {
    size_t i = 2;
    bool hex = false;
    if (i < n && (s[i] == 'x' || s[i] == 'X')) {
      hex = true;
      ++i;
    }
    const size_t digits_begin = i;
    uint32_t v = 0;
    for (; i < n; ++i) {
      const char c = s[i];
      uint32_t d;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (hex && c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (hex && c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        break;
      }
      v = v > 0x10FFFF ? v : v * (hex ? 16 : 10) + d;  // saturates above the range
    }
    if (i == digits_begin) return 0;  // "&#" or "&#x" with no digits: literal
    if (i < n && s[i] == ';') ++i;
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
      *cp = chan::kReplacement;
    } else if (v >= 0x80 && v <= 0x9F) {
      *cp = kWindows1252[v - 0x80];
    } else {
      *cp = v;
    }
    return i;
  }
  size_t i = 1;
  while (i < n && i <= kMaxEntityName + 1 && is_alnum(s[i])) ++i;
  if (i == 1 || i - 1 > kMaxEntityName) return 0;
  const std::string_view name = s.substr(1, i - 1);
  if (i < n && s[i] == ';') {
    return lookup_entity(name, cp) ? i + 1 : 0;
  }
  // No ';': only the classic ones, only in text, and not glued to more
  // alphanumerics (the loop above stopped at a non-alphanumeric).
  if (in_attribute || !legacy_without_semicolon(name)) return 0;
  return lookup_entity(name, cp) ? i : 0;
}

void decode_attr(std::string_view raw, std::string& out) {
  struct Sink {
    std::string& out;
    void run(std::string_view s) { out.append(s); }
    void space(char32_t c) {
      if (c == 0xA0) {
        chan::append_utf8(out, c);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    void cp(char32_t c) { chan::append_utf8(out, c); }
  } sink{out};
  walk_text(raw, /*in_attribute=*/true, sink);
}

void clean_url(std::string_view raw, std::string& out) {
  out.clear();
  bool plain = true;  // printable ASCII without references: nothing to do
  for (const char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '&') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.assign(raw);
    return;
  }
  decode_attr(raw, out);
  if (out.find_first_of("\t\n\r") != std::string::npos) {
    size_t w = 0;
    for (size_t r = 0; r < out.size(); ++r) {
      const char c = out[r];
      if (c == '\t' || c == '\n' || c == '\r') continue;
      out[w++] = c;
    }
    out.resize(w);
  }
  size_t b = 0;
  while (b < out.size() && static_cast<unsigned char>(out[b]) <= 0x20) ++b;
  size_t e = out.size();
  while (e > b && static_cast<unsigned char>(out[e - 1]) <= 0x20) --e;
  out.erase(e);
  out.erase(0, b);
  // Spaces and controls left inside are percent-encoded, as a browser
  // would send them: the URL stays one word and shows no control character.
  size_t bad = 0;
  for (const char c : out) {
    const auto u = static_cast<unsigned char>(c);
    bad += u <= 0x20 || u == 0x7F;
  }
  if (bad == 0) return;
  std::string enc;
  enc.reserve(out.size() + 2 * bad);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      enc.push_back('%');
      enc.push_back(kHex[u >> 4]);
      enc.push_back(kHex[u & 0xF]);
    } else {
      enc.push_back(c);
    }
  }
  out.swap(enc);
}

}  // namespace templating::html
