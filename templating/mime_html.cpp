// templating/mime_html.cpp: the small HTML edits made before composition:
// preheader, click-tracking link rewriting, open pixel.
//
// These work on HTML that our own templates produced, so a tolerant tag
// scanner is enough: it finds "<a" / "<body" tags, respects quoted attribute
// values and never reorders or re-serialises anything it does not change.
// Malformed markup (an unclosed quote) stops the rewriting; the rest is
// copied as it is.
#include <cstdint>
#include <string>
#include <string_view>

#include "templating/mime.h"
#include "templating/mime_internal.h"

namespace templating {
namespace {

using mime_detail::ascii_lower;

inline bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != lower[i]) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view lower) {
  return s.size() >= lower.size() && iequals(s.substr(0, lower.size()), lower);
}

// Is there a tag named `lower` (e.g. "body", "/body") at html[pos] == '<'?
bool tag_at(std::string_view html, size_t pos, std::string_view lower) {
  size_t after = pos + 1 + lower.size();
  if (after > html.size() || !iequals(html.substr(pos + 1, lower.size()), lower)) return false;
  return after == html.size() || is_html_space(html[after]) || html[after] == '>' ||
         html[after] == '/';
}

// Index of the '>' closing the tag that starts at `pos`, skipping quoted
// attribute values; npos when the tag never closes.
size_t tag_end(std::string_view html, size_t pos) {
  for (size_t j = pos + 1; j < html.size(); ++j) {
    char c = html[j];
    if (c == '>') return j;
    if (c == '"' || c == '\'') {
      size_t close = html.find(c, j + 1);
      if (close == std::string_view::npos) return close;
      j = close;
    }
  }
  return std::string_view::npos;
}

