// templating/mime_downgrade.cpp: 8-bit MIME entities re-encoded as
// quoted-printable (RFC 6152 §3 asks a relay to convert, or refuse, 8-bit
// content for a peer without 8BITMIME). See mime.h.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "templating/mime.h"
#include "templating/mime_internal.h"

namespace templating {
namespace {

constexpr int kMaxDepth = 20;  // nesting of multiparts followed; deeper goes as is

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

using mime_detail::ascii_lower;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

struct Field {
  std::string_view name;
  std::string_view raw;  // with continuation lines and the final CRLF
};

// The fields of a header block (each ending CRLF; the block excludes the
// empty line).
std::vector<Field> fields_of(std::string_view header) {
  std::vector<Field> out;
  size_t pos = 0;
  while (pos < header.size()) {
    const size_t start = pos;
    for (;;) {
      size_t eol = header.find("\r\n", pos);
      pos = eol == std::string_view::npos ? header.size() : eol + 2;
      if (pos >= header.size() || (header[pos] != ' ' && header[pos] != '\t')) break;
    }
    std::string_view raw = header.substr(start, pos - start);
    size_t colon = raw.find(':');
    std::string_view name = colon == std::string_view::npos ? std::string_view() : raw.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    out.push_back({name, raw});
  }
  return out;
}

// The unfolded value of the first field named `name`, or "".
std::string value_of(const std::vector<Field>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (!iequals(f.name, name)) continue;
    std::string v;
    for (char c : f.raw.substr(f.name.size() + 1))
      if (c != '\r' && c != '\n') v.push_back(c);
    return v;
  }
  return {};
}

// The parameter `param` of a structured value ("multipart/mixed;
// boundary="b1""), unquoted; "" if absent.
std::string param_of(std::string_view value, std::string_view param) {
  size_t pos = 0;
  while ((pos = value.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) return {};
    std::string_view name = value.substr(pos, eq - pos);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    size_t v = eq + 1;
    while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
    std::string out;
    if (v < value.size() && value[v] == '"') {
      for (++v; v < value.size() && value[v] != '"'; ++v) {
        if (value[v] == '\\' && v + 1 < value.size()) ++v;
        out.push_back(value[v]);
      }
    } else {
      while (v < value.size() && value[v] != ';' && value[v] != ' ' && value[v] != '\t') out.push_back(value[v++]);
    }
    if (iequals(name, param)) return out;
    pos = v;
  }
  return {};
}

std::string media_type(const std::vector<Field>& fields) {
  std::string ct = value_of(fields, "Content-Type");
  std::string t = ct.substr(0, ct.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  size_t lead = 0;
  while (lead < t.size() && (t[lead] == ' ' || t[lead] == '\t')) ++lead;
  t.erase(0, lead);
  for (char& c : t) c = ascii_lower(c);
  return t.empty() ? "text/plain" : t;
}

bool entity(std::string_view header, std::string_view body, bool top, int depth, std::string& out);

// A multipart body: delimiter lines kept, each part converted.
bool multipart(std::string_view body, const std::string& boundary, int depth, std::string& out) {
  const std::string dash = "--" + boundary;
  bool changed = false;
  // Delimiter lines: "--boundary" at a line start, optionally "--", then
  // optional WSP, then CRLF (RFC 2046 §5.1.1).
  auto is_delim = [&](size_t at, bool* close, size_t* line_end) {
    if (body.compare(at, dash.size(), dash) != 0) return false;
    size_t p = at + dash.size();
    *close = body.compare(p, 2, "--") == 0;
    if (*close) p += 2;
    while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;
    if (p == body.size()) {
      *line_end = p;
      return true;
    }
    if (body.compare(p, 2, "\r\n") != 0) return false;
    *line_end = p + 2;
    return true;
  };
  size_t pos = 0;
  size_t part_start = std::string_view::npos;  // after the opening delimiter line
  for (;;) {
    // Next line start at or after pos that is a delimiter.
    size_t at = pos;
    bool close = false;
    size_t line_end = 0;
    bool found = false;
    while (at <= body.size()) {
      if ((at == 0 || (at >= 2 && body[at - 2] == '\r' && body[at - 1] == '\n')) && is_delim(at, &close, &line_end)) {
        found = true;
        break;
      }
      size_t nl = body.find("\r\n", at);
      if (nl == std::string_view::npos) break;
      at = nl + 2;
    }
    if (!found) {
      // No (more) delimiters: the rest goes as is (an unterminated
      // multipart is not ours to fix).
      out.append(body.substr(part_start == std::string_view::npos ? 0 : part_start));
      return changed;
    }
    if (part_start == std::string_view::npos) {
      out.append(body.substr(0, line_end));  // preamble and the first delimiter
    } else if (at < part_start + 2) {
      // A delimiter right after the previous one: no part, not even its CRLF.
      out.append(body.substr(part_start, line_end - part_start));
    } else {
      // The part ends before the CRLF that precedes the delimiter.
      const size_t part_end = at - 2;
      std::string_view part = body.substr(part_start, part_end - part_start);
      size_t sep = part.starts_with("\r\n") ? 0 : part.find("\r\n\r\n");
      if (sep == std::string_view::npos) {
        out.append(part);
      } else {
        const size_t hlen = sep == 0 ? 0 : sep + 2;
        const size_t blen_start = sep == 0 ? 2 : sep + 4;
        changed |= entity(part.substr(0, hlen), part.substr(blen_start), false, depth + 1, out);
      }
      out.append(body.substr(part_end, line_end - part_end));  // CRLF + delimiter line
    }
    part_start = line_end;
    pos = line_end;
    if (close) {
      out.append(body.substr(line_end));  // epilogue
      return changed;
    }
  }
}

bool entity(std::string_view header, std::string_view body, bool top, int depth, std::string& out) {
  const auto fields = fields_of(header);
  const std::string type = media_type(fields);
  if (type.starts_with("multipart/") && depth < kMaxDepth) {
    const std::string boundary = param_of(value_of(fields, "Content-Type"), "boundary");
    if (!boundary.empty() && boundary.size() <= 70) {
      out.append(header).append("\r\n");
      return multipart(body, boundary, depth, out);
    }
  }
  std::string cte = value_of(fields, "Content-Transfer-Encoding");
  cte.erase(std::remove_if(cte.begin(), cte.end(), [](char c) { return c == ' ' || c == '\t'; }), cte.end());
  for (char& c : cte) c = ascii_lower(c);
  // message/* must not be encoded (RFC 2046 §5.2.1), and 8-bit bytes in an
  // already encoded body are not ours to reinterpret: both go as they are.
  const bool encodable = !type.starts_with("message/") && !type.starts_with("multipart/") &&
                         (cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary");
  if (!encodable || !has_8bit(body)) {
    out.append(header).append("\r\n").append(body);
    return false;
  }
  bool had_version = false;
  for (const auto& f : fields) {
    if (iequals(f.name, "Content-Transfer-Encoding")) continue;
    had_version = had_version || iequals(f.name, "MIME-Version");
    out.append(f.raw);
  }
  if (top && !had_version) out.append("MIME-Version: 1.0\r\n");
  out.append("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
  quoted_printable(body, out);
  if (body.ends_with("\r\n") && !out.ends_with("\r\n")) out.append("\r\n");
  return true;
}

}  // namespace

bool downgrade_8bit_body(std::string_view message, std::string& out) {
  size_t sep = message.starts_with("\r\n") ? 0 : message.find("\r\n\r\n");
  if (sep == std::string_view::npos || !has_8bit(message)) return false;
  std::string result;
  result.reserve(message.size() + message.size() / 8);
  const size_t hlen = sep == 0 ? 0 : sep + 2;
  const size_t bstart = sep == 0 ? 2 : sep + 4;
  if (!entity(message.substr(0, hlen), message.substr(bstart), true, 0, result)) return false;
  out = std::move(result);
  return true;
}

}  // namespace templating
