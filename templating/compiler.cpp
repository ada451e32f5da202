// templating/compiler.cpp: template source -> Program (program.h).
//
// One pass over the pieces lex_piece() returns. Literal text is appended to
// the pool and merged into one kText op until a tag intervenes (comments do
// not interrupt it). Every tag closes the open text op first, because a
// jump may target the op after the tag and text merged across it would
// jump into the middle. Blocks are a stack; an `else` or a close patches
// the jumps its block left open. The first error stops compilation.
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include "templating/date_format.h"
#include "templating/lexer.h"
#include "templating/program.h"
#include "templating/text_case.h"
#include "templating/tz.h"

namespace templating::lang {

namespace {

struct FilterSpec {
  std::string_view name;
  FilterId id;
  uint8_t min_args, max_args;
};

constexpr FilterSpec kFilters[] = {
    {"default", FilterId::kDefault, 1, 1},  {"upper", FilterId::kUpper, 0, 0},
    {"lower", FilterId::kLower, 0, 0},      {"capitalize", FilterId::kCapitalize, 0, 0},
    {"trim", FilterId::kTrim, 0, 0},        {"truncate", FilterId::kTruncate, 1, 1},
    {"raw", FilterId::kRaw, 0, 0},          {"escape", FilterId::kEscape, 0, 0},
    {"url_encode", FilterId::kUrlEncode, 0, 0}, {"date", FilterId::kDate, 1, 2},
    {"number", FilterId::kNumber, 0, 1},    {"plural", FilterId::kPlural, 2, 3},
    {"size", FilterId::kSize, 0, 0},
};

// Line and column of byte offsets, computed incrementally: the compiler
// asks in source order, so the whole compile is linear even for a 1 MiB
// template on one line. Asking backwards (an error that names an opening
// tag) restarts from the top.
class PositionTracker {
 public:
  explicit PositionTracker(std::string_view s) : s_(s) {}
  SourcePos at(size_t offset) noexcept {
    if (offset < off_) off_ = 0, line_ = 1, col_ = 1;
    offset = std::min(offset, s_.size());
    for (; off_ < offset; ++off_) {
      unsigned char c = static_cast<unsigned char>(s_[off_]);
      if (c == '\n') {
        ++line_;
        col_ = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++col_;
      }
    }
    return {line_, col_};
  }

 private:
  std::string_view s_;
  size_t off_ = 0;
  uint32_t line_ = 1, col_ = 1;
};

std::string pos_text(SourcePos p) {
  return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
}

// Source text quoted for an error message: at most 32 characters.
std::string quoted(std::string_view s) {
  size_t cut = utf8_prefix_bytes(s, 32);
  std::string q = "'";
  q.append(s.substr(0, cut));
  if (cut < s.size()) q.append("…");
  q.push_back('\'');
  return q;
}

bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

enum class BlockKind : uint8_t { kIf, kUnless, kEach };

std::string_view block_name(BlockKind k) {
  switch (k) {
    case BlockKind::kIf: return "if";
    case BlockKind::kUnless: return "unless";
    case BlockKind::kEach: return "each";
  }
  return "if";
}

constexpr uint32_t kNoJump = UINT32_MAX;

struct Block {
  BlockKind kind;
  size_t open_offset;
  uint32_t pending_jump = kNoJump;  // the conditional jump to the next clause
  uint32_t begin_op = 0;            // each: the kEachBegin op
  uint32_t body_start = 0;          // each: the first op of the body
  bool has_else = false;
  std::vector<uint32_t> end_jumps;  // kJump ops that go to the end
};

class Compiler {
 public:
  Compiler(std::string_view source, bool escape_html)
      : src_(source), escape_html_(escape_html), prog_(std::make_shared<Program>()), pos_(source) {}

  core::Result<std::shared_ptr<const Program>> run();