void html_escape(std::string_view in, std::string& out) {
  size_t start = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char* rep;
    switch (in[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&#39;"; break;
      default: continue;
    }
    out.append(in.substr(start, i - start));
    out.append(rep);
    start = i + 1;
  }
  out.append(in.substr(start));
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The attribute value as the browser would read it: the character
// references a URL plausibly holds are decoded (&amp; above all), the rest
// is left as written.
std::string decode_attribute(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  size_t i = 0;
  while (i < v.size()) {
    size_t amp = v.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(v.substr(i));
      break;
    }
    out.append(v.substr(i, amp - i));
    size_t semi = v.find(';', amp);
    std::string_view ref =
        semi == std::string_view::npos || semi - amp > 10 ? std::string_view{} : v.substr(amp + 1, semi - amp - 1);
    bool done = true;
    if (ref == "amp") {
      out.push_back('&');
    } else if (ref == "lt") {
      out.push_back('<');
    } else if (ref == "gt") {
      out.push_back('>');
    } else if (ref == "quot") {
      out.push_back('"');
    } else if (ref == "apos") {
      out.push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x' || ref[1] == 'X';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      done = !digits.empty();
      for (char c : digits) {
        int d = (c >= '0' && c <= '9')               ? c - '0'
                : hex && (c >= 'a' && c <= 'f')      ? c - 'a' + 10
                : hex && (c >= 'A' && c <= 'F')      ? c - 'A' + 10
                                                     : -1;
        if (d < 0 || cp > 0x10FFFF) {
          done = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      }
      if (done) append_utf8(cp, out);
    } else {
      done = false;
    }
    if (done) {
      i = semi + 1;
    } else {
      out.push_back('&');
      i = amp + 1;
    }
  }
  return out;
}

std::string_view trim_html_space(std::string_view s) {
  while (!s.empty() && is_html_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_html_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string rewrite_links(std::string_view html,
                          const std::function<std::string(std::string_view url)>& make_url) {
  std::string out;
  out.reserve(html.size() + html.size() / 4);
  const size_t n = html.size();
  size_t copied = 0;
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    if (!(i + 2 < n && ascii_lower(html[i + 1]) == 'a' && is_html_space(html[i + 2]))) {
      ++i;
      continue;
    }
    size_t value_begin = std::string_view::npos, value_end = 0;
    bool quoted = false, notrack = false, malformed = false;
    size_t j = i + 2;
    while (j < n) {
      while (j < n && is_html_space(html[j])) ++j;
      if (j >= n || html[j] == '>') break;
      if (html[j] == '/') {
        ++j;
        continue;
      }
      size_t name_begin = j;
      while (j < n && !is_html_space(html[j]) && html[j] != '=' && html[j] != '>' && html[j] != '/') ++j;
      if (j == name_begin) {  // a stray '=' or similar: skip it
        ++j;
        continue;
      }
      std::string_view name = html.substr(name_begin, j - name_begin);
      size_t k = j;
      while (k < n && is_html_space(html[k])) ++k;
      size_t vb = std::string_view::npos, ve = 0;
      bool vq = false;
      if (k < n && html[k] == '=') {
        ++k;
        while (k < n && is_html_space(html[k])) ++k;
        if (k < n && (html[k] == '"' || html[k] == '\'')) {
          size_t close = html.find(html[k], k + 1);
          if (close == std::string_view::npos) {
            malformed = true;
            break;
          }
          vb = k + 1;
          ve = close;
          vq = true;
          j = close + 1;
        } else {
          vb = k;
          while (k < n && !is_html_space(html[k]) && html[k] != '>') ++k;
          ve = k;
          j = k;
        }
      }
      if (iequals(name, "href") && value_begin == std::string_view::npos && vb != std::string_view::npos) {
        value_begin = vb;
        value_end = ve;
        quoted = vq;
      } else if (iequals(name, "data-vestnik-notrack")) {
        notrack = true;
      }
    }
    if (malformed) break;
    if (value_begin != std::string_view::npos && !notrack) {
      std::string url = decode_attribute(trim_html_space(html.substr(value_begin, value_end - value_begin)));
      if (istarts_with(url, "http://") || istarts_with(url, "https://")) {
        std::string target = make_url(url);
        if (!target.empty()) {
          out.append(html.substr(copied, value_begin - copied));
          if (!quoted) out.push_back('"');
          html_escape(target, out);
          if (!quoted) out.push_back('"');
          copied = value_end;
        }
      }
    }
    i = j;
  }
  out.append(html.substr(copied));
  return out;
}

std::string add_open_pixel(std::string_view html, std::string_view pixel_url) {
  size_t at = html.size();
  for (size_t k = html.rfind('<'); k != std::string_view::npos; k = k == 0 ? std::string_view::npos : html.rfind('<', k - 1)) {
    if (tag_at(html, k, "/body")) {
      at = k;
      break;
    }
  }
  std::string out;
  out.reserve(html.size() + pixel_url.size() + 128);
  out.append(html.substr(0, at));
  out.append("<img src=\"");
  html_escape(pixel_url, out);
  out.append("\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;width:1px;height:1px;border:0\" />");
  out.append(html.substr(at));
  return out;
}

std::string insert_preheader(std::string_view html, std::string_view preheader) {
  size_t at = 0;
  for (size_t k = html.find('<'); k != std::string_view::npos; k = html.find('<', k + 1)) {
    if (tag_at(html, k, "body")) {
      size_t close = tag_end(html, k);
      if (close != std::string_view::npos) at = close + 1;
      break;
    }
  }
  std::string out;
  out.reserve(html.size() + preheader.size() + 256);
  out.append(html.substr(0, at));
  // The usual hidden-preheader pattern: invisible in every client we know of
  // (mso-hide for Outlook), still read as the preview text by the inbox.
  out.append(
      "<span style=\"display:none!important;visibility:hidden;mso-hide:all;font-size:1px;"
      "line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;color:transparent\">");
  html_escape(preheader, out);
  out.append("</span>");
  out.append(html.substr(at));
  return out;
}

}  // namespace templating
