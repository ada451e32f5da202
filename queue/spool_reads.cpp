// queue/spool_reads.cpp: reads on the caller's thread, from a snapshot.
//
// Readers never wait for the writer (LMDB MVCC; the memory store's
// copy-on-write tables). Each call is one read transaction, so what it
// returns is consistent with itself: a record and its events, or the
// counters, come from one commit.
#include "queue/spool_internal.h"

namespace queue::detail {

core::Result<std::optional<MessageView>> read_message(const Store& store, const core::Id& id,
                                                      bool with_events) {
  std::optional<MessageView> out;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    format::RecordCodec codec;
    auto v = txn.get(Table::kMessages, format::message_key(id));
    if (!v) return v.error();
    if (!*v) return {};
    MessageView view;
    if (auto d = codec.decode(**v, &view.record); !d) return d;
    auto c = txn.get(Table::kContent, format::content_key(view.record.content_id));
    if (!c) return c.error();
    if (*c) {
      if (auto d = codec.decode(**c, &view.content, nullptr); !d) return d;
    }
    if (with_events) {
      view.events.reserve(view.record.event_count);
      core::Status inner;
      auto s =
          txn.scan(Table::kEvents, id.bytes(), {}, [&](std::string_view k, std::string_view ev) {
            if (k.size() != format::kEventKeyBytes || k.substr(0, core::Id::kBytes) != id.bytes()) {
              return false;
            }
            core::Event e;
            if (auto d = codec.decode(ev, &e); !d) {
              inner = d;
              return false;
            }
            view.events.push_back(std::move(e));
            return true;
          });
      if (!s) return s;
      if (!inner) return inner;
    }
    out = std::move(view);
    return {};
  });
  if (!st) return st.error();
  return out;
}

core::Result<std::optional<core::TimePoint>> read_next_due(const Store& store) {
  std::optional<int64_t> best;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    for (uint8_t band = 1; band <= 3; ++band) {
      const format::DueBound from = format::due_bound(band, 0);
      const format::DueBound to = format::due_bound(static_cast<uint8_t>(band + 1), 0);
      auto s =
          txn.scan(Table::kDue, from.view(), to.view(), [&](std::string_view k, std::string_view) {
            format::DueKeyParts p;
            if (format::parse_due_key(k, &p) && (!best || p.due_ms < *best)) best = p.due_ms;
            return false;  // the first entry of a band is its earliest
          });
      if (!s) return s;
    }
    return {};
  });
  if (!st) return st.error();
  if (!best) return std::optional<core::TimePoint>();
  return std::optional<core::TimePoint>(core::from_unix_ms(*best));
}

core::Result<Counts> read_counts(const Store& store) {
  Counts out;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    auto c = read_counts(txn);
    if (!c) return c.error();
    out = std::move(*c);
    return {};
  });
  if (!st) return st.error();
  return out;
}

}  // namespace queue::detail