 private:
  // Every parse step returns false after recording the first error.
  bool fail(size_t offset, std::string reason) {
    // Reasons quote source text; keep the message on one printable line.
    for (char& c : reason) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
    }
    if (!error_) {
      error_ = core::make_error(core::Errc::kInvalidArgument,
                                pos_text(pos_.at(offset)) + ": " + std::move(reason));
    }
    return false;
  }
  std::string_view text(const Token& t) const { return src_.substr(t.begin, t.end - t.begin); }
  bool unexpected(const Token& t) {
    if (t.kind == TokenKind::kBad) {
      if (std::string_view(t.reason) == "unexpected character") {
        size_t n = utf8_prefix_bytes(src_.substr(t.begin), 1);
        return fail(t.begin, "unexpected " + quoted(src_.substr(t.begin, n)));
      }
      return fail(t.begin, t.reason);
    }
    if (t.kind == TokenKind::kEnd) return fail(t.begin, "unexpected end of tag");
    return fail(t.begin, "unexpected " + quoted(text(t)));
  }

  Token next() {
    Token t = lex_token(src_, cursor_, tag_end_);
    cursor_ = t.end;
    return t;
  }
  Token peek() const { return lex_token(src_, cursor_, tag_end_); }
  bool expect_end() {
    Token t = next();
    return t.kind == TokenKind::kEnd ? true : unexpected(t);
  }

  Slice add_to_pool(std::string_view s) {
    Slice sl{uint32_t(prog_->pool.size()), uint32_t(s.size())};
    prog_->pool.append(s);
    return sl;
  }
  uint32_t add_op(OpCode code, uint32_t a = 0, uint32_t b = 0, uint32_t target = kNoJump) {
    prog_->ops.push_back({code, a, b, target});
    return uint32_t(prog_->ops.size() - 1);
  }
  void patch(uint32_t op) { prog_->ops[op].target = uint32_t(prog_->ops.size()); }
  // Weight of output inside loops for size_hint: assume a few items.
  uint64_t weight() const { return uint64_t(1) << (2 * std::min(loop_depth_, 3)); }

  void add_text(std::string_view t);
  void trim_text_before();
  bool tag(const Piece& p);
  bool open_block(const Piece& p);
  bool close_block(const Piece& p);
  bool else_tag(const Piece& p, const Token& else_token);
  bool output(const Piece& p);
  bool operand(const Token& t, Operand* out);
  bool path(const Token& t, uint32_t* out);
  bool condition(const Piece& p, std::string_view tag_name, uint32_t* out);
  bool filter_args(const Token& name, const FilterSpec& spec, FilterCall* call, Token* after);
  std::string unquote(const Token& t) const;

  std::string_view src_;
  bool escape_html_;
  std::shared_ptr<Program> prog_;
  PositionTracker pos_;
  std::optional<core::Error> error_;
  std::vector<Block> blocks_;
  int loop_depth_ = 0;
  bool text_open_ = false;
  bool trim_next_ = false;
  uint64_t hint_ = 0;
  size_t cursor_ = 0, tag_end_ = 0;
};

void Compiler::add_text(std::string_view t) {
  if (trim_next_) {
    size_t k = 0;
    while (k < t.size() && is_ascii_space(t[k])) ++k;
    t.remove_prefix(k);
    trim_next_ = false;
  }
  if (t.empty()) return;
  if (!text_open_) {
    add_op(OpCode::kText, uint32_t(prog_->pool.size()), 0);
    text_open_ = true;
  }
  prog_->pool.append(t);
  prog_->ops.back().b += uint32_t(t.size());
  hint_ += t.size() * weight();
}

void Compiler::trim_text_before() {
  if (!text_open_) return;
  Op& op = prog_->ops.back();
  while (op.b > 0 && is_ascii_space(prog_->pool.back())) {
    prog_->pool.pop_back();
    --op.b;
  }
  if (op.b == 0) {
    prog_->ops.pop_back();
    text_open_ = false;
  }
}

core::Result<std::shared_ptr<const Program>> Compiler::run() {
  if (src_.size() > kMaxSourceBytes) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "line 1, column 1: the template is larger than 1 MiB (" +
                                std::to_string(src_.size()) + " bytes)");
  }
  if (size_t bad = utf8_invalid_offset(src_); bad != std::string_view::npos) {
    fail(bad, "invalid UTF-8");
    return *error_;
  }
  prog_->pool.reserve(src_.size());
  size_t offset = 0;
  for (;;) {
    PieceResult r = lex_piece(src_, offset);
    if (r.status == LexStatus::kEnd) break;
    if (r.status == LexStatus::kBad) {
      fail(r.error_offset, r.reason);
      return *error_;
    }
    const Piece& p = r.piece;
    switch (p.kind) {
      case PieceKind::kText:
      case PieceKind::kEscapedOpen:
        add_text(src_.substr(p.body_begin, p.body_end - p.body_begin));
        break;
      case PieceKind::kComment:
        if (p.trim_before) trim_text_before();
        trim_next_ = p.trim_after;
        break;
      case PieceKind::kTag:
        if (p.trim_before) trim_text_before();
        text_open_ = false;
        trim_next_ = false;
        if (!tag(p)) return *error_;
        trim_next_ = p.trim_after;
        break;
    }
    offset = p.end;
  }
  if (!blocks_.empty()) {
    // Reported at the opening tag, which is where an editor should point;
    // the reason repeats the position so that it reads alone in a log.
    const Block& b = blocks_.back();
    SourcePos open = pos_.at(b.open_offset);
    fail(b.open_offset, "'{{#" + std::string(block_name(b.kind)) + "}}' opened at " + pos_text(open) +
                            " is not closed");
    return *error_;
  }
  Program& pr = *prog_;
  pr.size_hint = size_t(std::min<uint64_t>(hint_, uint64_t(1) << 30));
  pr.uses_variables =
      std::any_of(pr.ops.begin(), pr.ops.end(), [](const Op& o) { return o.code != OpCode::kText; });
  return std::shared_ptr<const Program>(std::move(prog_));
}

