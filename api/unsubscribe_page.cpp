// api/unsubscribe_page.cpp: the texts and the HTML of the unsubscribe pages.
//
// Each language has one table of texts. A text holds {address} and
// {category} placeholders where the escaped values go, wrapped in <b>, so
// word order stays each language's own. A category of "*" (the link stops
// every mailing) has its own sentences rather than a word for "all"
// slotted into the category's place.
#include "api/unsubscribe_page.h"

#include <array>
#include <optional>

#include "core/suppression.h"

namespace api {

namespace {

struct Texts {
  std::string_view lang;
  std::string_view confirm_title;
  std::string_view confirm_one;  // {address}, {category}
  std::string_view confirm_all;  // {address}
  std::string_view button;
  std::string_view done_title;
  std::string_view done_one;
  std::string_view done_all;
  std::string_view invalid_title;
  std::string_view invalid;
  std::string_view later_title;
  std::string_view later;
};

constexpr std::array<Texts, 3> kTexts = {{
    {
        "uk",
        "Відписка від розсилки",
        "Відписати {address} від розсилки «{category}»?",
        "Відписати {address} від усіх розсилок?",
        "Відписатися",
        "Вас відписано",
        "Адресу {address} відписано від розсилки «{category}». Листів цієї розсилки більше "
        "не буде.",
        "Адресу {address} відписано від усіх розсилок. Листів більше не буде.",
        "Посилання недійсне",
        "Це посилання для відписки недійсне. Скористайтеся посиланням з іншого листа або "
        "зверніться до відправника.",
        "Спробуйте пізніше",
        "Зараз не вдалося виконати відписку. Спробуйте ще раз за кілька хвилин.",
    },
    {
        "ru",
        "Отписка от рассылки",
        "Отписать {address} от рассылки «{category}»?",
        "Отписать {address} от всех рассылок?",
        "Отписаться",
        "Вы отписаны",
        "Адрес {address} отписан от рассылки «{category}». Писем этой рассылки больше не "
        "будет.",
        "Адрес {address} отписан от всех рассылок. Писем больше не будет.",
        "Ссылка недействительна",
        "Эта ссылка для отписки недействительна. Воспользуйтесь ссылкой из другого письма "
        "или обратитесь к отправителю.",
        "Попробуйте позже",
        "Сейчас не удалось выполнить отписку. Попробуйте ещё раз через несколько минут.",
    },
    {
        "en",
        "Unsubscribe",
        "Unsubscribe {address} from the “{category}” mailing list?",
        "Unsubscribe {address} from all our mailings?",
        "Unsubscribe",
        "You are unsubscribed",
        "{address} is unsubscribed from the “{category}” mailing list and will get no more "
        "of it.",
        "{address} is unsubscribed from all our mailings and will get no more of them.",
        "This link is not valid",
        "This unsubscribe link is not valid. Use the link in another of our emails, or "
        "contact the sender.",
        "Please try again later",
        "We could not unsubscribe you just now. Please try again in a few minutes.",
    },
}};

const Texts& texts(PageLanguage lang) noexcept { return kTexts[static_cast<size_t>(lang)]; }

constexpr std::string_view kStyle =
    "body{margin:0;background:#f3f4f6;color:#1f2328;"
    "font:16px/1.5 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}"
    "main{box-sizing:border-box;max-width:30rem;margin:12vh auto 0;padding:2rem;"
    "background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}"
    "h1{font-size:1.35rem;margin:0 0 1rem}"
    "p{margin:0 0 1.5rem}"
    "b{overflow-wrap:anywhere}"
    "button{font:inherit;font-weight:600;padding:.7rem 1.5rem;border:0;border-radius:8px;"
    "background:#c62828;color:#fff;cursor:pointer}"
    "button:focus-visible{outline:3px solid #1f6feb;outline-offset:2px}"
    "@media (max-width:32rem){main{margin:0;border-radius:0;min-height:100vh}}";

// The text with {address} and {category} replaced by the escaped values
// in bold. The placeholders are ours; a value never reaches the scan.
std::string fill(std::string_view text, std::string_view address, std::string_view category) {
  std::string out;
  out.reserve(text.size() + address.size() + category.size() + 16);
  while (!text.empty()) {
    const size_t open = text.find('{');
    out.append(text.substr(0, open));
    if (open == std::string_view::npos) break;
    text.remove_prefix(open);
    std::string_view value;
    size_t len = 0;
    if (text.starts_with("{address}")) {
      value = address;
      len = 9;
    } else if (text.starts_with("{category}")) {
      value = category;
      len = 10;
    } else {
      out.push_back('{');
      text.remove_prefix(1);
      continue;
    }
    out.append("<b>").append(html_escape(value)).append("</b>");
    text.remove_prefix(len);
  }
  return out;
}

// `paragraph` is already HTML; `form` too (may be empty).
std::string page(const Texts& t, std::string_view title, std::string_view paragraph,
                 std::string_view form) {
  std::string out;
  out.reserve(1024 + kStyle.size() + paragraph.size() + form.size());
  out.append("<!DOCTYPE html>\n<html lang=\"").append(t.lang).append("\">\n<head>\n");
  out.append("<meta charset=\"utf-8\">\n");
  out.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  out.append("<meta name=\"robots\" content=\"noindex, nofollow\">\n");
  out.append("<title>").append(html_escape(title)).append("</title>\n");
  out.append("<style>").append(kStyle).append("</style>\n</head>\n<body>\n<main>\n");
  out.append("<h1>").append(html_escape(title)).append("</h1>\n");
  out.append("<p>").append(paragraph).append("</p>\n");
  out.append(form);
  out.append("</main>\n</body>\n</html>\n");
  return out;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

// A q-value ("1", "0.8", "0.001") in thousandths; -1 when malformed.
int parse_q(std::string_view v) noexcept {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.' || v.size() > 5) return -1;
  int scale = 100;
  for (const char c : v.substr(2)) {
    if (c < '0' || c > '9') return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q <= 1000 ? q : -1;
}

}  // namespace

PageLanguage page_language(std::string_view header) noexcept {
  constexpr PageLanguage kDefault = PageLanguage::kUk;
  PageLanguage best = kDefault;
  int best_q = 0;  // only q > 0 is acceptable
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semi = item.find(';');
    const std::string_view range = trim(item.substr(0, semi));
    int q = 1000;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      while (!params.empty()) {
        const size_t next = params.find(';');
        const std::string_view p = trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
        if (p.size() > 2 && (p[0] | 0x20) == 'q' && p[1] == '=') q = parse_q(trim(p.substr(2)));
      }
    }
    if (q <= best_q) continue;  // ties keep the earlier one
    const std::string_view primary = range.substr(0, range.find('-'));
    std::optional<PageLanguage> lang;
    if (iequals(primary, "uk")) lang = PageLanguage::kUk;
    if (iequals(primary, "ru")) lang = PageLanguage::kRu;
    if (iequals(primary, "en")) lang = PageLanguage::kEn;
    if (primary == "*") lang = kDefault;
    if (!lang) continue;
    best = *lang;
    best_q = q;
  }
  return best;
}

std::string_view language_tag(PageLanguage lang) noexcept { return texts(lang).lang; }

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (const char c : s) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string confirm_page(PageLanguage lang, const engine::UnsubscribeToken& u,
                         std::string_view action) {
  const Texts& t = texts(lang);
  const bool all = u.category == core::kAnyCategory;
  std::string form = "<form method=\"post\" action=\"";
  form.append(html_escape(action));
  form.append(
      "\">\n<input type=\"hidden\" name=\"confirm\" value=\"1\">\n<button type=\"submit\">");
  form.append(html_escape(t.button));
  form.append("</button>\n</form>\n");
  return page(t, t.confirm_title, fill(all ? t.confirm_all : t.confirm_one, u.address, u.category),
              form);
}

std::string done_page(PageLanguage lang, const engine::UnsubscribeToken& u) {
  const Texts& t = texts(lang);
  const bool all = u.category == core::kAnyCategory;
  return page(t, t.done_title, fill(all ? t.done_all : t.done_one, u.address, u.category), {});
}

std::string invalid_link_page(PageLanguage lang) {
  const Texts& t = texts(lang);
  return page(t, t.invalid_title, html_escape(t.invalid), {});
}

std::string try_later_page(PageLanguage lang) {
  const Texts& t = texts(lang);
  return page(t, t.later_title, html_escape(t.later), {});
}

}  // namespace api
