// engine/content_cache.h: compiled templates, shared by submit and delivery.
//
// Private to engine/. A template version is immutable once stored, so its
// compiled form is cached by (tenant, id, version) with LRU eviction; the
// "current version" of each template is cached too and replaced when this
// process stores a new version (only this process writes the spool: it holds
// the spool's lock). Inline content is compiled per use: it belongs to one
// message.
//
// Thread-safety: every method may be called from any thread (one mutex; the
// compile and the spool read happen outside it).
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/message.h"
#include "core/result.h"
#include "queue/queue.h"
#include "templating/render.h"

namespace engine {

using CompiledPtr = std::shared_ptr<const templating::CompiledContent>;

struct CurrentTemplate {
  uint32_t version = 0;
  CompiledPtr compiled;
};

class ContentCache {
 public:
  ContentCache(queue::Spool& spool, size_t capacity);

  // The compiled content a message renders: its template version, or its
  // inline parts. Errors: kNotFound when the template version is gone
  // (purged spool), kInvalidArgument when stored content no longer
  // compiles (a template stored by an older build), store errors.
  core::Result<CompiledPtr> for_message(std::string_view tenant, const core::Content& content);

  // The live template `id` of `tenant`: kNotFound when there is none (never
  // stored, or deleted).
  core::Result<CurrentTemplate> current(std::string_view tenant, std::string_view id);

  // After this process stored `stored` (a new version or a tombstone).
  void stored(std::string_view tenant, const queue::StoredTemplate& stored, CompiledPtr compiled);

  size_t size() const;

 private:
  core::Result<CompiledPtr> version(std::string_view tenant, std::string_view id,
                                    uint32_t version);
  void insert_locked(std::string key, CompiledPtr c);

  queue::Spool& spool_;
  const size_t capacity_;
  mutable std::mutex mu_;
  // LRU of compiled versions: key tenant '\0' id '\0' version.
  std::list<std::pair<std::string, CompiledPtr>> lru_;
  std::unordered_map<std::string, decltype(lru_)::iterator> by_key_;
  // tenant '\0' id -> current version (0: known to be absent).
  std::unordered_map<std::string, CurrentTemplate> current_;
};

}  // namespace engine
