// api/routes_unsubscribe.cpp: the one-click unsubscribe link of bulk email
// (RFC 8058) and its page.
//
//   GET  /u/{token}   HTML: what the link would do, and a confirm button
//                     (a form POSTing confirm=1 to the same link)
//   POST /u/{token}   List-Unsubscribe=One-Click (urlencoded or multipart,
//                     what mailbox providers send): unsubscribed at once,
//                     200 text/plain, no page, no redirect;
//                     confirm=1 (our page's button): the same, and a page
//                     saying it is done; anything else: 400
//
// No key, no cookie: the token is the credential (templating/token.h: HMAC
// sealed; engine::Engine::read_unsubscribe opens it). A token that does not
// open is answered 404 with a page that says the link is not valid and
// nothing about why. Unsubscribing is idempotent: a second POST answers
// 200 again (and refreshes the entry's time). The engine logs every
// unsubscribe; the answer goes out once it is durable.
//
// GET never changes anything: link scanners and previews fetch links in
// mail, and an unsubscribe on GET would unsubscribe people who never asked
// (RFC 8058 section 1 is about exactly that).
#include "api/bridge.h"
#include "api/response.h"
#include "api/routes.h"
#include "api/unsubscribe_page.h"
#include "core/log.h"
#include "engine/engine.h"

namespace api {

namespace {

constexpr std::string_view kDefaultPath = "/u/";

Response page(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = kHtmlType;
  r.body = std::move(body);
  return r;
}

Response text(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = kTextType;
  r.body = std::move(body);
  return r;
}

// Where the confirm button posts: the path of email.unsubscribe_url (the
// link as mailed, which a reverse proxy may serve under another prefix
// than ours) followed by the token, else /u/{token}. A path, not an
// absolute URL: the page posts back to the host it came from.
std::string form_action(const Services& s, std::string_view token) {
  std::string_view base = s.config->email.unsubscribe_url;
  std::string_view path = kDefaultPath;
  if (const size_t scheme = base.find("://"); scheme != std::string_view::npos) {
    base.remove_prefix(scheme + 3);
    if (const size_t slash = base.find('/'); slash != std::string_view::npos) {
      path = base.substr(slash);
      path = path.substr(0, path.find_first_of("?#"));
    }
  }
  std::string out(path);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(token);
  return out;
}

// ---- the POST body -----------------------------------------------------------

enum class Ask : uint8_t { kNothing, kOneClick, kConfirm };

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// The request a form field makes, if any. Names and values are compared
// without regard to case: "list-unsubscribe=one-click" means the same.
Ask ask_of(std::string_view name, std::string_view value) noexcept {
  if (iequals(name, "List-Unsubscribe") && iequals(value, "One-Click")) return Ask::kOneClick;
  if (name == "confirm" && value == "1") return Ask::kConfirm;
  return Ask::kNothing;
}

Ask stronger(Ask a, Ask b) noexcept {
  // One-click wins: a provider's POST must never be answered with a page.
  if (a == Ask::kOneClick || b == Ask::kOneClick) return Ask::kOneClick;
  return a == Ask::kConfirm || b == Ask::kConfirm ? Ask::kConfirm : Ask::kNothing;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded ('+' is a space here, as forms
// encode). A malformed escape spoils only its own field.
bool form_decode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out->push_back(' ');
    } else if (in[i] != '%') {
      out->push_back(in[i]);
    } else {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return true;
}

Ask parse_urlencoded(std::string_view body) {
  Ask ask = Ask::kNothing;
  std::string name, value;
  body = trim(body);  // some senders end the body with CRLF
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (!form_decode(pair.substr(0, eq), &name) || !form_decode(pair.substr(eq + 1), &value)) {
      continue;
    }
    ask = stronger(ask, ask_of(trim(name), trim(value)));
  }
  return ask;
}

// The value of parameter `key` in a header's parameter list
// ("; boundary=xyz", "; name=\"List-Unsubscribe\""), unquoted.
std::string_view header_param(std::string_view params, std::string_view key) {
  while (!params.empty()) {
    const size_t semi = params.find(';');
    const std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    const size_t eq = p.find('=');
    if (eq == std::string_view::npos || !iequals(trim(p.substr(0, eq)), key)) continue;
    std::string_view v = trim(p.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return {};
}

// multipart/form-data (RFC 7578): each part's Content-Disposition names
// the field; its content is the value. Line ends may be CRLF or bare LF.
Ask parse_multipart(std::string_view body, std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70) return Ask::kNothing;
  const std::string delimiter = "--" + std::string(boundary);
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return Ask::kNothing;
  Ask ask = Ask::kNothing;
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // the close delimiter
    const size_t next = body.find(delimiter, pos);
    if (next == std::string_view::npos) break;
    std::string_view part = body.substr(pos, next - pos);
    pos = next;
    // The part: CRLF, header lines, an empty line, the content, CRLF.
    size_t head_end = part.find("\r\n\r\n");
    size_t sep = 4;
    if (head_end == std::string_view::npos) {
      head_end = part.find("\n\n");
      sep = 2;
    }
    if (head_end == std::string_view::npos) continue;
    std::string_view headers = part.substr(0, head_end);
    const std::string_view content = trim(part.substr(head_end + sep));
    std::string_view name;
    while (!headers.empty()) {
      const size_t eol = headers.find('\n');
      const std::string_view line = trim(headers.substr(0, eol));
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 1);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos ||
          !iequals(trim(line.substr(0, colon)), "Content-Disposition")) {
        continue;
      }
      const std::string_view value = line.substr(colon + 1);
      const size_t semi = value.find(';');
      if (semi == std::string_view::npos || !iequals(trim(value.substr(0, semi)), "form-data")) {
        continue;
      }
      name = header_param(value.substr(semi + 1), "name");
    }
    ask = stronger(ask, ask_of(name, content));
  }
  return ask;
}

