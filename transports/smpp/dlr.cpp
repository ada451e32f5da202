// transports/smpp/dlr.cpp: see dlr.h.
//
// The text is scanned for the known keys only ("id", "sub", "dlvrd",
// "submit date", "done date", "stat", "err", "text"), each at the start or
// after a space and followed by ':'. A value runs to the next known key, so
// an SMSC that drops a field or adds one of its own does not shift the
// others; "text" runs to the end, because the echoed message may contain
// anything, including "id:".
#include "transports/smpp/dlr.h"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace transports::smpp {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n' ||
                        s.front() == '\0'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n' ||
                        s.back() == '\0'))
    s.remove_suffix(1);
  return s;
}

enum Key { kId, kSub, kDlvrd, kSubmitDate, kDoneDate, kStat, kErr, kText, kKeyCount };
constexpr std::string_view kKeys[kKeyCount] = {"id", "sub", "dlvrd", "submit date", "done date",
                                               "stat", "err", "text"};

// If a known key starts at `pos` (followed by optional blanks and ':'),
// returns it and sets *value_start past the ':'.
int key_at(std::string_view s, size_t pos, size_t* value_start) {
  for (int k = 0; k < kKeyCount; ++k) {
    const std::string_view key = kKeys[k];
    if (s.size() - pos < key.size() || !iequal(s.substr(pos, key.size()), key)) continue;
    size_t p = pos + key.size();
    while (p < s.size() && s[p] == ' ') ++p;
    if (p < s.size() && s[p] == ':') {
      *value_start = p + 1;
      return k;
    }
  }
  return -1;
}

std::optional<uint64_t> parse_u64(std::string_view s, int base) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f'); }

}  // namespace

MessageState parse_stat(std::string_view stat) noexcept {
  stat = trim(stat);
  struct Word {
    std::string_view word;
    MessageState state;
  };
  static constexpr Word kWords[] = {
      {"DELIVRD", MessageState::kDelivered},   {"DELIVERED", MessageState::kDelivered},
      {"EXPIRED", MessageState::kExpired},     {"DELETED", MessageState::kDeleted},
      {"UNDELIV", MessageState::kUndeliverable}, {"UNDELIVERABLE", MessageState::kUndeliverable},
      {"ACCEPTD", MessageState::kAccepted},    {"ACCEPTED", MessageState::kAccepted},
      {"UNKNOWN", MessageState::kUnknownState}, {"REJECTD", MessageState::kRejected},
      {"REJECTED", MessageState::kRejected},   {"ENROUTE", MessageState::kEnroute},
  };
  for (const Word& w : kWords)
    if (iequal(stat, w.word)) return w.state;
  return MessageState::kUnknown;
}

std::string_view stat_word(MessageState s) noexcept {
  switch (s) {
    case MessageState::kEnroute: return "ENROUTE";
    case MessageState::kDelivered: return "DELIVRD";
    case MessageState::kExpired: return "EXPIRED";
    case MessageState::kDeleted: return "DELETED";
    case MessageState::kUndeliverable: return "UNDELIV";
    case MessageState::kAccepted: return "ACCEPTD";
    case MessageState::kRejected: return "REJECTD";
    case MessageState::kUnknownState:
    case MessageState::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

bool is_final(MessageState s) noexcept {
  return s == MessageState::kDelivered || s == MessageState::kExpired || s == MessageState::kDeleted ||
         s == MessageState::kUndeliverable || s == MessageState::kRejected;
}

std::optional<core::TimePoint> parse_receipt_date(std::string_view text) noexcept {
  text = trim(text);
  if ((text.size() != 10 && text.size() != 12) || !all_of(text, is_dec)) return std::nullopt;
  auto two = [&](size_t i) { return (text[i] - '0') * 10 + (text[i + 1] - '0'); };
  const int yy = two(0), mo = two(2), dd = two(4), hh = two(6), mi = two(8);
  const int ss = text.size() == 12 ? two(10) : 0;
  if (mo < 1 || mo > 12 || dd < 1 || hh > 23 || mi > 59 || ss > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(2000 + yy), std::chrono::month(mo),
                                        std::chrono::day(dd)};
  if (!ymd.ok()) return std::nullopt;
  const auto day = std::chrono::sys_days(ymd);
  return core::TimePoint(day) + std::chrono::hours(hh) + std::chrono::minutes(mi) + std::chrono::seconds(ss);
}

core::Result<DeliveryReceipt> parse_receipt_text(std::string_view text) {
  struct Hit {
    int key;
    size_t key_start;
    size_t value_start;
  };
  std::vector<Hit> hits;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && text[i - 1] != ' ' && text[i - 1] != '\t') continue;
    size_t vs = 0;
    const int k = key_at(text, i, &vs);
    if (k < 0) continue;
    hits.push_back({k, i, vs});
    if (k == kText) break;  // the echoed text runs to the end
    i = vs - 1;
  }
  DeliveryReceipt r;
  bool have[kKeyCount] = {};
  for (size_t h = 0; h < hits.size(); ++h) {
    const size_t end = h + 1 < hits.size() ? hits[h + 1].key_start : text.size();
    const std::string_view raw = text.substr(hits[h].value_start, end - hits[h].value_start);
    const int k = hits[h].key;
    if (have[k]) continue;  // the first occurrence counts
    have[k] = true;
    const std::string_view v = k == kText ? raw : trim(raw);
    switch (k) {
      case kId: r.message_id = std::string(v); break;
      case kStat:
        r.stat = std::string(v);
        r.state = parse_stat(v);
        break;
      case kErr: r.err = std::string(v); break;
      case kSubmitDate: r.submit_date = parse_receipt_date(v); break;
      case kDoneDate: r.done_date = parse_receipt_date(v); break;
      case kText: r.text = std::string(v); break;
      default: break;  // sub, dlvrd: counts of a multi-recipient submit, unused
    }
  }
  if (!have[kId] && !have[kStat]) return core::invalid_argument("short_message", "not a delivery receipt text");
  return r;
}

