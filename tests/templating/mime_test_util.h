// tests/templating/mime_test_util.h: independent decoders and RFC 5322
// line checks shared by mime_test.cpp and mime_header_test.cpp (written
// here, not borrowed from the encoder, so the tests can catch it).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace templating::mime_testing {

// ---------------------------------------------------------------------------
// Independent decoders

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

inline std::string decode_base64(std::string_view in) {
  static const std::string kAlpha =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\r' || c == '\n') continue;
    size_t v = kAlpha.find(c);
    if (v == std::string::npos) {
      ADD_FAILURE() << "bad base64 char " << int(c);
      return out;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// RFC 2045 §6.7 decoding; fails the test on malformed input.
inline std::string decode_qp(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '=') {
      if (in.substr(i, 3) == "=\r\n") {
        i += 3;
        continue;
      }
      int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (in[i + 1] >= 'a') || (in[i + 2] >= 'a')) {
        ADD_FAILURE() << "bad QP escape at " << i;
        return out;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 3;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

inline std::string crlf_to_lf(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}

// Any of CRLF, CR, LF -> LF (what a decoded body should equal).
inline std::string normalise_breaks(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

inline bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

struct EncodedWordInfo {
  std::string text;
  bool ok = false;
};

// "=?UTF-8?B?...?=" or "?Q?" -> bytes.
inline EncodedWordInfo decode_encoded_word(std::string_view w) {
  EncodedWordInfo r;
  if (w.size() < 12 || w.substr(0, 8) != "=?UTF-8?" || w.substr(w.size() - 2) != "?=" || w[9] != '?') {
    return r;
  }
  std::string_view payload = w.substr(10, w.size() - 12);
  if (w[8] == 'B') {
    r.text = decode_base64(payload);
  } else if (w[8] == 'Q') {
    for (size_t i = 0; i < payload.size(); ++i) {
      if (payload[i] == '_') {
        r.text.push_back(' ');
      } else if (payload[i] == '=') {
        if (i + 2 >= payload.size()) return r;
        r.text.push_back(static_cast<char>(hex_value(payload[i + 1]) * 16 + hex_value(payload[i + 2])));
        i += 2;
      } else {
        r.text.push_back(payload[i]);
      }
    }
  } else {
    return r;
  }
  r.ok = true;
  return r;
}

// Unfolds and decodes an unstructured value: whitespace between two
// adjacent encoded-words is dropped, all other whitespace kept.
inline std::string decode_unstructured(std::string_view folded, std::vector<std::string>* words = nullptr) {
  std::string unfolded;
  for (size_t i = 0; i < folded.size(); ++i) {
    if (folded.substr(i, 2) == "\r\n") {
      ++i;
      continue;
    }
    unfolded.push_back(folded[i]);
  }
  std::string out;
  std::string pending_ws;
  bool last_was_ew = false;
  size_t i = 0;
  while (i < unfolded.size()) {
    size_t j = i;
    while (j < unfolded.size() && (unfolded[j] == ' ' || unfolded[j] == '\t')) ++j;
    pending_ws = unfolded.substr(i, j - i);
    if (j == unfolded.size()) {
      out += pending_ws;
      break;
    }
    size_t k = j;
    while (k < unfolded.size() && unfolded[k] != ' ' && unfolded[k] != '\t') ++k;
    std::string_view word = std::string_view(unfolded).substr(j, k - j);
    auto ew = decode_encoded_word(word);
    if (ew.ok) {
      if (words) words->emplace_back(word);
      if (!last_was_ew) out += pending_ws;
      out += ew.text;
    } else {
      out += pending_ws;
      out += word;
    }
    last_was_ew = ew.ok;
    i = k;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Message structure helpers

struct Header {
  std::string name;
  std::string value;  // raw, folded (CRLF + WSP kept), without the final CRLF
};

struct Parsed {
  std::vector<Header> headers;
  std::string body;
};

inline Parsed split_message(std::string_view msg) {
  Parsed p;
  size_t end = msg.find("\r\n\r\n");
  EXPECT_NE(end, std::string_view::npos);
  std::string_view head = msg.substr(0, end + 2);
  p.body = std::string(msg.substr(end + 4));
  size_t i = 0;
  while (i < head.size()) {
    size_t eol = head.find("\r\n", i);
    std::string_view line = head.substr(i, eol - i);
    if (line[0] == ' ' || line[0] == '\t') {
      EXPECT_FALSE(p.headers.empty());
      p.headers.back().value += "\r\n";
      p.headers.back().value += line;
    } else {
      size_t colon = line.find(':');
      EXPECT_NE(colon, std::string_view::npos) << line;
      Header h;
      h.name = std::string(line.substr(0, colon));
      std::string_view v = line.substr(colon + 1);
      if (!v.empty() && v[0] == ' ') v.remove_prefix(1);
      h.value = std::string(v);
      p.headers.push_back(std::move(h));
    }
    i = eol + 2;
  }
  return p;
}

inline const Header* find_header(const Parsed& p, std::string_view name) {
  for (const auto& h : p.headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

// RFC 5322 line rules over a whole message: CRLF only, every line at most
// 998 octets, header lines at most `header_limit`, 7-bit clean.
inline void expect_wellformed(std::string_view msg, size_t header_limit = 78) {
  ASSERT_GE(msg.size(), 2u);
  EXPECT_EQ(msg.substr(msg.size() - 2), "\r\n");
  bool in_headers = true;
  size_t start = 0;
  while (start < msg.size()) {
    size_t eol = msg.find("\r\n", start);
    ASSERT_NE(eol, std::string_view::npos) << "unterminated last line";
    std::string_view line = msg.substr(start, eol - start);
    EXPECT_EQ(line.find('\r'), std::string_view::npos) << "bare CR in: " << line;
    EXPECT_EQ(line.find('\n'), std::string_view::npos) << "bare LF in: " << line;
    EXPECT_LE(line.size(), 998u);
    if (in_headers) {
      if (line.empty()) {
        in_headers = false;
      } else {
        EXPECT_LE(line.size(), header_limit) << line;
        EXPECT_NE(line.find_first_not_of(" \t"), std::string_view::npos) << "whitespace-only header line";
      }
    }
    for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "8-bit octet in output";
    start = eol + 2;
  }
}

inline void expect_header_lines_within(std::string_view value, size_t first_offset, size_t limit) {
  size_t start = 0, offset = first_offset;
  for (;;) {
    size_t eol = value.find("\r\n", start);
    std::string_view line = value.substr(start, eol == std::string_view::npos ? eol : eol - start);
    EXPECT_LE(offset + line.size(), limit) << "line: " << line;
    EXPECT_EQ(line.find_first_of("\r\n"), std::string_view::npos);
    if (eol == std::string_view::npos) break;
    EXPECT_TRUE(value.size() > eol + 2 && (value[eol + 2] == ' ' || value[eol + 2] == '\t'))
        << "fold not followed by WSP";
    start = eol + 2;
    offset = 0;
  }
}

inline ComposeOptions basic_options() {
  ComposeOptions o;
  o.from = {"Vestnik", "noreply@mail.example.com"};
  o.to = {"", "student@example.org"};
  o.message_id = make_message_id("01JD3M6X5N8Q2ZK4Y7W9B0C1DE", "mail.example.com");
  o.date = core::from_unix_ms(1'790'000'000'000);
  return o;
}

// Body of a part (or the single body) decoded per its transfer encoding.
inline std::string decode_body(std::string_view cte, std::string_view body) {
  if (cte == "base64") return decode_base64(body);
  if (cte == "quoted-printable") return decode_qp(body);
  return std::string(body);
}

struct Part {
  std::string content_type;
  std::string cte;
  std::string decoded;  // CRLF kept
};

// Splits a composed message into its parts (one for single-part messages).
inline std::vector<Part> parts_of(std::string_view msg) {
  Parsed p = split_message(msg);
  std::vector<Part> parts;
  const Header* ct = find_header(p, "Content-Type");
  if (ct == nullptr) {
    ADD_FAILURE() << "no Content-Type";
    return parts;
  }
  if (ct->value.rfind("multipart/alternative", 0) != 0) {
    const Header* cte = find_header(p, "Content-Transfer-Encoding");
    std::string body = p.body;
    // compose() picks 7bit for a single part only when the text ends with a
    // line break, so the body's final CRLF is text (QP ends with "=" CRLF).
    parts.push_back({ct->value, cte ? cte->value : "", decode_body(cte ? cte->value : "", body)});
    return parts;
  }
  size_t q = ct->value.find("boundary=\"");
  std::string boundary = ct->value.substr(q + 10, ct->value.find('"', q + 10) - q - 10);
  std::string delim = "--" + boundary;
  EXPECT_EQ(p.body.rfind(delim + "\r\n", 0), 0u) << "body must start with the first delimiter";
  size_t pos = delim.size() + 2;
  for (;;) {
    size_t next = p.body.find("\r\n" + delim, pos);
    if (next == std::string::npos) {
      ADD_FAILURE() << "unterminated multipart";
      break;
    }
    std::string part_text = p.body.substr(pos, next - pos);
    Parsed pp = split_message(part_text);
    const Header* pct = find_header(pp, "Content-Type");
    const Header* pcte = find_header(pp, "Content-Transfer-Encoding");
    parts.push_back({pct ? pct->value : "", pcte ? pcte->value : "",
                     decode_body(pcte ? pcte->value : "", pp.body)});
    size_t after = next + 2 + delim.size();
    if (p.body.substr(after, 4) == "--\r\n") {
      EXPECT_EQ(after + 4, p.body.size()) << "text after the close delimiter";
      break;
    }
    EXPECT_EQ(p.body.substr(after, 2), "\r\n");
    pos = after + 2;
  }
  return parts;
}

}  // namespace templating::mime_testing
