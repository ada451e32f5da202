// templating/html_text.cpp: html_to_text(), the text/plain part of an email
// derived from its HTML part (channels.h).
//
// One pass over the tokens of html_scan.h. Layout (html_scan.h) owns line
// breaks and collapsed spaces; this file decides what each element means in
// plain text. Links are the one place that looks back: the link text is
// already written when </a> tells us whether it merely repeats the URL, so
// we remember where it began and rewrite that tail of the output in place.
#include <string>
#include <string_view>

#include "templating/channels.h"
#include "templating/channels_internal.h"
#include "templating/html_scan.h"

namespace templating {
namespace {

using html::Tag;
using html::Token;

// "https://Ex.com/a/" and "ex.com/a" name the same place for a reader.
std::string_view strip_for_compare(std::string_view s) noexcept {
  if (chan::istarts_with(s, "https://")) {
    s.remove_prefix(8);
  } else if (chan::istarts_with(s, "http://")) {
    s.remove_prefix(7);
  } else if (chan::istarts_with(s, "mailto:")) {
    s.remove_prefix(7);
  }
  if (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

// Links whose address means nothing in a text part (or is unsafe to show
// as something to paste): the text stays, the address goes.
bool drop_link(std::string_view url) noexcept {
  if (url.empty() || url[0] == '#') return true;
  const std::string_view scheme = chan::url_scheme(url);
  return chan::iequals(scheme, "javascript") || chan::iequals(scheme, "vbscript") ||
         chan::iequals(scheme, "data");
}

class TextWriter {
 public:
  explicit TextWriter(size_t input_size) : layout_(out_, /*cap_literal=*/true) {
    out_.reserve(input_size / 2 + 64);
  }

  // walk_text() sink.
  void run(std::string_view s) {
    visible();
    out_.append(s);
  }
  void cp(char32_t c) {
    visible();
    chan::append_utf8(out_, c);
  }
  void space(char32_t c) {
    if (pre_depth_ > 0) {
      if (c == '\n' || c == '\r') {
        layout_.pre_space(c, pre_start_);
      } else {
        visible();
        out_.push_back(c == '\t' ? '\t' : ' ');
      }
      pre_start_ = false;
    } else {
      layout_.space();
    }
  }

  void start_tag(const Token& t) {
    const uint8_t flags = html::tag_flags(t.tag);
    switch (t.tag) {
      case Tag::kA: {
        if (link_open_) {  // <a> in <a> is invalid; HTML5 closes the first
          close_link();
          layout_.space();
        }
        std::string_view href;
        link_open_ = true;
        link_text_at_ = std::string::npos;
        link_url_.clear();
        if (html::find_attr(t.attrs, "href", &href)) {
          html::clean_url(href, link_url_);
          if (drop_link(link_url_)) link_url_.clear();
        }
        return;
      }
      case Tag::kImg: {
        std::string_view alt;
        if (html::find_attr(t.attrs, "alt", &alt)) html::walk_text(alt, /*in_attribute=*/true, *this);
        return;
      }
      case Tag::kBr:
        layout_.line_break();
        return;
      case Tag::kLi: {
        layout_.clear_prefix();
        layout_.block(1);
        prefix_.assign(2 * (list_depth_ > 1 ? list_depth_ - 1 : 0), ' ');
        prefix_.append("- ");
        layout_.set_prefix(prefix_);
        return;
      }
      case Tag::kUl:
      case Tag::kOl:
        layout_.clear_prefix();
        layout_.block(list_depth_ == 0 ? 2 : 1);
        ++list_depth_;
        return;
      case Tag::kPre:
        layout_.block(2);
        ++pre_depth_;
        pre_start_ = true;
        return;
      case Tag::kTd:
      case Tag::kTh:
        layout_.cell();
        return;
      default:
        break;
    }
    if (flags & html::kPara) {
      layout_.block(2);
    } else if (flags & html::kLine) {
      layout_.block(1);
    }
  }

  void end_tag(const Token& t) {
    const uint8_t flags = html::tag_flags(t.tag);
    switch (t.tag) {
      case Tag::kA:
        close_link();
        return;
      case Tag::kLi:
        layout_.clear_prefix();
        layout_.block(1);
        return;
      case Tag::kUl:
      case Tag::kOl:
        layout_.clear_prefix();
        if (list_depth_ > 0) --list_depth_;
        layout_.block(list_depth_ == 0 ? 2 : 1);
        return;
      case Tag::kPre:
        if (pre_depth_ > 0) --pre_depth_;
        pre_start_ = false;
        layout_.block(2);
        return;
      default:
        break;
    }
    if (flags & html::kPara) {
      layout_.block(2);
    } else if (flags & html::kLine) {
      layout_.block(1);
    }
  }

  std::string finish() {
    close_link();
    layout_.finish();
    return std::move(out_);
  }

 private:
  void visible() {
    layout_.content();
    pre_start_ = false;
    if (link_open_ && link_text_at_ == std::string::npos) link_text_at_ = out_.size();
  }

  // </a> (or a new <a>, or the end): "text (url)", or just the url when the
  // text is empty or repeats it.
  void close_link() {
    if (!link_open_) return;
    link_open_ = false;
    if (link_url_.empty()) return;
    std::string_view shown = link_url_;
    if (chan::istarts_with(shown, "mailto:")) shown.remove_prefix(7);
    if (shown.empty()) return;
    // Blanks trimmed at a <pre> line end may have taken the whole link text
    // (and what preceded it) back out of the output.
    if (link_text_at_ != std::string::npos && link_text_at_ >= out_.size()) {
      link_text_at_ = std::string::npos;
    }
    if (link_text_at_ == std::string::npos) {
      visible();
      out_.append(shown);
      return;
    }
    const std::string_view text(out_.data() + link_text_at_, out_.size() - link_text_at_);
    if (strip_for_compare(text) == strip_for_compare(link_url_)) {
      out_.resize(link_text_at_);
      out_.append(shown);
    } else {
      out_.append(" (");
      out_.append(shown);
      out_.push_back(')');
    }
  }

  std::string out_;
  html::Layout layout_;
  std::string prefix_;
  std::string link_url_;
  size_t link_text_at_ = std::string::npos;
  bool link_open_ = false;
  int list_depth_ = 0;
  int pre_depth_ = 0;
  bool pre_start_ = false;
};

}  // namespace

std::string html_to_text(std::string_view input) {
  TextWriter w(input.size());
  html::convert(input, w);
  return w.finish();
}

}  // namespace templating