core::Result<DeliveryReceipt> parse_receipt(const ShortMessage& m) {
  std::string_view text = m.short_message;
  if (text.empty()) {
    if (const Tlv* p = m.find_tlv(tlv::kMessagePayload)) text = p->value;
  }
  DeliveryReceipt r;
  if (auto parsed = parse_receipt_text(text)) r = std::move(*parsed);

  if (const Tlv* t = m.find_tlv(tlv::kReceiptedMessageId)) {
    // A C-octet string inside the TLV: stop at the NUL.
    std::string_view v = t->value;
    if (size_t nul = v.find('\0'); nul != std::string_view::npos) v = v.substr(0, nul);
    if (!trim(v).empty()) r.message_id = std::string(trim(v));
  }
  if (const Tlv* t = m.find_tlv(tlv::kMessageState); t && t->value.size() == 1) {
    const auto s = static_cast<uint8_t>(t->value[0]);
    if (s >= 1 && s <= 8) {
      r.state = static_cast<MessageState>(s);
      r.stat = std::string(stat_word(r.state));
    }
  }
  if (const Tlv* t = m.find_tlv(tlv::kNetworkErrorCode); t && t->value.size() == 3) {
    r.network_error_type = static_cast<uint8_t>(t->value[0]);
    r.network_error = static_cast<uint16_t>((static_cast<uint8_t>(t->value[1]) << 8) |
                                            static_cast<uint8_t>(t->value[2]));
    r.err = std::to_string(*r.network_error);
  }
  if (trim(r.message_id).empty()) return core::invalid_argument("receipted_message_id", "receipt without a message id");
  if (r.state == MessageState::kUnknown && r.stat.empty())
    return core::invalid_argument("message_state", "receipt without a state");
  return r;
}

std::vector<std::string> message_id_keys(std::string_view id) {
  std::string base;
  for (char c : trim(id)) base.push_back(lower(c));
  std::vector<std::string> keys{base};
  auto add = [&](std::string k) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
  };
  if (all_of(base, is_hex)) {
    if (auto v = parse_u64(base, 16)) add(std::to_string(*v));
  }
  if (all_of(base, is_dec)) {
    if (auto v = parse_u64(base, 10)) {
      char buf[17];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, *v, 16);
      if (ec == std::errc()) add(std::string(buf, p));
      // Leading zeros dropped but still decimal: "0000123" vs "123".
      add(std::to_string(*v));
    }
  }
  if (all_of(base, is_hex)) {
    // Hex with leading zeros: "00ab" vs "ab".
    if (auto v = parse_u64(base, 16)) {
      char buf[17];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, *v, 16);
      if (ec == std::errc()) add(std::string(buf, p));
    }
  }
  return keys;
}

std::string message_id_key(std::string_view id) { return message_id_keys(id).front(); }

bool same_message_id(std::string_view a, std::string_view b) {
  const auto ka = message_id_keys(a);
  const auto kb = message_id_keys(b);
  for (const auto& x : ka)
    for (const auto& y : kb)
      if (x == y && !x.empty()) return true;
  return false;
}

}  // namespace transports::smpp
