// mta/smtp_server_received.cpp: the Received trace header and the client
// address as the listener sees it (see smtp_server_session.h).
#include <cstdio>
#include <ctime>

#include "mta/smtp_server_session.h"

namespace mta::server {

boost::asio::ip::address normalize(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

std::string rfc5322_date(core::TimePoint t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  const int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                              kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                              tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf, n > 0 ? size_t(n) : 0);
}

std::string received_header(const ReceivedFacts& f) {
  // The client's name as it gave it, but never anything that would end the
  // header or open a comment: it is the one part the client chose.
  std::string helo;
  for (char c : f.helo) {
    const auto u = static_cast<unsigned char>(c);
    helo += (u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '\\' && c != ';') ? c : '?';
  }
  if (helo.empty()) helo = "unknown";
  // TCP-info is an address literal: [192.0.2.1] or [IPv6:2001:db8::1].
  const std::string literal =
      f.address.is_v6() ? "[IPv6:" + f.address.to_string() + "]" : "[" + f.address.to_string() + "]";
  // RFC 3848: SMTP for HELO; ESMTP, plus S for TLS and A for AUTH;
  // RFC 6531 §3.7.3: UTF8SMTP in place of ESMTP for an SMTPUTF8 transaction.
  std::string protocol = !f.esmtp ? "SMTP" : f.smtputf8 ? "UTF8SMTP" : "ESMTP";
  if (f.esmtp && f.tls) protocol += 'S';
  if (f.esmtp && f.auth) protocol += 'A';
  std::string h;
  h.reserve(128 + helo.size() + f.hostname.size());
  h += "Received: from ";
  h += helo;
  h += " (";
  h += literal;
  h += ")\r\n\tby ";
  h += f.hostname;
  h += " (vestnik) with ";
  h += protocol;
  h += ";\r\n\t";
  h += rfc5322_date(f.when);
  h += "\r\n";
  return h;
}

}  // namespace mta::server
