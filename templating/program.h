// templating/program.h: the compiled form of a template (private to
// templating/).
//
// A Program is a flat vector of ops with absolute jump targets, plus side
// tables the ops index into. All text the renderer needs — literal output,
// path keys, string arguments, the spelling of each path for reports —
// lives in one owned string, `pool`, addressed by Slices. Nothing in a
// Program points outside it, so it can be shared by any number of threads.
//
// Control flow, as the compiler lays it out:
//
//   {{#if a}}X{{else if b}}Y{{else}}Z{{/if}}
//     JumpIfFalse a -> L1;  X;  Jump -> END
//     L1: JumpIfFalse b -> L2;  Y;  Jump -> END
//     L2: Z
//     END:
//   ({{#unless}} is the same with JumpIfTrue.)
//
//   {{#each xs}}X{{else}}E{{/each}}
//     EachBegin xs -> ELSE  (empty or not a list: jump; else push a loop)
//     BODY: X
//     EachNext -> BODY      (more items: jump back; else pop)
//     Jump -> END
//     ELSE: E
//     END:
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "templating/template.h"

namespace templating::lang {

inline constexpr size_t kMaxSourceBytes = size_t(1) << 20;
inline constexpr size_t kMaxDepth = 32;
inline constexpr uint64_t kMaxRenderSteps = uint64_t(1) << 22;
inline constexpr size_t kMaxRenderOutput = size_t(64) << 20;
inline constexpr size_t kMaxWarnings = 64;

struct Slice {
  uint32_t offset = 0;
  uint32_t size = 0;
};

struct SourcePos {
  uint32_t line = 0;
  uint32_t column = 0;
};

enum class PathRoot : uint8_t {
  kScope,    // name: the innermost scope that has it, out to the root
  kThis,     // this, this.x, ../this: exactly one scope
  kRoot,     // @root.x
  kLoopVar,  // @index @number @first @last @key
};
enum class LoopVar : uint8_t { kIndex, kNumber, kFirst, kLast, kKey };

struct Segment {
  Slice key;
  uint32_t index = 0;     // the key as an array index, when is_index
  bool is_index = false;  // all digits and fits in uint32
};

struct Path {
  PathRoot root = PathRoot::kScope;
  LoopVar var = LoopVar::kIndex;
  uint8_t up = 0;  // leading "../" count
  uint32_t first_segment = 0;
  uint32_t segment_count = 0;
  Slice spelling;  // "order.id" as written, for reports
};

enum class OperandKind : uint8_t { kPath, kString, kInt, kDouble, kBool, kNull };

struct Operand {
  OperandKind kind = OperandKind::kNull;
  bool boolean = false;
  uint32_t path = 0;  // index into Program::paths
  Slice string;
  int64_t integer = 0;
  double real = 0;
};

enum class FilterId : uint8_t {
  kDefault,
  kUpper,
  kLower,
  kCapitalize,
  kTrim,
  kTruncate,
  kRaw,
  kEscape,
  kUrlEncode,
  kDate,
  kNumber,
  kPlural,
  kSize,
};

struct FilterCall {
  FilterId id = FilterId::kRaw;
  uint8_t argc = 0;
  uint32_t first_arg = 0;  // index into Program::args
  SourcePos pos;
};

struct Expr {
  Operand value;
  uint32_t first_filter = 0;
  uint32_t filter_count = 0;
  bool escape_html = false;
  bool report_missing = false;  // a path with no `default` in the chain
  SourcePos pos;
};

enum class CmpOp : uint8_t { kNone, kEq, kNe, kLt, kLe, kGt, kGe };

struct Cond {
  Operand lhs;
  CmpOp op = CmpOp::kNone;
  Operand rhs;
  SourcePos pos;
};

struct Each {
  uint32_t path = 0;
  SourcePos pos;
};

enum class OpCode : uint8_t {
  kText,         // append pool[a, a+b)
  kOutput,       // append exprs[a]
  kJumpIfFalse,  // conds[a] false -> target
  kJumpIfTrue,   // conds[a] true -> target
  kJump,         // -> target
  kEachBegin,    // eaches[a] empty -> target; else enter the loop
  kEachNext,     // next item -> target; else leave the loop
};

struct Op {
  OpCode code = OpCode::kText;
  uint32_t a = 0;
  uint32_t b = 0;
  uint32_t target = 0;
};

struct Program {
  std::string pool;
  std::vector<Op> ops;
  std::vector<Expr> exprs;
  std::vector<Cond> conds;
  std::vector<Each> eaches;
  std::vector<Path> paths;
  std::vector<Segment> segments;
  std::vector<FilterCall> filters;
  std::vector<Operand> args;
  size_t size_hint = 0;
  bool uses_variables = false;

  std::string_view str(Slice s) const noexcept { return {pool.data() + s.offset, s.size}; }
};

// The compiler (compiler.cpp). Errors as Template::compile documents.
core::Result<std::shared_ptr<const Program>> compile_program(std::string_view source, bool escape_html);

// The interpreter (interpreter.cpp). See Template::render.
void execute(const Program& program, const boost::json::value& vars, const RenderOptions& options,
             std::string& out, RenderReport* report);

}  // namespace templating::lang
