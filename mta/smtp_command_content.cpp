// mta/smtp_command_content.cpp: the DATA decoder, the BDAT line-ending
// check, base64 and SASL PLAIN (see smtp_command.h).
#include "mta/smtp_command.h"

namespace mta {

// Decoded bytes are counted always and kept only while the total fits, so
// an oversized message costs the limit in memory, not its size.
void DataDecoder::emit(std::string& out, std::string_view bytes) {
  size_ += bytes.size();
  if (size_ <= max_bytes_) out.append(bytes);
}

// The states, by what the previous bytes were:
//   kLineStart  a CRLF (or nothing: the data starts a line)
//   kDot        CRLF "."            -> the end if "\r\n" follows, else stuffing
//   kDotCr      CRLF ".\r"          -> the end if "\n" follows
//   kText       inside a line (a bare LF keeps us here: it ends no line)
//   kCr         a CR inside a line  -> a line end only if "\n" follows
size_t DataDecoder::feed(std::string_view in, std::string& out) {
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    const char c = in[i];
    switch (state_) {
      case State::kLineStart:
        if (c == '.') {
          state_ = State::kDot;
          ++i;
        } else {
          state_ = State::kText;
        }
        continue;
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++i;
        } else {
          state_ = State::kText;  // the dot was stuffing: dropped
        }
        continue;
      case State::kDotCr:
        if (c == '\n') {
          state_ = State::kDone;
          return i + 1;
        }
        // ".\r" and no LF: the dot was stuffing, the CR is bare.
        bare_ = true;
        emit(out, "\r");
        state_ = State::kText;
        continue;
      case State::kText: {
        size_t j = i;
        while (j < n && in[j] != '\r' && in[j] != '\n') ++j;
        if (j > i) emit(out, in.substr(i, j - i));
        i = j;
        if (i == n) continue;
        if (in[i] == '\r') {
          state_ = State::kCr;
        } else {
          bare_ = true;
          emit(out, "\n");
        }
        ++i;
        continue;
      }
      case State::kCr:
        if (c == '\n') {
          emit(out, "\r\n");
          state_ = State::kLineStart;
          ++i;
          continue;
        }
        bare_ = true;
        emit(out, "\r");
        if (c == '\r') {
          ++i;  // another CR: still waiting for its LF
        } else {
          state_ = State::kText;
        }
        continue;
      case State::kDone:
        return i;
    }
  }
  return n;
}

void LineEndingCheck::feed(std::string_view chunk) noexcept {
  for (char c : chunk) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') continue;
      bare_ = true;
    }
    if (c == '\r') {
      pending_cr_ = true;
    } else if (c == '\n') {
      bare_ = true;
    }
  }
}

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = base64_value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const uint32_t w = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) |
                       uint32_t(v[3]);
    out.push_back(char(w >> 16));
    if (pad < 2) out.push_back(char((w >> 8) & 0xff));
    if (pad < 1) out.push_back(char(w & 0xff));
  }
  return out;
}

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t w = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint32_t(uint8_t(bytes[i + 2]));
    out.push_back(kAlphabet[(w >> 18) & 63]);
    out.push_back(kAlphabet[(w >> 12) & 63]);
    out.push_back(kAlphabet[(w >> 6) & 63]);
    out.push_back(kAlphabet[w & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t w = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) w |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(w >> 18) & 63]);
    out.push_back(kAlphabet[(w >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(w >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<PlainCredentials> decode_sasl_plain(std::string_view base64) {
  auto raw = decode_base64(base64);
  if (!raw) return std::nullopt;
  const std::string_view s = *raw;
  const size_t a = s.find('\0');
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = s.find('\0', a + 1);
  if (b == std::string_view::npos || s.find('\0', b + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  PlainCredentials c;
  c.authzid = std::string(s.substr(0, a));
  c.user = std::string(s.substr(a + 1, b - a - 1));
  c.password = std::string(s.substr(b + 1));
  if (c.user.empty() || c.password.empty()) return std::nullopt;
  return c;
}

}  // namespace mta
