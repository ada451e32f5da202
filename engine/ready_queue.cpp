// engine/ready_queue.cpp: per-destination ready queues and their round robin.
#include "engine/ready_queue.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace engine {

DestinationQueue::DestinationQueue(std::string name, uint32_t concurrency)
    : name_(std::move(name)), concurrency_(std::max<uint32_t>(concurrency, 1)) {}

size_t DestinationQueue::slot(const queue::Leased& item) noexcept {
  const auto p = static_cast<size_t>(item.record.request.priority);
  // Unknown values (a newer record read by an older binary) go last.
  return p >= 1 && p <= kPriorities ? p - 1 : kPriorities - 1;
}

void DestinationQueue::push(queue::Leased item) {
  by_priority_[slot(item)].push_back(std::move(item));
  ++ready_;
}

std::vector<queue::Leased> DestinationQueue::take(size_t n) {
  std::vector<queue::Leased> out;
  out.reserve(std::min(n, ready_));
  for (auto& q : by_priority_) {
    while (out.size() < n && !q.empty()) {
      out.push_back(std::move(q.front()));
      q.pop_front();
    }
  }
  ready_ -= out.size();
  return out;
}

std::optional<queue::Leased> DestinationQueue::remove(const core::Id& id) {
  for (auto& q : by_priority_) {
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (it->record.id == id) {
        queue::Leased item = std::move(*it);
        q.erase(it);
        --ready_;
        return item;
      }
    }
  }
  return std::nullopt;
}

std::vector<queue::Leased> DestinationQueue::remove_if(
    const std::function<bool(const queue::Leased&)>& pred) {
  std::vector<queue::Leased> out;
  for (auto& q : by_priority_) {
    std::deque<queue::Leased> keep;
    for (auto& item : q) {
      if (pred(item)) {
        out.push_back(std::move(item));
      } else {
        keep.push_back(std::move(item));
      }
    }
    q.swap(keep);
  }
  ready_ -= out.size();
  return out;
}

std::vector<queue::Leased> DestinationQueue::take_all() { return take(ready_); }

const queue::Leased* DestinationQueue::peek() const noexcept {
  for (const auto& q : by_priority_)
    if (!q.empty()) return &q.front();
  return nullptr;
}

void DestinationQueue::send_started(size_t messages) noexcept {
  ++sends_in_flight_;
  messages_in_flight_ += messages;
}

void DestinationQueue::send_ended(size_t messages) noexcept {
  assert(sends_in_flight_ > 0 && messages_in_flight_ >= messages);
  --sends_in_flight_;
  messages_in_flight_ -= messages;
}

DestinationQueue& ReadyQueues::at(std::string_view destination) {
  auto it = queues_.find(destination);
  if (it == queues_.end()) {
    auto q = std::make_unique<DestinationQueue>(std::string(destination), concurrency_);
    it = queues_.emplace(std::string(destination), std::move(q)).first;
  }
  return *it->second;
}

DestinationQueue* ReadyQueues::find(std::string_view destination) noexcept {
  auto it = queues_.find(destination);
  return it == queues_.end() ? nullptr : it->second.get();
}

DestinationQueue& ReadyQueues::place(queue::Leased item) {
  DestinationQueue& q = at(item.record.destination);
  q.push(std::move(item));
  reschedule(q);
  return q;
}

DestinationQueue* ReadyQueues::next_runnable() noexcept {
  while (!ring_.empty()) {
    DestinationQueue* q = ring_.front();
    ring_.pop_front();
    q->in_ring_ = false;
    if (q->can_send()) return q;
  }
  return nullptr;
}

void ReadyQueues::reschedule(DestinationQueue& q) {
  if (q.in_ring_ || !q.can_send()) return;
  q.in_ring_ = true;
  ring_.push_back(&q);
}

size_t ReadyQueues::total_ready() const noexcept {
  size_t n = 0;
  for (const auto& [name, q] : queues_) n += q->ready();
  return n;
}

std::map<std::string, size_t, std::less<>> ReadyQueues::ready_counts() const {
  std::map<std::string, size_t, std::less<>> out;
  for (const auto& [name, q] : queues_) {
    if (q->ready() > 0) out.emplace(name, q->ready());
  }
  return out;
}

std::vector<DestinationState> ReadyQueues::snapshot() const {
  std::vector<DestinationState> out;
  out.reserve(queues_.size());
  for (const auto& [name, q] : queues_) {
    DestinationState s;
    s.destination = name;
    s.ready = q->ready();
    s.in_flight = q->messages_in_flight();
    s.concurrency = q->concurrency();
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const DestinationState& a, const DestinationState& b) {
    return a.destination < b.destination;
  });
  return out;
}

void ReadyQueues::erase_idle() {
  std::erase_if(queues_, [](const auto& kv) {
    return kv.second->idle() && !kv.second->in_ring_ && !kv.second->held();
  });
}

void ReadyQueues::for_each(const std::function<void(DestinationQueue&)>& fn) {
  for (auto& [name, q] : queues_) fn(*q);
}

}  // namespace engine