bool Compiler::tag(const Piece& p) {
  cursor_ = p.body_begin;
  tag_end_ = p.body_end;
  Token first = peek();
  bool is_else = first.kind == TokenKind::kWord && text(first) == "else";
  if (p.triple && (first.kind == TokenKind::kHash || first.kind == TokenKind::kSlash || is_else)) {
    return fail(p.begin, "'{{{' can only output a value");
  }
  if (first.kind == TokenKind::kHash) return open_block(p);
  if (first.kind == TokenKind::kSlash) return close_block(p);
  if (is_else) return else_tag(p, first);
  return output(p);
}

bool Compiler::open_block(const Piece& p) {
  next();  // '#'
  Token name = next();
  if (name.kind != TokenKind::kWord) {
    if (name.kind == TokenKind::kEnd) return fail(name.begin, "expected a block name after '#'");
    return unexpected(name);
  }
  std::string_view n = text(name);
  BlockKind kind;
  if (n == "if") {
    kind = BlockKind::kIf;
  } else if (n == "unless") {
    kind = BlockKind::kUnless;
  } else if (n == "each") {
    kind = BlockKind::kEach;
  } else {
    return fail(name.begin, "unknown block " + quoted("#" + std::string(n)));
  }
  if (blocks_.size() >= kMaxDepth) return fail(p.begin, "blocks nested deeper than 32");

  Block b{kind, p.begin};
  if (kind == BlockKind::kEach) {
    Token t = next();
    if (t.kind == TokenKind::kEnd) return fail(t.begin, "'{{#each}}' needs a list");
    if (t.kind != TokenKind::kWord) return unexpected(t);
    uint32_t path_index;
    if (!path(t, &path_index)) return false;
    const Path& pa = prog_->paths[path_index];
    if (pa.root == PathRoot::kLoopVar) return fail(t.begin, "'{{#each}}' needs a list");
    if (!expect_end()) return false;
    prog_->eaches.push_back({path_index, pos_.at(p.begin)});
    b.begin_op = add_op(OpCode::kEachBegin, uint32_t(prog_->eaches.size() - 1));
    b.body_start = uint32_t(prog_->ops.size());
    ++loop_depth_;
  } else {
    uint32_t cond;
    if (!condition(p, n, &cond)) return false;
    b.pending_jump =
        add_op(kind == BlockKind::kIf ? OpCode::kJumpIfFalse : OpCode::kJumpIfTrue, cond);
  }
  blocks_.push_back(std::move(b));
  return true;
}

