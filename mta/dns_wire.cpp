// mta/dns_wire.cpp: see dns_wire.h.
#include "mta/dns_wire.h"

#include <array>
#include <optional>

namespace mta::dns_wire {

namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameOctets = 255;  // RFC 1035 §2.3.4, wire form

core::Error malformed(std::string what) {
  return core::invalid_argument("dns", "malformed DNS message: " + std::move(what));
}

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t pos() const { return pos_; }
  size_t size() const { return bytes_.size(); }
  bool has(size_t n) const { return pos_ <= bytes_.size() && bytes_.size() - pos_ >= n; }

  std::optional<uint8_t> u8() {
    if (!has(1)) return std::nullopt;
    return bytes_[pos_++];
  }
  std::optional<uint16_t> u16() {
    if (!has(2)) return std::nullopt;
    uint16_t v = static_cast<uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::optional<uint32_t> u32() {
    if (!has(4)) return std::nullopt;
    uint32_t v = (uint32_t{bytes_[pos_]} << 24) | (uint32_t{bytes_[pos_ + 1]} << 16) |
                 (uint32_t{bytes_[pos_ + 2]} << 8) | uint32_t{bytes_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  bool skip(size_t n) {
    if (!has(n)) return false;
    pos_ += n;
    return true;
  }
  void seek(size_t p) { pos_ = p; }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

void append_label_octet(std::string& out, uint8_t c) {
  if (c >= 'A' && c <= 'Z') {
    out.push_back(static_cast<char>(c - 'A' + 'a'));
  } else if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
    out.push_back(static_cast<char>(c));
  } else {
    char buf[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + c / 10 % 10),
                   static_cast<char>('0' + c % 10), 0};
    out.append(buf, 4);
  }
}

// Reads a possibly compressed name at the reader's position and leaves the
// reader after the name as it appears in place (after the first pointer, if
// any). Pointers must point strictly before the position they are read at,
// so decoding always terminates without a jump counter.
core::Result<std::string> read_name(Reader& r) {
  std::span<const uint8_t> b = r.bytes();
  size_t p = r.pos();
  std::optional<size_t> resume;  // where the reader continues after a pointer
  size_t octets = 1;             // the root label's length octet
  std::string name;
  for (;;) {
    if (p >= b.size()) return malformed("name runs past the end");
    const uint8_t len = b[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= b.size()) return malformed("truncated compression pointer");
      const size_t target = (static_cast<size_t>(len & 0x3F) << 8) | b[p + 1];
      if (target >= p) return malformed("compression pointer does not point backwards");
      if (!resume) resume = p + 2;
      p = target;
      continue;
    }
    if ((len & 0xC0) != 0) return malformed("unsupported label type");
    if (len == 0) {
      r.seek(resume ? *resume : p + 1);
      return name;
    }
    octets += 1 + len;
    if (octets > kMaxNameOctets) return malformed("name longer than 255 octets");
    if (p + 1 + len > b.size()) return malformed("label runs past the end");
    if (!name.empty()) name.push_back('.');
    for (size_t i = 0; i < len; ++i) append_label_octet(name, b[p + 1 + i]);
    p += 1 + len;
  }
}

core::Status read_rdata(Reader& r, Record& rec, size_t rdlength) {
  const size_t start = r.pos();
  const size_t end = start + rdlength;
  switch (rec.type) {
    case kTypeA: {
      if (rec.rclass != kClassIn) break;
      if (rdlength != 4) return malformed("A record RDATA is not 4 octets");
      boost::asio::ip::address_v4::bytes_type a;
      for (auto& o : a) o = *r.u8();
      rec.address = boost::asio::ip::address_v4(a);
      return {};
    }
    case kTypeAaaa: {
      if (rec.rclass != kClassIn) break;
      if (rdlength != 16) return malformed("AAAA record RDATA is not 16 octets");
      boost::asio::ip::address_v6::bytes_type a;
      for (auto& o : a) o = *r.u8();
      rec.address = boost::asio::ip::address_v6(a);
      return {};
    }
    case kTypeMx: {
      auto pref = r.u16();
      if (!pref || r.pos() > end) return malformed("MX RDATA too short");
      rec.preference = *pref;
      auto name = read_name(r);
      if (!name) return name.error();
      if (r.pos() != end) return malformed("MX exchange does not fill its RDATA");
      rec.target = std::move(*name);
      return {};
    }
    case kTypeCname: {
      auto name = read_name(r);
      if (!name) return name.error();
      if (r.pos() != end) return malformed("CNAME target does not fill its RDATA");
      rec.target = std::move(*name);
      return {};
    }
    case kTypeSoa: {
      // MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM.
      for (int i = 0; i < 2; ++i) {
        auto name = read_name(r);
        if (!name) return name.error();
      }
      if (!r.skip(16)) return malformed("SOA RDATA too short");
      auto minimum = r.u32();
      if (!minimum || r.pos() != end) return malformed("SOA RDATA length mismatch");
      rec.soa_minimum = *minimum;
      return {};
    }
    default:
      break;
  }
  r.seek(end);
  return {};
}

}  // namespace

core::Result<Message> parse_message(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  if (!r.has(kHeaderSize)) return malformed("shorter than the 12-octet header");
  Message m;
  m.id = *r.u16();
  const uint16_t flags = *r.u16();
  m.response = (flags & 0x8000) != 0;
  m.truncated = (flags & 0x0200) != 0;
  m.rcode = static_cast<uint8_t>(flags & 0x000F);
  const uint16_t qdcount = *r.u16();
  const std::array<uint16_t, 3> counts = {*r.u16(), *r.u16(), *r.u16()};

  for (uint16_t i = 0; i < qdcount; ++i) {
    auto name = read_name(r);
    if (!name) return name.error();
    if (!r.skip(4)) return malformed("question runs past the end");
  }
  for (size_t s = 0; s < counts.size(); ++s) {
    for (uint16_t i = 0; i < counts[s]; ++i) {
      Record rec;
      rec.section = static_cast<Section>(s);
      auto owner = read_name(r);
      if (!owner) return owner.error();
      rec.owner = std::move(*owner);
      auto type = r.u16();
      auto rclass = r.u16();
      auto ttl = r.u32();
      auto rdlength = r.u16();
      if (!rdlength) return malformed("record header runs past the end");
      if (!r.has(*rdlength)) return malformed("RDATA runs past the end");
      rec.type = *type;
      rec.rclass = *rclass;
      rec.ttl = (*ttl & 0x80000000u) != 0 ? 0 : *ttl;
      auto st = read_rdata(r, rec, *rdlength);
      if (!st) return st.error();
      m.records.push_back(std::move(rec));
    }
  }
  return m;
}

}  // namespace mta::dns_wire
