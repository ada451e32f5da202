// dkim/canon.cpp: header/body split and canonicalization (see canon.h).
#include "dkim/canon.h"

namespace dkim {

using detail::is_wsp;

std::string_view canon_name(Canon c) noexcept { return c == Canon::kSimple ? "simple" : "relaxed"; }

SplitMessage split_message(std::string_view m) {
  SplitMessage out;
  out.fields.reserve(24);
  size_t pos = 0;
  const size_t n = m.size();
  while (pos < n) {
    if (m.compare(pos, 2, "\r\n") == 0) {  // the empty line
      out.body = m.substr(pos + 2);
      return out;
    }
    const size_t start = pos;
    // The field runs to the end of the first line that is not followed by a
    // continuation (a line starting with SP or HTAB).
    for (;;) {
      size_t eol = m.find("\r\n", pos);
      if (eol == std::string_view::npos) {
        pos = n;
        break;
      }
      pos = eol + 2;
      if (pos >= n || !is_wsp(m[pos])) break;
    }
    std::string_view raw = m.substr(start, pos - start);
    std::string_view name;
    size_t colon = raw.find(':');
    size_t eol = raw.find("\r\n");
    if (colon != std::string_view::npos && (eol == std::string_view::npos || colon < eol)) {
      name = raw.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    }
    out.fields.push_back({name, raw});
  }
  return out;
}

bool needs_normalization(std::string_view s) noexcept {
  const size_t n = s.size();
  if (n == 0) return false;
  if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n') return true;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\r') {
      if (i + 1 >= n || s[i + 1] != '\n') return true;
      ++i;
    } else if (s[i] == '\n') {
      return true;
    }
  }
  return false;
}

void normalize_line_ends(std::string_view s, std::string& out) {
  out.reserve(out.size() + s.size() + s.size() / 32 + 2);
  const size_t n = s.size();
  size_t i = 0;
  bool line_open = false;
  while (i < n) {
    size_t stop = s.find_first_of("\r\n", i);
    if (stop == std::string_view::npos) stop = n;
    out.append(s.data() + i, stop - i);
    line_open = stop > i;
    i = stop;
    if (i >= n) break;
    i += (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
    out.append("\r\n");
    line_open = false;
  }
  if (line_open) out.append("\r\n");
}

void canonicalize_header(Canon c, std::string_view raw, std::string& out, bool with_crlf) {
  if (c == Canon::kSimple) {
    if (!with_crlf && raw.size() >= 2 && raw.substr(raw.size() - 2) == "\r\n") raw.remove_suffix(2);
    out.append(raw);
    return;
  }
  size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  for (char ch : name) out.push_back((ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch);
  out.push_back(':');
  if (colon != std::string_view::npos) {
    // Unfold (drop CR and LF), collapse WSP runs, trim both ends.
    bool pending_space = false;
    bool any = false;
    for (size_t i = colon + 1; i < raw.size(); ++i) {
      const char ch = raw[i];
      if (ch == '\r' || ch == '\n') continue;
      if (is_wsp(ch)) {
        pending_space = any;
        continue;
      }
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(ch);
      any = true;
    }
  }
  if (with_crlf) out.append("\r\n");
}

void canonicalize_body(Canon c, std::string_view body, std::string& out) {
  canonicalize_body(c, body, [&out](const char* p, size_t n) { out.append(p, n); });
}

}  // namespace dkim