bool Compiler::else_tag(const Piece& p, const Token& else_token) {
  next();  // "else"
  if (blocks_.empty()) return fail(p.begin, "'{{else}}' outside a block");
  Block& b = blocks_.back();
  Token t = next();
  bool chained = t.kind == TokenKind::kWord && text(t) == "if";
  if (!chained && t.kind != TokenKind::kEnd) return unexpected(t);
  if (b.has_else) return fail(p.begin, "'{{else}}' after '{{else}}' in the same block");
  if (b.kind == BlockKind::kEach) {
    if (chained) return fail(else_token.begin, "'{{else if}}' is not allowed in '{{#each}}'");
    add_op(OpCode::kEachNext, 0, 0, b.body_start);
    b.end_jumps.push_back(add_op(OpCode::kJump));
    patch(b.begin_op);
    b.has_else = true;
    --loop_depth_;
    return true;
  }
  b.end_jumps.push_back(add_op(OpCode::kJump));
  patch(b.pending_jump);
  b.pending_jump = kNoJump;
  if (!chained) {
    b.has_else = true;
    return true;
  }
  uint32_t cond;
  if (!condition(p, "else if", &cond)) return false;
  b.pending_jump = add_op(OpCode::kJumpIfFalse, cond);
  return true;
}

bool Compiler::close_block(const Piece& p) {
  next();  // '/'
  Token name = next();
  if (name.kind != TokenKind::kWord) {
    if (name.kind == TokenKind::kEnd) return fail(name.begin, "expected a block name after '/'");
    return unexpected(name);
  }
  std::string_view n = text(name);
  std::string close = "'{{/" + std::string(n) + "}}'";
  if (n != "if" && n != "unless" && n != "each") {
    return fail(name.begin, "unknown block " + quoted("/" + std::string(n)));
  }
  if (!expect_end()) return false;
  if (blocks_.empty()) return fail(p.begin, close + " closes no block");
  Block& b = blocks_.back();
  if (block_name(b.kind) != n) {
    SourcePos open = pos_.at(b.open_offset);
    return fail(p.begin, close + " does not close '{{#" + std::string(block_name(b.kind)) +
                             "}}' opened at " + pos_text(open));
  }
  if (b.kind == BlockKind::kEach && !b.has_else) {
    add_op(OpCode::kEachNext, 0, 0, b.body_start);
    patch(b.begin_op);
    --loop_depth_;
  }
  if (b.pending_jump != kNoJump) patch(b.pending_jump);
  for (uint32_t j : b.end_jumps) patch(j);
  blocks_.pop_back();
  return true;
}

bool Compiler::condition(const Piece& p, std::string_view tag_name, uint32_t* out) {
  Cond c;
  c.pos = pos_.at(p.begin);
  Token t = next();
  if (t.kind == TokenKind::kEnd) {
    return fail(t.begin, "'{{" + std::string(tag_name == "else if" ? "" : "#") +
                             std::string(tag_name) + "}}' needs a condition");
  }
  if (!operand(t, &c.lhs)) return false;
  Token op = next();
  if (op.kind == TokenKind::kCompare) {
    std::string_view o = text(op);
    c.op = o == "==" ? CmpOp::kEq
         : o == "!=" ? CmpOp::kNe
         : o == "<"  ? CmpOp::kLt
         : o == "<=" ? CmpOp::kLe
         : o == ">"  ? CmpOp::kGt
                     : CmpOp::kGe;
    Token r = next();
    if (r.kind == TokenKind::kEnd) return fail(r.begin, "expected a value after " + quoted(o));
    if (!operand(r, &c.rhs)) return false;
    op = next();
  }
  if (op.kind != TokenKind::kEnd) return unexpected(op);
  prog_->conds.push_back(c);
  *out = uint32_t(prog_->conds.size() - 1);
  return true;
}

std::string Compiler::unquote(const Token& t) const {
  std::string s;
  for (size_t i = t.begin + 1; i + 1 < t.end; ++i) {
    if (src_[i] == '\\' && i + 2 < t.end) ++i;
    s.push_back(src_[i]);
  }
  return s;
}

