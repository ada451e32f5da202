// templating/interpreter.cpp: renders a Program (program.h).
//
// Hot path. The loop below walks the ops once; text ops are one append,
// output ops resolve a pre-split path with one hash or index lookup per
// segment and append the value, escaping in place. Nothing is allocated
// per op: values are views (into the variables, the program's pool or a
// small stack buffer), loops live in a fixed array sized by the compile-time
// depth limit, and filters that must transform text write into two scratch
// strings that live for the whole render and are reused (ping-pong: a
// filter reads the one and writes the other). The report is touched only
// when something is wrong.
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <fmt/format.h>

#include "core/time_format.h"
#include "templating/date_format.h"
#include "templating/number_format.h"
#include "templating/plural.h"
#include "templating/program.h"
#include "templating/text_case.h"
#include "templating/tz.h"

namespace templating::lang {

namespace json = boost::json;

namespace {

// A value while it moves through a filter chain.
struct Val {
  enum Kind : uint8_t { kMissing, kNull, kBool, kInt, kUint, kDouble, kString, kArray, kObject };
  Kind kind = kMissing;
  bool safe = false;  // already HTML (escape) or trusted (raw): never escaped again
  bool boolean = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string_view s;
  const json::value* j = nullptr;  // arrays and objects

  bool absent() const noexcept { return kind == kMissing || kind == kNull; }
  bool is_number() const noexcept { return kind == kInt || kind == kUint || kind == kDouble; }
};

Val from_json(const json::value* v) noexcept {
  Val r;
  if (!v) return r;
  switch (v->kind()) {
    case json::kind::null: r.kind = Val::kNull; break;
    case json::kind::bool_: r.kind = Val::kBool; r.boolean = v->get_bool(); break;
    case json::kind::int64: r.kind = Val::kInt; r.i = v->get_int64(); break;
    case json::kind::uint64: r.kind = Val::kUint; r.u = v->get_uint64(); break;
    case json::kind::double_: r.kind = Val::kDouble; r.d = v->get_double(); break;
    case json::kind::string: r.kind = Val::kString; r.s = v->get_string(); break;
    case json::kind::array: r.kind = Val::kArray; r.j = v; break;
    case json::kind::object: r.kind = Val::kObject; r.j = v; break;
  }
  return r;
}

bool truthy(const Val& v) noexcept {
  switch (v.kind) {
    case Val::kMissing:
    case Val::kNull: return false;
    case Val::kBool: return v.boolean;
    case Val::kInt: return v.i != 0;
    case Val::kUint: return v.u != 0;
    case Val::kDouble: return v.d != 0;
    case Val::kString: return !v.s.empty();
    case Val::kArray: return !v.j->get_array().empty();
    case Val::kObject: return !v.j->get_object().empty();
  }
  return false;
}

int sign_of(double x) noexcept { return x < 0 ? -1 : (x > 0 ? 1 : 0); }

// An integer against a double, exactly (no rounding of the integer through
// double). REQUIRES: d is not NaN.
int compare_int_double(bool negative, uint64_t magnitude, double d) noexcept {
  if (d >= 18446744073709551616.0) return -1;  // 2^64
  if (d < -9223372036854775808.0) return 1;   // -2^63
  double t = std::trunc(d);
  double frac = d - t;
  int c;
  if (negative) {
    if (t >= 0) return -1;
    uint64_t tm = uint64_t(-t);  // |t| <= 2^63: exact
    c = magnitude > tm ? -1 : (magnitude < tm ? 1 : 0);
  } else {
    if (t < 0) return 1;
    uint64_t tm = uint64_t(t);
    c = magnitude < tm ? -1 : (magnitude > tm ? 1 : 0);
  }
  return c != 0 ? c : -sign_of(frac);
}

// -1, 0, 1; exact for every pair of int64/uint64/double.
int compare_numbers(const Val& a, const Val& b) noexcept {
  auto sgn = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  auto split = [](const Val& v, bool* neg, uint64_t* mag) {
    *neg = v.kind == Val::kInt && v.i < 0;
    *mag = v.kind == Val::kUint ? v.u : *neg ? uint64_t(0) - uint64_t(v.i) : uint64_t(v.i);
  };
  if (a.kind == Val::kDouble && b.kind == Val::kDouble) return sgn(a.d, b.d);
  bool neg;
  uint64_t mag;
  if (b.kind == Val::kDouble) {
    split(a, &neg, &mag);
    return compare_int_double(neg, mag, b.d);
  }
  if (a.kind == Val::kDouble) {
    split(b, &neg, &mag);
    return -compare_int_double(neg, mag, a.d);
  }
  if (a.kind == Val::kInt && b.kind == Val::kInt) return sgn(a.i, b.i);
  if (a.kind == Val::kUint && b.kind == Val::kUint) return sgn(a.u, b.u);
  if (a.kind == Val::kInt) return a.i < 0 ? -1 : sgn(uint64_t(a.i), b.u);
  return b.i < 0 ? 1 : sgn(a.u, uint64_t(b.i));
}

bool compare(const Val& a, CmpOp op, const Val& b) noexcept {
  int c;
  if (a.is_number() && b.is_number()) {
    if ((a.kind == Val::kDouble && std::isnan(a.d)) || (b.kind == Val::kDouble && std::isnan(b.d))) {
      return op == CmpOp::kNe;
    }
    c = compare_numbers(a, b);
  } else if (a.kind == Val::kString && b.kind == Val::kString) {
    c = a.s.compare(b.s);
    c = c < 0 ? -1 : (c > 0 ? 1 : 0);
  } else if (a.kind == Val::kBool && b.kind == Val::kBool) {
    c = int(a.boolean) - int(b.boolean);
  } else if (a.absent() && b.absent()) {
    c = 0;
  } else {
    // Different types: never equal, never ordered.
    return op == CmpOp::kNe;
  }
  switch (op) {
    case CmpOp::kEq: return c == 0;
    case CmpOp::kNe: return c != 0;
    case CmpOp::kLt: return c < 0;
    case CmpOp::kLe: return c <= 0;
    case CmpOp::kGt: return c > 0;
    case CmpOp::kGe: return c >= 0;
    case CmpOp::kNone: break;
  }
  return false;
}

// The five characters HTML escaping replaces; everything else is copied in
// runs. Index = byte; 0 = copy, else 1 + index into kHtmlReplacement.
constexpr auto kHtmlClass = [] {
  std::array<uint8_t, 256> t{};
  t[uint8_t('&')] = 1;
  t[uint8_t('<')] = 2;
  t[uint8_t('>')] = 3;
  t[uint8_t('"')] = 4;
  t[uint8_t('\'')] = 5;
  return t;
}();
constexpr std::string_view kHtmlReplacement[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};

void append_html_escaped(std::string& out, std::string_view s) {
  const char* run = s.data();
  const char* end = s.data() + s.size();
  for (const char* p = run; p != end; ++p) {
    uint8_t k = kHtmlClass[static_cast<unsigned char>(*p)];
    if (k == 0) continue;
    out.append(run, size_t(p - run));
    out.append(kHtmlReplacement[k - 1]);
    run = p + 1;
  }
  out.append(run, size_t(end - run));
}

void append_url_encoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

// Trivial on purpose: the renderer holds kMaxDepth of these and must not
// pay to initialise them on every render; kEachBegin sets every field of
// a loop before anything reads it.
struct Loop {
  const json::array* array;
  const json::object* object;
  json::object::const_iterator it;  // objects: the current field
  size_t index, size;
  const json::value* item;
};
static_assert(std::is_trivially_default_constructible_v<Loop>);

class Renderer {
 public:
  Renderer(const Program& p, const json::value& vars, const RenderOptions& o, std::string& out,
           RenderReport* report)
      : p_(p), vars_(vars), opt_(o), out_(out), report_(report) {}

