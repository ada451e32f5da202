// engine/ready_queue.h: per-destination ready queues and their round robin.
//
// Private to engine/. A DestinationQueue holds leased messages of one
// destination that wait for a send slot, transactional before normal before
// bulk and first-in first-out within a priority, plus the destination's
// in-flight counts. ReadyQueues owns every DestinationQueue and a ring of
// the destinations that can send now (something ready and a free slot), so
// the dispatcher serves destinations in turn, one batch each: a destination
// that never answers only fills its own slots.
//
// Thread-safety: none; the dispatcher's strand owns these objects.
// Cost: push/take are O(1) per message; remove() is linear in one queue and
// is only used by cancel.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/id.h"
#include "engine/engine.h"
#include "queue/queue.h"

namespace engine {

class ThrottleGroup;  // engine/throttle.h

class DestinationQueue {
 public:
  DestinationQueue(std::string name, uint32_t concurrency);

  const std::string& name() const noexcept { return name_; }
  uint32_t concurrency() const noexcept { return concurrency_; }

  void push(queue::Leased item);
  // Up to `n` messages in priority order.
  std::vector<queue::Leased> take(size_t n);
  // Takes out the message `id`, if it is waiting here.
  std::optional<queue::Leased> remove(const core::Id& id);
  // Takes out every waiting message for which `pred` is true.
  std::vector<queue::Leased> remove_if(const std::function<bool(const queue::Leased&)>& pred);
  std::vector<queue::Leased> take_all();

  size_t ready() const noexcept { return ready_; }
  size_t sends_in_flight() const noexcept { return sends_in_flight_; }
  size_t messages_in_flight() const noexcept { return messages_in_flight_; }

  // A send of `messages` started / ended.
  void send_started(size_t messages) noexcept;
  void send_ended(size_t messages) noexcept;

  bool can_send() const noexcept {
    return ready_ > 0 && sends_in_flight_ < concurrency_ && !held_;
  }
  // The oldest waiting message of the highest priority, or null.
  const queue::Leased* peek() const noexcept;

  // Throttle state, kept by the dispatcher (dispatcher_throttle.cpp). A
  // held queue is not runnable until the dispatcher lets it go.
  enum class Hop : uint8_t { kUnknown, kAsking, kKnown, kUnshaped };
  bool held() const noexcept { return held_; }
  void set_held(bool held) noexcept { held_ = held; }
  std::shared_ptr<ThrottleGroup> group;  // null until the first send
  uint64_t group_generation = 0;         // Throttles::generation() it was resolved at
  Hop hop = Hop::kUnknown;
  std::string first_hop;  // the transport's first hop (MX host), for MX rules
  bool idle() const noexcept { return ready_ == 0 && sends_in_flight_ == 0; }

 private:
  friend class ReadyQueues;
  static constexpr size_t kPriorities = 3;  // core::Priority 1..3
  static size_t slot(const queue::Leased& item) noexcept;

  const std::string name_;
  const uint32_t concurrency_;
  std::array<std::deque<queue::Leased>, kPriorities> by_priority_;
  size_t ready_ = 0;
  size_t sends_in_flight_ = 0;
  size_t messages_in_flight_ = 0;
  bool in_ring_ = false;  // listed in ReadyQueues::ring_
  bool held_ = false;
};

class ReadyQueues {
 public:
  explicit ReadyQueues(uint32_t concurrency) : concurrency_(concurrency) {}

  // The queue of `destination`, created on first use. The reference stays
  // valid until erase_idle() removes the queue (never while it is listed in
  // the ring or has sends in flight).
  DestinationQueue& at(std::string_view destination);
  DestinationQueue* find(std::string_view destination) noexcept;

  // Puts a leased message in its destination's queue (record.destination).
  DestinationQueue& place(queue::Leased item);

  // The next destination in turn that can send, or nullptr when none can.
  // The destination leaves the ring; call reschedule() after using it.
  DestinationQueue* next_runnable() noexcept;
  // Lists `q` at the end of the ring if it can send and is not listed.
  void reschedule(DestinationQueue& q);

  size_t total_ready() const noexcept;
  size_t size() const noexcept { return queues_.size(); }

  // destination -> ready count, for destinations with something ready (the
  // lease admission snapshot).
  std::map<std::string, size_t, std::less<>> ready_counts() const;
  // For Engine::destinations(), sorted by destination.
  std::vector<DestinationState> snapshot() const;
  // Drops queues with nothing ready, nothing in flight and not held.
  void erase_idle();
  void for_each(const std::function<void(DestinationQueue&)>& fn);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  const uint32_t concurrency_;
  std::unordered_map<std::string, std::unique_ptr<DestinationQueue>, Hash, std::equal_to<>> queues_;
  std::deque<DestinationQueue*> ring_;
};

}  // namespace engine