bool Compiler::operand(const Token& t, Operand* out) {
  switch (t.kind) {
    case TokenKind::kString:
      out->kind = OperandKind::kString;
      out->string = add_to_pool(unquote(t));
      return true;
    case TokenKind::kNumber: {
      std::string_view s = text(t);
      int64_t i = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), i);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size()) {
        out->kind = OperandKind::kInt;
        out->integer = i;
        return true;
      }
      double d = 0;
      auto rd = std::from_chars(s.data(), s.data() + s.size(), d);
      if (rd.ec != std::errc() || rd.ptr != s.data() + s.size()) {
        return fail(t.begin, "bad number " + quoted(s));
      }
      out->kind = OperandKind::kDouble;
      out->real = d;
      return true;
    }
    case TokenKind::kWord: {
      std::string_view w = text(t);
      if (w == "true" || w == "false") {
        out->kind = OperandKind::kBool;
        out->boolean = w == "true";
        return true;
      }
      if (w == "null") {
        out->kind = OperandKind::kNull;
        return true;
      }
      out->kind = OperandKind::kPath;
      return path(t, &out->path);
    }
    default:
      return unexpected(t);
  }
}

bool Compiler::path(const Token& t, uint32_t* out) {
  std::string_view w = text(t);
  Path pa;
  pa.spelling = add_to_pool(w);
  std::string_view rest = w;
  int up = 0;
  while (rest.substr(0, 3) == "../") {
    ++up;
    rest.remove_prefix(3);
  }
  if (rest.empty()) return fail(t.begin, "empty path");
  if (up > loop_depth_) return fail(t.begin, quoted(w) + " goes above the root");
  pa.up = uint8_t(up);

  std::string_view head = rest.substr(0, rest.find('.'));
  std::string_view tail = head.size() < rest.size() ? rest.substr(head.size() + 1) : std::string_view();
  bool has_tail = head.size() < rest.size();
  if (rest == ".") {
    pa.root = PathRoot::kThis;
    has_tail = false;
  } else if (head == "this") {
    pa.root = PathRoot::kThis;
  } else if (!head.empty() && head[0] == '@') {
    if (head == "@root") {
      if (up > 0) return fail(t.begin, "'@root' cannot follow '../'");
      pa.root = PathRoot::kRoot;
    } else {
      pa.root = PathRoot::kLoopVar;
      if (head == "@index") {
        pa.var = LoopVar::kIndex;
      } else if (head == "@number") {
        pa.var = LoopVar::kNumber;
      } else if (head == "@first") {
        pa.var = LoopVar::kFirst;
      } else if (head == "@last") {
        pa.var = LoopVar::kLast;
      } else if (head == "@key") {
        pa.var = LoopVar::kKey;
      } else {
        return fail(t.begin, "unknown variable " + quoted(head));
      }
      if (has_tail) return fail(t.begin, quoted(head) + " has no fields");
      if (loop_depth_ - up < 1) return fail(t.begin, quoted(head) + " outside '{{#each}}'");
    }
  } else {
    has_tail = true;
    tail = rest;  // the head is the first segment
  }

  pa.first_segment = uint32_t(prog_->segments.size());
  if (has_tail) {
    for (;;) {
      size_t dot = tail.find('.');
      std::string_view seg = tail.substr(0, dot);
      if (seg.empty()) return fail(t.begin, "empty segment in path " + quoted(w));
      if (seg.find_first_of("/@") != std::string_view::npos) {
        return fail(t.begin, "bad path " + quoted(w));
      }
      Segment s;
      s.key = add_to_pool(seg);
      uint32_t idx = 0;
      auto r = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
      s.is_index = r.ec == std::errc() && r.ptr == seg.data() + seg.size();
      s.index = idx;
      prog_->segments.push_back(s);
      ++pa.segment_count;
      if (dot == std::string_view::npos) break;
      tail.remove_prefix(dot + 1);
    }
  }
  prog_->paths.push_back(pa);
  *out = uint32_t(prog_->paths.size() - 1);
  return true;
}