  void run();

 private:
  // ---- scopes and paths
  const json::value* scope(int level) const noexcept {
    return level == 0 ? &vars_ : loops_[level - 1].item;
  }
  static const json::value* step(const json::value* v, const Segment& seg, std::string_view key) noexcept {
    if (const json::object* o = v->if_object()) {
      auto it = o->find(key);
      return it == o->end() ? nullptr : &it->value();
    }
    if (const json::array* a = v->if_array()) {
      return (seg.is_index && seg.index < a->size()) ? &(*a)[seg.index] : nullptr;
    }
    return nullptr;
  }
  const json::value* walk(const json::value* v, uint32_t first, uint32_t count) const noexcept {
    for (uint32_t k = 0; k < count && v; ++k) {
      const Segment& seg = p_.segments[first + k];
      v = step(v, seg, p_.str(seg.key));
    }
    return v;
  }
  Val resolve(const Path& pa) noexcept;
  Val evaluate(const Operand& o) noexcept;

  // ---- output
  void output(const Expr& e);
  Val apply(const FilterCall& f, Val v, const Expr& e);
  std::string_view as_text(const Val& v, const Expr& e, char* buf, size_t cap);
  std::string& scratch_for(const Val& v) noexcept {
    // The buffer that does not hold the input.
    bool in0 = !v.s.empty() && v.s.data() >= scratch_[0].data() &&
               v.s.data() < scratch_[0].data() + scratch_[0].size();
    std::string& s = scratch_[in0 ? 1 : 0];
    s.clear();
    return s;
  }
  Val text_val(const std::string& s, bool safe) const noexcept {
    Val r;
    r.kind = Val::kString;
    r.s = s;
    r.safe = safe;
    return r;
  }

