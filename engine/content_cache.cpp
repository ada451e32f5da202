// engine/content_cache.cpp
#include "engine/content_cache.h"

#include <fmt/format.h>

namespace engine {

namespace {

std::string id_key(std::string_view tenant, std::string_view id) {
  std::string k;
  k.reserve(tenant.size() + id.size() + 1);
  k.append(tenant).push_back('\0');
  k.append(id);
  return k;
}

std::string version_key(std::string_view tenant, std::string_view id, uint32_t version) {
  std::string k = id_key(tenant, id);
  k.push_back('\0');
  k.append(std::to_string(version));
  return k;
}

}  // namespace

ContentCache::ContentCache(queue::Spool& spool, size_t capacity)
    : spool_(spool), capacity_(std::max<size_t>(capacity, 1)) {}

size_t ContentCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

void ContentCache::insert_locked(std::string key, CompiledPtr c) {
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(key, std::move(c));
  by_key_.emplace(std::move(key), lru_.begin());
  while (lru_.size() > capacity_) {
    by_key_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

core::Result<CompiledPtr> ContentCache::version(std::string_view tenant, std::string_view id,
                                                uint32_t v) {
  std::string key = version_key(tenant, id, v);
  {
    std::lock_guard lock(mu_);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Two threads may both miss and compile: harmless (same immutable input),
  // and cheaper than holding the lock over a spool read and a compile.
  auto stored = spool_.get_template(tenant, id, v);
  if (!stored) return stored.error();
  if (!*stored || (*stored)->deleted) {
    return core::make_error(core::Errc::kNotFound,
                            fmt::format("template '{}' version {} is not stored", id, v),
                            "template_id");
  }
  auto compiled = templating::CompiledContent::compile(std::move((*stored)->source));
  if (!compiled) return compiled.error();
  std::lock_guard lock(mu_);
  insert_locked(std::move(key), *compiled);
  return *compiled;
}

core::Result<CompiledPtr> ContentCache::for_message(std::string_view tenant,
                                                    const core::Content& content) {
  if (!content.raw.empty()) {
    // Injected mail is sent as is (the dispatcher never asks for it); a
    // caller that does gets an error, not a compile of the empty parts.
    return core::invalid_argument("content.raw",
                                  "content.raw: raw email is sent as is, not rendered");
  }
  if (content.template_id.empty()) {
    auto c = templating::CompiledContent::compile(content);
    if (!c) return c.error();
    return *c;
  }
  return version(tenant, content.template_id, content.template_version);
}

core::Result<CurrentTemplate> ContentCache::current(std::string_view tenant, std::string_view id) {
  const std::string key = id_key(tenant, id);
  {
    std::lock_guard lock(mu_);
    if (auto it = current_.find(key); it != current_.end()) {
      if (it->second.version == 0) {
        return core::make_error(core::Errc::kNotFound,
                                fmt::format("template '{}' does not exist", id), "template_id");
      }
      return it->second;
    }
  }
  auto stored = spool_.get_template(tenant, id);
  if (!stored) return stored.error();
  CurrentTemplate cur;
  if (*stored && !(*stored)->deleted) {
    auto compiled = version(tenant, id, (*stored)->version);
    if (!compiled) return compiled.error();
    cur = CurrentTemplate{(*stored)->version, *compiled};
  }
  std::lock_guard lock(mu_);
  // A concurrent stored() may have put a newer version in meanwhile: keep
  // the higher one.
  auto [it, inserted] = current_.try_emplace(key, cur);
  if (!inserted && it->second.version < cur.version) it->second = cur;
  if (it->second.version == 0) {
    return core::make_error(core::Errc::kNotFound, fmt::format("template '{}' does not exist", id),
                            "template_id");
  }
  return it->second;
}

void ContentCache::stored(std::string_view tenant, const queue::StoredTemplate& t,
                          CompiledPtr compiled) {
  std::lock_guard lock(mu_);
  CurrentTemplate& cur = current_[id_key(tenant, t.id)];
  if (cur.version > t.version) return;
  if (t.deleted) {
    cur = CurrentTemplate{};  // version 0: known to be absent
    return;
  }
  cur = CurrentTemplate{t.version, compiled};
  if (compiled) insert_locked(version_key(tenant, t.id, t.version), std::move(compiled));
}

}  // namespace engine
