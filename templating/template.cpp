// templating/template.cpp: the public face of the template language; the
// work is in compiler.cpp and interpreter.cpp.
#include "templating/template.h"

#include "templating/program.h"
#include "templating/tz.h"

namespace templating {

void RenderReport::clear() {
  missing.clear();
  warnings.clear();
}

Template::Template() = default;
Template::Template(std::shared_ptr<const lang::Program> p) : program_(std::move(p)) {}

core::Result<Template> Template::compile(std::string_view source, const CompileOptions& options) {
  auto program = lang::compile_program(source, options.escape == Escape::kHtml);
  if (!program) return program.error();
  return Template(std::move(*program));
}

void Template::render(const boost::json::value& vars, const RenderOptions& options, std::string& out,
                      RenderReport* report) const {
  if (!program_ || program_->ops.empty()) return;
  out.reserve(out.size() + program_->size_hint);
  lang::execute(*program_, vars, options, out, report);
}

bool Template::empty() const noexcept { return !program_ || program_->ops.empty(); }
size_t Template::size_hint() const noexcept { return program_ ? program_->size_hint : 0; }
bool Template::uses_variables() const noexcept { return program_ && program_->uses_variables; }

bool is_known_time_zone(std::string_view name) { return lang::find_zone(name) != nullptr; }

}  // namespace templating
