// api/unsubscribe_page.h: the pages of /u/{token} in Ukrainian, Russian
// and English, and the choice between them (private to api/).
//
// The pages are small, self-contained HTML5 documents: UTF-8, inline CSS,
// no script, no external resource, so they render the same in any browser
// and leak nothing to third parties (the session adds a CSP that enforces
// it). Every value shown (address, category, the form's action) is
// HTML-escaped; the texts themselves are constants of this module.
//
// Pure functions, no I/O; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/engine.h"

namespace api {

enum class PageLanguage : uint8_t { kUk, kRu, kEn };

// The page language for an Accept-Language header (RFC 9110 12.5.4): of
// uk, ru and en, the one with the highest q (matched by primary subtag:
// "uk-UA" is uk; "*" stands for the default), earlier in the header on a
// tie; uk (the marketplace is Ukrainian) when the header is absent, names
// none of them, or is malformed. q=0 excludes a language.
PageLanguage page_language(std::string_view accept_language) noexcept;
std::string_view language_tag(PageLanguage lang) noexcept;  // "uk", "ru", "en"

// `s` with & < > " ' replaced by character references.
std::string html_escape(std::string_view s);

// GET /u/{token}: what the link would do, and one button that POSTs
// confirm=1 to `action` (the link's own path).
std::string confirm_page(PageLanguage lang, const engine::UnsubscribeToken& t,
                         std::string_view action);
// After the confirm button: the unsubscribe is done.
std::string done_page(PageLanguage lang, const engine::UnsubscribeToken& t);
// 404: the link is not valid (forged, damaged, or made with another key);
// on purpose it does not say which.
std::string invalid_link_page(PageLanguage lang);
// 503: the unsubscribe could not be stored just now.
std::string try_later_page(PageLanguage lang);

}  // namespace api
