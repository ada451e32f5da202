// mta/dns_cache.h: a bounded cache of DNS answers with per-entry expiry,
// private to the dns part of mta/.
//
// Least recently used entries go first when the cache is full; an entry is
// dropped when it is read at or after its expiry. Time is passed in (the
// Resolver reads its injected core::Clock) so tests drive expiry with
// core::ManualClock. Not thread-safe: the Resolver holds a mutex around it.
// Cost: one hash lookup and a list splice per get/put.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/clock.h"

namespace mta {

template <class V>
class DnsCache {
 public:
  // capacity 0 disables caching: put() stores nothing.
  explicit DnsCache(size_t capacity) : capacity_(capacity) {}

  // The value stored under `key` if it has not expired at `now`; refreshes
  // its recency. An expired entry is removed.
  std::optional<V> get(const std::string& key, core::TimePoint now) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (now >= it->second->expires) {
      entries_.erase(it->second);
      index_.erase(it);
      return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->value;
  }

  // Stores `value` until `expires`, replacing an older value; evicts the
  // least recently used entry when full. A value that has already expired
  // at `now` is not stored (and an older one under the key is dropped).
  void put(const std::string& key, V value, core::TimePoint expires, core::TimePoint now) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      entries_.erase(it->second);
      index_.erase(it);
    }
    if (capacity_ == 0 || expires <= now) return;
    while (entries_.size() >= capacity_) {
      index_.erase(entries_.back().key);
      entries_.pop_back();
    }
    entries_.push_front(Entry{key, std::move(value), expires});
    index_.emplace(key, entries_.begin());
  }

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  void clear() {
    entries_.clear();
    index_.clear();
  }

 private:
  struct Entry {
    std::string key;
    V value;
    core::TimePoint expires;
  };
  size_t capacity_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace mta