// What the body asks for. Multipart when the Content-Type says so; any
// other type (or none) is read as urlencoded, which is what RFC 8058's
// example sends and what a form posts.
Ask parse_body(std::string_view content_type, std::string_view body) {
  const size_t semi = content_type.find(';');
  if (iequals(trim(content_type.substr(0, semi)), "multipart/form-data")) {
    if (semi == std::string_view::npos) return Ask::kNothing;
    return parse_multipart(body, header_param(content_type.substr(semi + 1), "boundary"));
  }
  return parse_urlencoded(body);
}

Response not_valid(Ask ask, PageLanguage lang) {
  if (ask == Ask::kOneClick) return text(404, "not found: this unsubscribe link is not valid\n");
  return page(404, invalid_link_page(lang));
}

Response try_later(Ask ask, PageLanguage lang) {
  if (ask == Ask::kOneClick) return text(503, "try again later\n");
  return page(503, try_later_page(lang));
}

}  // namespace

Response unsubscribe_page(Services& s, const Request& req) {
  const PageLanguage lang = page_language(req.accept_language);
  auto token = s.engine.read_unsubscribe(req.param);
  if (!token) {
    if (token.error().code != core::Errc::kInvalidArgument) {
      core::log::error("unsubscribe page: cannot open tokens",
                       {{"error", token.error().to_string()}});
      return page(503, try_later_page(lang));
    }
    return page(404, invalid_link_page(lang));
  }
  return page(200, confirm_page(lang, *token, form_action(s, req.param)));
}

boost::asio::awaitable<Response> unsubscribe(Services& s, const Request& req) {
  const PageLanguage lang = page_language(req.accept_language);
  const Ask ask = parse_body(req.content_type, req.body);
  // The token first: a forged link is 404 whatever its body says.
  if (auto t = s.engine.read_unsubscribe(req.param); !t) {
    if (t.error().code != core::Errc::kInvalidArgument) {
      core::log::error("unsubscribe: cannot open tokens", {{"error", t.error().to_string()}});
      co_return try_later(ask, lang);
    }
    co_return not_valid(ask, lang);
  }
  if (ask == Ask::kNothing) {
    co_return text(400,
                   "expected the form field List-Unsubscribe=One-Click (RFC 8058) "
                   "or confirm=1\n");
  }

  const std::string token(req.param);
  const std::string how = ask == Ask::kOneClick ? "one-click" : "page";
  auto answer = co_await await_callback<core::Result<engine::UnsubscribeToken>>(
      [&s, &token, &how](std::function<void(core::Result<engine::UnsubscribeToken>)> done) {
        s.engine.unsubscribe(token, how, std::move(done));
      },
      spool_deadline(s));
  if (!answer) co_return try_later(ask, lang);
  if (!*answer) {
    if (answer->error().code == core::Errc::kInvalidArgument) co_return not_valid(ask, lang);
    core::log::warn("unsubscribe not stored", {{"error", answer->error().to_string()}});
    co_return try_later(ask, lang);
  }
  if (ask == Ask::kOneClick) co_return text(200, "unsubscribed\n");
  co_return page(200, done_page(lang, **answer));
}

}  // namespace api
