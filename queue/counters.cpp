// queue/counters.cpp: the status counters of kCounters (record_format.h).
//
// Counters are kept in the same transaction as the records they count, so
// they are exact at every commit; counts() reads a few keys instead of
// scanning millions of messages. Deltas are summed per transaction because
// a read-modify-write per message would double the writer's work.
#include <algorithm>

#include "core/log.h"
#include "queue/spool_internal.h"

namespace queue::detail {

void CounterDeltas::add(core::MessageStatus s, std::string_view destination, int64_t delta) {
  const auto i = static_cast<size_t>(s);
  status_[i] += delta;
  DestMap& m = dest_[i];
  if (auto it = m.find(destination); it != m.end()) {
    it->second += delta;
  } else {
    m.emplace(std::string(destination), delta);
  }
}

void CounterDeltas::clear() {
  status_.fill(0);
  // clear() keeps the buckets; the next transaction usually sees the same
  // few destinations again.
  for (DestMap& m : dest_) m.clear();
  leased_ = 0;
}

namespace {

core::Status bump(WriteTxn& txn, std::string_view key, int64_t delta) {
  if (delta == 0) return {};
  auto cur = txn.get(Table::kCounters, key);
  if (!cur) return cur.error();
  int64_t v = 0;
  if (*cur) {
    if ((*cur)->size() != 8) {
      return core::make_error(core::Errc::kCorruption, "spool counter is not 8 bytes");
    }
    v = static_cast<int64_t>(format::get_be64((*cur)->data()));
  }
  v += delta;
  if (v < 0) {
    // A bug, not a disk problem: keep the spool running, say so loudly.
    core::log::error("spool counter went negative; reset to 0", {{"value", v}});
    v = 0;
  }
  if (v == 0) {
    if (auto d = txn.del(Table::kCounters, key); !d) return d.error();
    return {};
  }
  const format::Be64 val = format::be64_value(static_cast<uint64_t>(v));
  return txn.put(Table::kCounters, key, val.view());
}

}  // namespace

core::Status CounterDeltas::flush(WriteTxn& txn) {
  for (size_t i = 1; i < status_.size(); ++i) {
    const char st = static_cast<char>(i);
    if (status_[i] != 0) {
      key_.assign(1, format::kCounterStatusTag);
      key_.push_back(st);
      if (auto r = bump(txn, key_, status_[i]); !r) return r;
    }
    for (const auto& [dest, delta] : dest_[i]) {
      if (delta == 0) continue;
      key_.assign(1, format::kCounterDestinationTag);
      key_.push_back(st);
      key_.append(dest);
      if (auto r = bump(txn, key_, delta); !r) return r;
    }
  }
  return bump(txn, format::kCounterLeased, leased_);
}

core::Result<Counts> read_counts(ReadTxn& txn) {
  Counts out;
  for (core::MessageStatus s : core::kAllStatuses) out.by_status[s] = 0;
  bool bad = false;
  auto st = txn.scan(Table::kCounters, {}, {}, [&](std::string_view k, std::string_view v) {
    if (v.size() != 8) {
      bad = true;
      return false;
    }
    const auto n = static_cast<int64_t>(format::get_be64(v.data()));
    const uint64_t count = n < 0 ? 0 : static_cast<uint64_t>(n);
    if (k == format::kCounterLeased) {
      out.leased = count;
    } else if (k.size() >= 2 && (k[1] < 1 || k[1] > 7)) {
      return true;  // a status this build does not know; not ours to report
    } else if (k.size() == 2 && k[0] == format::kCounterStatusTag) {
      out.by_status[static_cast<core::MessageStatus>(k[1])] = count;
    } else if (k.size() >= 2 && k[0] == format::kCounterDestinationTag && count > 0) {
      out.by_destination.push_back(DestinationCount{std::string(k.substr(2)),
                                                    static_cast<core::MessageStatus>(k[1]), count});
    }
    return true;
  });
  if (!st) return st.error();
  if (bad) return core::make_error(core::Errc::kCorruption, "spool counter is not 8 bytes");
  std::sort(out.by_destination.begin(), out.by_destination.end(),
            [](const DestinationCount& a, const DestinationCount& b) {
              return std::tie(a.destination, a.status) < std::tie(b.destination, b.status);
            });
  return out;
}

}  // namespace queue::detail