bool Compiler::filter_args(const Token& name, const FilterSpec& spec, FilterCall* call, Token* after) {
  call->first_arg = uint32_t(prog_->args.size());
  Token t = next();
  std::vector<Token> arg_tokens;
  if (t.kind == TokenKind::kColon) {
    for (;;) {
      Token a = next();
      if (a.kind == TokenKind::kEnd || a.kind == TokenKind::kPipe || a.kind == TokenKind::kComma) {
        return fail(a.begin, "expected an argument for " + quoted(spec.name));
      }
      Operand op;
      if (!operand(a, &op)) return false;
      if (op.kind == OperandKind::kPath && spec.id != FilterId::kDefault) {
        return fail(a.begin, quoted(spec.name) + " takes literal arguments, not a variable");
      }
      prog_->args.push_back(op);
      arg_tokens.push_back(a);
      t = next();
      if (t.kind != TokenKind::kComma) break;
    }
  }
  *after = t;
  size_t argc = arg_tokens.size();
  if (argc < spec.min_args || argc > spec.max_args) {
    std::string want;
    if (spec.max_args == 0) {
      want = "takes no arguments";
    } else if (spec.min_args == spec.max_args) {
      want = "takes " + std::to_string(spec.min_args) + (spec.min_args == 1 ? " argument" : " arguments");
    } else {
      want = "takes " + std::to_string(spec.min_args) + " or " + std::to_string(spec.max_args) +
             " arguments";
    }
    return fail(name.begin, quoted(spec.name) + " " + want + ", got " + std::to_string(argc));
  }
  call->argc = uint8_t(argc);
  const Operand* args = prog_->args.data() + call->first_arg;
  switch (spec.id) {
    case FilterId::kTruncate:
      if (args[0].kind != OperandKind::kInt || args[0].integer < 0) {
        return fail(arg_tokens[0].begin, "'truncate' needs a whole number of characters");
      }
      break;
    case FilterId::kNumber:
      if (argc == 1 && (args[0].kind != OperandKind::kInt || args[0].integer < 0 || args[0].integer > 10)) {
        return fail(arg_tokens[0].begin, "'number' needs a count of decimals from 0 to 10");
      }
      break;
    case FilterId::kDate:
      if (args[0].kind != OperandKind::kString) {
        return fail(arg_tokens[0].begin, "'date' needs a quoted format");
      }
      if (auto why = check_date_format(prog_->str(args[0].string))) {
        return fail(arg_tokens[0].begin, "date: " + *why);
      }
      if (argc == 2) {
        if (args[1].kind != OperandKind::kString || !is_valid_zone_name(prog_->str(args[1].string))) {
          std::string_view shown = args[1].kind == OperandKind::kString ? prog_->str(args[1].string)
                                                                         : text(arg_tokens[1]);
          return fail(arg_tokens[1].begin, "date: " + quoted(shown) + " is not a time zone name");
        }
      }
      break;
    case FilterId::kPlural:
      for (size_t i = 0; i < argc; ++i) {
        if (args[i].kind != OperandKind::kString) {
          return fail(arg_tokens[i].begin, "'plural' needs quoted word forms");
        }
      }
      break;
    default:
      break;
  }
  return true;
}

bool Compiler::output(const Piece& p) {
  Expr e;
  e.pos = pos_.at(p.begin);
  Token t = next();
  if (t.kind == TokenKind::kEnd || t.kind == TokenKind::kPipe) return fail(p.begin, "empty path");
  if (!operand(t, &e.value)) return false;
  e.first_filter = uint32_t(prog_->filters.size());
  bool has_default = false;
  t = next();
  while (t.kind == TokenKind::kPipe) {
    Token name = next();
    if (name.kind != TokenKind::kWord) {
      if (name.kind == TokenKind::kEnd) return fail(name.begin, "expected a filter name after '|'");
      return unexpected(name);
    }
    std::string_view n = text(name);
    const FilterSpec* spec = nullptr;
    for (const auto& f : kFilters) {
      if (f.name == n) spec = &f;
    }
    if (!spec) return fail(name.begin, "unknown filter " + quoted(n));
    FilterCall call;
    call.id = spec->id;
    call.pos = pos_.at(name.begin);
    if (!filter_args(name, *spec, &call, &t)) return false;
    has_default |= spec->id == FilterId::kDefault;
    prog_->filters.push_back(call);
    ++e.filter_count;
  }
  if (t.kind != TokenKind::kEnd) return unexpected(t);
  e.escape_html = escape_html_ && !p.triple;
  e.report_missing = e.value.kind == OperandKind::kPath && !has_default &&
                     prog_->paths[e.value.path].root != PathRoot::kLoopVar;
  prog_->exprs.push_back(e);
  add_op(OpCode::kOutput, uint32_t(prog_->exprs.size() - 1));
  hint_ += 16 * weight();
  return true;
}

}  // namespace

core::Result<std::shared_ptr<const Program>> compile_program(std::string_view source, bool escape_html) {
  return Compiler(source, escape_html).run();
}

}  // namespace templating::lang