  // ---- filters
  Val date(const FilterCall& f, const Val& v, const Expr& e);
  Val number(const FilterCall& f, const Val& v, const Expr& e);
  Val plural(const FilterCall& f, const Val& v, const Expr& e);
  bool numeric(const Val& v, Val* out) const noexcept;
  Locale locale();

  // ---- report
  void missing(const Path& pa);
  void warn(SourcePos pos, std::string_view what);

  const Program& p_;
  const json::value& vars_;
  const RenderOptions& opt_;
  std::string& out_;
  RenderReport* report_;
  Loop loops_[kMaxDepth];
  int depth_ = 0;
  std::string scratch_[2];
  std::optional<Locale> locale_;
};

void Renderer::run() {
  const Op* ops = p_.ops.data();
  const uint32_t n = uint32_t(p_.ops.size());
  const size_t out_limit = out_.size() + kMaxRenderOutput;
  uint64_t steps = 0;
  uint32_t pc = 0;
  while (pc < n) {
    if (++steps > kMaxRenderSteps || out_.size() > out_limit) {
      warn({0, 0}, "rendering stopped: the template is too expensive for these variables");
      return;
    }
    const Op& op = ops[pc];
    switch (op.code) {
      case OpCode::kText:
        out_.append(p_.pool.data() + op.a, op.b);
        ++pc;
        break;
      case OpCode::kOutput:
        output(p_.exprs[op.a]);
        ++pc;
        break;
      case OpCode::kJumpIfFalse:
      case OpCode::kJumpIfTrue: {
        const Cond& c = p_.conds[op.a];
        Val l = evaluate(c.lhs);
        bool v = c.op == CmpOp::kNone ? truthy(l) : compare(l, c.op, evaluate(c.rhs));
        pc = (v == (op.code == OpCode::kJumpIfTrue)) ? op.target : pc + 1;
        break;
      }
      case OpCode::kJump:
        pc = op.target;
        break;
      case OpCode::kEachBegin: {
        const Each& each = p_.eaches[op.a];
        Val v = resolve(p_.paths[each.path]);
        Loop& lp = loops_[depth_];
        lp = Loop{nullptr, nullptr, nullptr, 0, 0, nullptr};
        if (v.kind == Val::kArray) {
          lp.array = &v.j->get_array();
          lp.size = lp.array->size();
          if (lp.size) lp.item = &(*lp.array)[0];
        } else if (v.kind == Val::kObject) {
          lp.object = &v.j->get_object();
          lp.size = lp.object->size();
          if (lp.size) {
            lp.it = lp.object->begin();
            lp.item = &lp.it->value();
          }
        } else if (!v.absent()) {
          warn(each.pos, fmt::format("each: '{}' is not a list", p_.str(p_.paths[each.path].spelling)));
        }
        if (lp.size == 0) {
          pc = op.target;
        } else {
          ++depth_;
          ++pc;
        }
        break;
      }
      case OpCode::kEachNext: {
        Loop& lp = loops_[depth_ - 1];
        if (++lp.index < lp.size) {
          if (lp.array) {
            lp.item = &(*lp.array)[lp.index];
          } else {
            ++lp.it;
            lp.item = &lp.it->value();
          }
          pc = op.target;
        } else {
          --depth_;
          ++pc;
        }
        break;
      }
    }
  }
}

Val Renderer::resolve(const Path& pa) noexcept {
  switch (pa.root) {
    case PathRoot::kLoopVar: {
      const Loop& lp = loops_[depth_ - 1 - pa.up];
      Val r;
      switch (pa.var) {
        case LoopVar::kIndex: r.kind = Val::kUint; r.u = lp.index; break;
        case LoopVar::kNumber: r.kind = Val::kUint; r.u = lp.index + 1; break;
        case LoopVar::kFirst: r.kind = Val::kBool; r.boolean = lp.index == 0; break;
        case LoopVar::kLast: r.kind = Val::kBool; r.boolean = lp.index + 1 == lp.size; break;
        case LoopVar::kKey:
          if (lp.object) {
            r.kind = Val::kString;
            r.s = lp.it->key();
          } else {
            r.kind = Val::kUint;
            r.u = lp.index;
          }
          break;
      }
      return r;
    }
    case PathRoot::kRoot:
      return from_json(walk(&vars_, pa.first_segment, pa.segment_count));
    case PathRoot::kThis:
      return from_json(walk(scope(depth_ - pa.up), pa.first_segment, pa.segment_count));
    case PathRoot::kScope: {
      // The first segment is looked up from the innermost scope outwards;
      // the rest of the path is then followed from where it was found.
      const Segment& first = p_.segments[pa.first_segment];
      std::string_view key = p_.str(first.key);
      for (int level = depth_ - pa.up; level >= 0; --level) {
        const json::value* v = step(scope(level), first, key);
        if (v) return from_json(walk(v, pa.first_segment + 1, pa.segment_count - 1));
      }
      return Val{};
    }
  }
  return Val{};
}

Val Renderer::evaluate(const Operand& o) noexcept {
  Val r;
  switch (o.kind) {
    case OperandKind::kPath: return resolve(p_.paths[o.path]);
    case OperandKind::kString: r.kind = Val::kString; r.s = p_.str(o.string); break;
    case OperandKind::kInt: r.kind = Val::kInt; r.i = o.integer; break;
    case OperandKind::kDouble: r.kind = Val::kDouble; r.d = o.real; break;
    case OperandKind::kBool: r.kind = Val::kBool; r.boolean = o.boolean; break;
    case OperandKind::kNull: r.kind = Val::kNull; break;
  }
  return r;
}

void Renderer::output(const Expr& e) {
  Val v = evaluate(e.value);
  for (uint32_t k = 0; k < e.filter_count; ++k) v = apply(p_.filters[e.first_filter + k], v, e);
  if (v.absent()) {
    if (e.report_missing) missing(p_.paths[e.value.path]);
    return;
  }
  char buf[32];
  std::string_view s = as_text(v, e, buf, sizeof buf);
  // Only text can hold a character HTML cares about; numbers and booleans
  // are digits, signs and letters.
  if (e.escape_html && !v.safe && v.kind == Val::kString) {
    append_html_escaped(out_, s);
  } else {
    out_.append(s);
  }
}

std::string_view Renderer::as_text(const Val& v, const Expr& e, char* buf, size_t cap) {
  switch (v.kind) {
    case Val::kMissing:
    case Val::kNull: return {};
    case Val::kBool: return v.boolean ? "true" : "false";
    case Val::kString: return v.s;
    case Val::kInt: {
      auto r = std::to_chars(buf, buf + cap, v.i);
      return {buf, size_t(r.ptr - buf)};
    }
    case Val::kUint: {
      auto r = std::to_chars(buf, buf + cap, v.u);
      return {buf, size_t(r.ptr - buf)};
    }
    case Val::kDouble: {
      auto r = std::to_chars(buf, buf + cap, v.d);  // shortest round-trip
      return {buf, r.ec == std::errc() ? size_t(r.ptr - buf) : 0};
    }
    case Val::kArray:
    case Val::kObject: {
      std::string_view what = v.kind == Val::kArray ? "a list" : "an object";
      if (e.value.kind == OperandKind::kPath) {
        warn(e.pos, fmt::format("'{}' is {}, not text", p_.str(p_.paths[e.value.path].spelling), what));
      } else {
        warn(e.pos, fmt::format("the value is {}, not text", what));
      }
      return {};
    }
  }
  return {};
}

bool Renderer::numeric(const Val& v, Val* out) const noexcept {
  if (v.is_number()) {
    *out = v;
    return true;
  }
  if (v.kind != Val::kString) return false;
  std::string_view s = trim_spaces(v.s);
  if (s.empty()) return false;
  const char* b = s.data();
  const char* end = s.data() + s.size();
  Val r;
  if (auto x = std::from_chars(b, end, r.i); x.ec == std::errc() && x.ptr == end) {
    r.kind = Val::kInt;
  } else if (auto y = std::from_chars(b, end, r.u); y.ec == std::errc() && y.ptr == end) {
    r.kind = Val::kUint;
  } else if (auto z = std::from_chars(b, end, r.d, std::chars_format::fixed);
             z.ec == std::errc() && z.ptr == end) {
    r.kind = Val::kDouble;
  } else {
    return false;
  }
  *out = r;
  return true;
}

Locale Renderer::locale() {
  if (!locale_) {
    locale_ = parse_locale(opt_.locale);
    if (!locale_) {
      locale_ = Locale::kEn;
      warn({0, 0}, fmt::format("locale '{}' is not supported; using en",
                               is_valid_utf8(opt_.locale) ? opt_.locale : "?"));
    }
  }
  return *locale_;
}

Val Renderer::apply(const FilterCall& f, Val v, const Expr& e) {
  const Operand* args = p_.args.data() + f.first_arg;
  if (f.id == FilterId::kDefault) {
    if (v.absent() || (v.kind == Val::kString && v.s.empty())) {
      Val d = evaluate(args[0]);
      return d;
    }
    return v;
  }
  if (v.absent()) return v;  // missing flows on to a later `default`
  switch (f.id) {
    case FilterId::kRaw:
      v.safe = true;
      return v;
    case FilterId::kSize: {
      Val r;
      r.kind = Val::kUint;
      if (v.kind == Val::kArray) {
        r.u = v.j->get_array().size();
      } else if (v.kind == Val::kObject) {
        r.u = v.j->get_object().size();
      } else if (v.kind == Val::kString) {
        r.u = utf8_length(v.s);
      } else {
        char buf[32];
        r.u = as_text(v, e, buf, sizeof buf).size();
      }
      return r;
    }
    case FilterId::kDate: return date(f, v, e);
    case FilterId::kNumber: return number(f, v, e);
    case FilterId::kPlural: return plural(f, v, e);
    default: break;
  }
  // Text filters.
  char buf[32];
  std::string_view s = as_text(v, e, buf, sizeof buf);
  std::string& out = scratch_for(v);
  switch (f.id) {
    case FilterId::kUpper: append_upper(out, s); break;
    case FilterId::kLower: append_lower(out, s); break;
    case FilterId::kCapitalize: append_capitalized(out, s); break;
    case FilterId::kTrim: out.append(trim_spaces(s)); break;
    case FilterId::kEscape:
      append_html_escaped(out, s);
      return text_val(out, true);
    case FilterId::kUrlEncode: append_url_encoded(out, s); break;
    case FilterId::kTruncate: {
      uint64_t n = uint64_t(args[0].integer);
      size_t chars = utf8_length(s);
      if (chars <= n) {
        out.append(s);
      } else if (n > 0) {
        // The result, "…" included, is at most n characters; spaces before
        // the "…" are dropped.
        std::string_view head = s.substr(0, utf8_prefix_bytes(s, size_t(n - 1)));
        std::string_view kept = trim_spaces(head);
        out.append(head.substr(0, kept.empty() ? 0 : size_t(kept.data() + kept.size() - head.data())));
        out.append("…");
      }
      break;
    }
    default: out.append(s); break;
  }
  return text_val(out, v.safe);
}

Val Renderer::date(const FilterCall& f, const Val& v, const Expr& e) {
  const Operand* args = p_.args.data() + f.first_arg;
  int64_t secs = 0;
  bool ok = false;
  if (v.kind == Val::kString) {
    if (v.s == "now") {
      secs = std::chrono::floor<std::chrono::seconds>(opt_.now.time_since_epoch()).count();
      ok = true;
    } else if (auto t = core::parse_rfc3339(v.s)) {
      secs = std::chrono::floor<std::chrono::seconds>(t->time_since_epoch()).count();
      ok = true;
    }
  } else if (v.kind == Val::kInt) {
    secs = v.i;
    ok = true;
  } else if (v.kind == Val::kUint) {
    ok = v.u <= uint64_t(kMaxDateSeconds);
    secs = int64_t(std::min<uint64_t>(v.u, uint64_t(kMaxDateSeconds)));
  } else if (v.kind == Val::kDouble) {
    ok = v.d >= double(kMinDateSeconds) && v.d <= double(kMaxDateSeconds);
    if (ok) secs = int64_t(std::floor(v.d));
  }
  ok = ok && secs >= kMinDateSeconds && secs <= kMaxDateSeconds;
  if (!ok) {
    char buf[32];
    std::string_view shown = v.kind == Val::kString ? v.s : as_text(v, e, buf, sizeof buf);
    size_t cut = utf8_prefix_bytes(shown, 40);
    warn(f.pos, fmt::format("date: '{}{}' is not a time", shown.substr(0, cut), cut < shown.size() ? "…" : ""));
    return Val{Val::kString};
  }
  std::string_view zone_name = f.argc == 2 ? p_.str(args[1].string) : opt_.time_zone;
  std::shared_ptr<const Zone> zone = find_zone(zone_name);
  if (!zone) {
    size_t cut = utf8_prefix_bytes(zone_name, 64);
    warn(f.pos, fmt::format("date: unknown time zone '{}'; using UTC",
                            is_valid_utf8(zone_name) ? zone_name.substr(0, cut) : "?"));
    zone = find_zone("UTC");
  }
  Zone::Local local = zone->at(secs);
  CivilTime ct = civil_time(secs, local.utc_offset, local.abbreviation);
  std::string& out = scratch_for(v);
  append_date(out, p_.str(args[0].string), ct, locale());
  return text_val(out, v.safe);
}

Val Renderer::number(const FilterCall& f, const Val& v, const Expr& e) {
  Val n;
  if (!numeric(v, &n)) {
    char buf[32];
    std::string_view shown = v.kind == Val::kString ? v.s : as_text(v, e, buf, sizeof buf);
    size_t cut = utf8_prefix_bytes(shown, 40);
    warn(f.pos, fmt::format("number: '{}{}' is not a number", shown.substr(0, cut), cut < shown.size() ? "…" : ""));
    return v;
  }
  int decimals = f.argc == 1 ? int(p_.args[f.first_arg].integer) : -1;
  std::string& out = scratch_for(v);
  Locale l = locale();
  if (n.kind == Val::kDouble) {
    append_double(out, l, n.d, decimals);
  } else {
    bool neg = n.kind == Val::kInt && n.i < 0;
    uint64_t mag = n.kind == Val::kUint ? n.u : neg ? uint64_t(0) - uint64_t(n.i) : uint64_t(n.i);
    append_integer(out, l, neg, mag);
    if (decimals > 0) {
      out.append(decimal_separator(l));
      out.append(size_t(decimals), '0');
    }
  }
  return text_val(out, v.safe);
}

Val Renderer::plural(const FilterCall& f, const Val& v, const Expr& e) {
  Val n;
  if (!numeric(v, &n)) {
    char buf[32];
    std::string_view shown = v.kind == Val::kString ? v.s : as_text(v, e, buf, sizeof buf);
    size_t cut = utf8_prefix_bytes(shown, 40);
    warn(f.pos, fmt::format("plural: '{}{}' is not a number", shown.substr(0, cut), cut < shown.size() ? "…" : ""));
    return Val{Val::kString};
  }
  Locale l = locale();
  uint64_t i = 0;
  bool fraction = false;
  if (n.kind == Val::kInt) {
    i = n.i < 0 ? uint64_t(0) - uint64_t(n.i) : uint64_t(n.i);
  } else if (n.kind == Val::kUint) {
    i = n.u;
  } else {
    double a = std::fabs(n.d);
    if (!std::isfinite(a)) {
      fraction = true;
    } else {
      double ip = std::floor(a);
      fraction = ip != a;
      i = ip >= 18446744073709551616.0 ? UINT64_MAX : uint64_t(ip);
    }
  }
  PluralCategory cat = plural_category(l, i, fraction);
  const Operand& form = p_.args[f.first_arg + plural_form_index(l, cat, f.argc)];
  std::string_view s = p_.str(form.string);
  std::string& out = scratch_for(v);
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] != '#') {
      out.push_back(s[k]);
      continue;
    }
    if (n.kind == Val::kDouble) {
      append_double(out, l, n.d, -1);
    } else {
      append_integer(out, l, n.kind == Val::kInt && n.i < 0, i);
    }
  }
  return text_val(out, v.safe);
}

void Renderer::missing(const Path& pa) {
  if (!report_) return;
  std::string_view name = p_.str(pa.spelling);
  for (const auto& m : report_->missing) {
    if (m == name) return;
  }
  report_->missing.emplace_back(name);
}

void Renderer::warn(SourcePos pos, std::string_view what) {
  if (!report_) return;
  std::string w = pos.line ? fmt::format("line {}, column {}: {}", pos.line, pos.column, what)
                           : std::string(what);
  // Warnings quote variables; keep each on one printable line.
  for (char& c : w) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  auto& ws = report_->warnings;
  if (ws.size() >= kMaxWarnings) return;
  for (const auto& x : ws) {
    if (x == w) return;
  }
  ws.push_back(std::move(w));
}

}  // namespace

void execute(const Program& program, const json::value& vars, const RenderOptions& options,
             std::string& out, RenderReport* report) {
  Renderer r(program, vars, options, out, report);
  r.run();
}

}  // namespace templating::lang
