// queue/spool_txn.cpp: the state changes of a stored message, each inside
// the writer's transaction. FORMAT.md lists the invariants these keep:
//   queued, or sending and waiting for a retry -> exactly one kDue entry
//   sending and leased                         -> exactly one kLeases entry
//   final                                      -> exactly one kFinished entry
// and every change of status appends one event.
#include "core/log.h"
#include "queue/spool_internal.h"

namespace queue::detail {

using core::MessageStatus;

core::Result<std::optional<core::MessageRecord>> TxnOps::load(const core::Id& id) {
  auto v = txn_.get(Table::kMessages, format::message_key(id));
  if (!v) return v.error();
  if (!*v) return std::optional<core::MessageRecord>();
  core::MessageRecord r;
  if (auto st = s_.codec.decode(**v, &r); !st) {
    // One bad record must not stop delivery of the others: report it and
    // treat the message as absent. It stays on disk for inspection.
    core::log::error("spool record does not decode; skipped",
                     {{"id", id.to_string()}, {"error", st.error().message}});
    return std::optional<core::MessageRecord>();
  }
  return std::optional<core::MessageRecord>(std::move(r));
}

core::Status TxnOps::store_record(const core::MessageRecord& r) {
  return txn_.put(Table::kMessages, format::message_key(r.id), s_.codec.encode(r));
}

core::Status TxnOps::add_event(core::MessageRecord& r, MessageStatus status,
                               std::string_view detail, uint32_t attempt,
                               std::optional<core::Channel> channel) {
  core::Event e;
  e.at = now_;
  e.status = status;
  e.detail.assign(detail);
  e.attempt = attempt;
  e.channel = channel;
  const format::EventKey k = format::event_key(r.id, r.event_count);
  ++r.event_count;
  return txn_.put(Table::kEvents, k.view(), s_.codec.encode(e));
}

core::Status TxnOps::put_due(const core::MessageRecord& r) {
  const format::DueKey k =
      format::due_key(static_cast<uint8_t>(r.request.priority), core::to_unix_ms(r.due_at), r.id);
  return txn_.put(Table::kDue, k.view(), r.destination);
}

core::Status TxnOps::del_due(const core::MessageRecord& r) {
  const format::DueKey k =
      format::due_key(static_cast<uint8_t>(r.request.priority), core::to_unix_ms(r.due_at), r.id);
  if (auto d = txn_.del(Table::kDue, k.view()); !d) return d.error();
  return {};
}

// Makes `r` final with `status`; the caller has removed its due or lease
// entry and adds the event.
core::Status TxnOps::finish(core::MessageRecord& r, MessageStatus status) {
  r.status = status;
  r.finished_at = now_;
  r.lease_until.reset();
  const format::TimeIdKey k = format::time_id_key(now_ms_, r.id);
  return txn_.put(Table::kFinished, k.view(), {});
}

// ---- cancel -----------------------------------------------------------------

core::Status TxnOps::cancel(CancelOp& op) {
  auto loaded = load(op.id);
  if (!loaded) return loaded.error();
  if (!*loaded) {
    op.result =
        core::make_error(core::Errc::kNotFound, "message " + op.id.to_string() + " not found");
    return {};
  }
  core::MessageRecord& r = **loaded;
  if (core::is_final(r.status)) {
    op.result = core::make_error(core::Errc::kConflict,
                                 "message is already " + std::string(core::status_name(r.status)));
    return {};
  }
  if (r.lease_until) {
    op.result = core::make_error(core::Errc::kConflict,
                                 "message is being delivered now and cannot be cancelled");
    return {};
  }
  const MessageStatus before = r.status;
  if (auto st = del_due(r); !st) return st;
  if (auto st = finish(r, MessageStatus::kCancelled); !st) return st;
  if (auto st = add_event(r, MessageStatus::kCancelled, op.detail, 0, current_channel(r)); !st) {
    return st;
  }
  if (auto st = store_record(r); !st) return st;
  s_.counters.add(before, r.destination, -1);
  s_.counters.add(MessageStatus::kCancelled, r.destination, 1);
  op.result = MessageStatus::kCancelled;
  return {};
}

// ---- lease ------------------------------------------------------------------

// The due index is scanned band by band (transactional, normal, bulk), each
// from its oldest entry up to now. Every entry we look at leaves the range
// [band start, now] in this transaction (leased, expired or deferred into
// the future), so a chunked rescan from just past the last key visits each
// entry once. The number of entries examined per call is bounded so that a
// destination that rejects everything cannot keep the writer busy.
core::Status TxnOps::lease(LeaseOp& op) {
  op.leased.clear();
  const LeaseRequest& req = op.request;
  if (req.max == 0) return {};
  const core::Duration defer = std::max(req.defer_rejected_by, core::Duration(1));
  const size_t budget = req.max * 4 + 1024;
  size_t examined = 0;
  std::unordered_map<core::Id, std::shared_ptr<const core::Content>, core::IdHash> contents;

  for (uint8_t band = 1; band <= 3; ++band) {
    const format::DueBound end = format::due_bound(band, now_ms_ + 1);
    std::string from(format::due_bound(band, 0).view());
    for (;;) {
      if (op.leased.size() >= req.max || examined >= budget) return {};
      const size_t want = std::min(req.max - op.leased.size() + 64, budget - examined);
      s_.candidates.clear();
      auto st = txn_.scan(Table::kDue, from, end.view(), [&](std::string_view k, std::string_view) {
        if (k.size() != format::kDueKeyBytes) return true;  // not ours; skip
        format::DueKey& c = s_.candidates.emplace_back();
        std::copy(k.begin(), k.end(), c.b.begin());
        return s_.candidates.size() < want;
      });
      if (!st) return st;
      if (s_.candidates.empty()) break;
      for (const format::DueKey& c : s_.candidates) {
        ++examined;
        format::DueKeyParts parts;
        format::parse_due_key(c.view(), &parts);
        auto loaded = load(parts.id);
        if (!loaded) return loaded.error();
        if (!*loaded || (*loaded)->lease_until || core::is_final((*loaded)->status)) {
          // An index entry with no deliverable message behind it cannot be
          // acted on; drop it rather than trip over it on every scan.
          core::log::warn("spool due entry without a waiting message; removed",
                          {{"id", parts.id.to_string()}});
          if (auto d = txn_.del(Table::kDue, c.view()); !d) return d.error();
          continue;
        }
        core::MessageRecord& r = **loaded;
        if (auto d = txn_.del(Table::kDue, c.view()); !d) return d.error();
        const MessageStatus before = r.status;

        if (r.request.expires_at && *r.request.expires_at <= now_) {
          if (auto s2 = finish(r, MessageStatus::kFailed); !s2) return s2;
          r.bounce = core::Bounce{"expired", core::Reply{}};
          if (auto s2 = add_event(r, MessageStatus::kFailed, "expired before delivery", 0,
                                  current_channel(r));
              !s2) {
            return s2;
          }
          if (auto s2 = store_record(r); !s2) return s2;
          s_.counters.add(before, r.destination, -1);
          s_.counters.add(MessageStatus::kFailed, r.destination, 1);
          continue;
        }
        if (req.admit && !req.admit(r.destination)) {
          // No event, no attempt: it just waits.
          r.due_at = now_ + (req.defer_for ? std::max(req.defer_for(r.destination), core::Duration(1))
                                           : defer);
          if (auto s2 = put_due(r); !s2) return s2;
          if (auto s2 = store_record(r); !s2) return s2;
          continue;
        }
        if (auto s2 = lease_one(op, r, contents); !s2) return s2;
        if (op.leased.size() >= req.max) return {};
      }
      if (s_.candidates.size() < want) break;  // the band has nothing more due
      from.assign(s_.candidates.back().view());
      from.push_back('\0');  // the smallest key after the last one seen
    }
  }
  return {};
}

core::Status TxnOps::lease_one(
    LeaseOp& op, core::MessageRecord& r,
    std::unordered_map<core::Id, std::shared_ptr<const core::Content>, core::IdHash>& contents) {
  const MessageStatus before = r.status;
  r.status = MessageStatus::kSending;
  ++r.lease_gen;
  r.lease_until = now_ + config_.lease_timeout;
  if (before == MessageStatus::kQueued) {
    // queued -> sending is a change of status; a retry lease (already
    // sending) is not, and its outcome will get its own event.
    if (auto st = add_event(r, MessageStatus::kSending, {}, r.attempts + 1, current_channel(r));
        !st) {
      return st;
    }
    s_.counters.add(before, r.destination, -1);
    s_.counters.add(MessageStatus::kSending, r.destination, 1);
  }
  const format::TimeIdKey lk = format::time_id_key(core::to_unix_ms(*r.lease_until), r.id);
  const format::Be64 gen = format::be64_value(r.lease_gen);
  if (auto st = txn_.put(Table::kLeases, lk.view(), gen.view()); !st) return st;
  if (auto st = store_record(r); !st) return st;
  s_.counters.add_leased(1);

  std::shared_ptr<const core::Content>& content = contents[r.content_id];
  if (!content) {
    auto v = txn_.get(Table::kContent, format::content_key(r.content_id));
    if (!v) return v.error();
    auto c = std::make_shared<core::Content>();
    if (!*v) {
      core::log::error("spool content missing; leased with empty content",
                       {{"id", r.id.to_string()}});
    } else if (auto st = s_.codec.decode(**v, c.get(), nullptr); !st) {
      core::log::error("spool content does not decode; leased with empty content",
                       {{"id", r.id.to_string()}, {"error", st.error().message}});
    }
    content = std::move(c);
  }
  op.leased.push_back(Leased{std::move(r), content});
  return {};
}

// ---- apply ------------------------------------------------------------------

core::Status TxnOps::apply(ApplyOp& op) {
  op.stale = 0;
  for (const Transition& t : op.transitions) {
    if (auto st = apply_one(t, op); !st) return st;
  }
  return {};
}

core::Status TxnOps::apply_one(const Transition& t, ApplyOp& op) {
  auto loaded = load(t.id);
  if (!loaded) return loaded.error();
  if (!*loaded || (*loaded)->status != MessageStatus::kSending || !(*loaded)->lease_until ||
      (*loaded)->lease_gen != t.lease_gen) {
    // The lease was reclaimed (and maybe re-leased) since: another result
    // owns this message now. Applying ours could deliver twice or undo a
    // newer outcome.
    ++op.stale;
    ++s_.stale_results;
    core::log::debug("stale spool transition ignored",
                     {{"id", t.id.to_string()}, {"lease_gen", t.lease_gen}});
    return {};
  }
  core::MessageRecord& r = **loaded;
  const MessageStatus before = r.status;
  const std::string before_dest = r.destination;
  const std::optional<core::Channel> attempt_channel = current_channel(r);

  const format::TimeIdKey lk = format::time_id_key(core::to_unix_ms(*r.lease_until), r.id);
  if (auto d = txn_.del(Table::kLeases, lk.view()); !d) return d.error();
  s_.counters.add_leased(-1);
  r.lease_until.reset();

  if (t.counts_attempt) ++r.attempts;
  if (t.reply) r.last_reply = t.reply;
  if (t.channel_index && *t.channel_index < r.request.channels.size()) {
    r.channel_index = *t.channel_index;
    r.destination = t.destination;
    r.channel_attempt_base = r.attempts;  // the new channel gets a full retry budget
  }
  const uint32_t attempt = t.counts_attempt ? r.attempts : 0;

  if (core::is_final(t.status)) {
    if (auto st = finish(r, t.status); !st) return st;
    if (t.bounce) r.bounce = t.bounce;
    if (t.status == MessageStatus::kDelivered && !t.provider_ref.empty() && attempt_channel &&
        t.provider_ref.size() <= 400) {
      // Receipts find the message by its provider ref (LMDB keys are at most
      // 511 bytes; real refs are tens).
      r.provider_ref = t.provider_ref;
      r.receipt_state = 0;
      if (auto p = txn_.put(Table::kRefs, ref_key(*attempt_channel, r.provider_ref),
                            r.id.bytes());
          !p) {
        return p;
      }
    }
    if (auto st = add_event(r, t.status, t.detail, attempt, attempt_channel); !st) return st;
  } else {
    if (!t.due_at) {
      core::log::warn("spool transition without due_at; due now", {{"id", r.id.to_string()}});
    }
    r.due_at = t.due_at.value_or(now_);
    if (t.status == MessageStatus::kSending) {
      // Waiting for a retry: the status stays sending; the attempt's reply
      // is the event.
      r.status = MessageStatus::kSending;
      if (auto st = add_event(r, MessageStatus::kSending, t.detail, attempt, attempt_channel);
          !st) {
        return st;
      }
    } else {
      // Released without an attempt (shutdown). A message that has made
      // attempts stays sending: it is still "between retries".
      r.status = r.attempts == 0 ? MessageStatus::kQueued : MessageStatus::kSending;
      if (r.status != before) {
        if (auto st = add_event(r, r.status, t.detail, 0, attempt_channel); !st) return st;
      }
    }
    if (auto st = put_due(r); !st) return st;
  }
  if (auto st = store_record(r); !st) return st;
  s_.counters.add(before, before_dest, -1);
  s_.counters.add(r.status, r.destination, 1);
  return {};
}

// ---- reclaim ----------------------------------------------------------------

core::Status TxnOps::reclaim(ReclaimOp& op, bool all, size_t max, std::string_view detail) {
  op.reclaimed = 0;
  s_.time_keys.clear();
  const format::TimeBound end = format::time_bound(now_ms_ + 1);
  auto st = txn_.scan(Table::kLeases, {}, all ? std::string_view() : end.view(),
                      [&](std::string_view k, std::string_view) {
                        if (k.size() != format::kTimeIdKeyBytes) return true;
                        format::TimeIdKey& tk = s_.time_keys.emplace_back();
                        std::copy(k.begin(), k.end(), tk.b.begin());
                        return s_.time_keys.size() < max;
                      });
  if (!st) return st;
  for (const format::TimeIdKey& k : s_.time_keys) {
    int64_t until_ms = 0;
    core::Id id;
    format::parse_time_id_key(k.view(), &until_ms, &id);
    if (auto d = txn_.del(Table::kLeases, k.view()); !d) return d.error();
    s_.counters.add_leased(-1);
    auto loaded = load(id);
    if (!loaded) return loaded.error();
    if (!*loaded || !(*loaded)->lease_until || (*loaded)->status != MessageStatus::kSending ||
        core::to_unix_ms(*(*loaded)->lease_until) != until_ms) {
      core::log::warn("spool lease entry without a leased message; removed",
                      {{"id", id.to_string()}});
      continue;
    }
    core::MessageRecord& r = **loaded;
    const MessageStatus before = r.status;
    r.lease_until.reset();
    r.due_at = now_;
    r.status = r.attempts == 0 ? MessageStatus::kQueued : MessageStatus::kSending;
    // Always an event, even when the status stays sending: the attempt in
    // flight may or may not have reached the recipient, and the history
    // should say why a message may arrive twice.
    if (auto s2 = add_event(r, r.status, detail, 0, current_channel(r)); !s2) return s2;
    if (auto s2 = put_due(r); !s2) return s2;
    if (auto s2 = store_record(r); !s2) return s2;
    s_.counters.add(before, r.destination, -1);
    s_.counters.add(r.status, r.destination, 1);
    ++op.reclaimed;
  }
  return {};
}

// ---- purge ------------------------------------------------------------------

core::Status TxnOps::purge(PurgeOp& op) {
  op.purged = 0;
  if (op.max == 0) return {};
  s_.time_keys.clear();
  const int64_t cutoff_ms = now_ms_ - config_.retention.count();
  if (cutoff_ms < 0) return {};
  const format::TimeBound end = format::time_bound(cutoff_ms + 1);
  auto st = txn_.scan(Table::kFinished, {}, end.view(), [&](std::string_view k, std::string_view) {
    if (k.size() != format::kTimeIdKeyBytes) return true;
    format::TimeIdKey& tk = s_.time_keys.emplace_back();
    std::copy(k.begin(), k.end(), tk.b.begin());
    return s_.time_keys.size() < op.max;
  });
  if (!st) return st;
  for (const format::TimeIdKey& k : s_.time_keys) {
    int64_t ms = 0;
    core::Id id;
    format::parse_time_id_key(k.view(), &ms, &id);
    if (auto d = txn_.del(Table::kFinished, k.view()); !d) return d.error();
    auto loaded = load(id);
    if (!loaded) return loaded.error();
    if (!*loaded) continue;
    const core::MessageRecord& r = **loaded;
    if (auto d = txn_.del(Table::kMessages, format::message_key(id)); !d) return d.error();
    if (!r.provider_ref.empty()) {
      if (const auto ch = current_channel(r)) {
        if (auto d = txn_.del(Table::kRefs, ref_key(*ch, r.provider_ref)); !d) return d.error();
      }
    }
    for (uint32_t seq = 0; seq < r.event_count; ++seq) {
      const format::EventKey ek = format::event_key(id, seq);
      if (auto d = txn_.del(Table::kEvents, ek.view()); !d) return d.error();
    }
    if (!r.request.idempotency_key.empty()) {
      format::idempotency_key(&s_.key, r.tenant, r.request.idempotency_key);
      auto v = txn_.get(Table::kIdempotency, s_.key);
      if (!v) return v.error();
      // Only our own entry: never drop a key that names another message.
      if (*v && **v == id.bytes()) {
        if (auto d = txn_.del(Table::kIdempotency, s_.key); !d) return d.error();
      }
    }
    auto cv = txn_.get(Table::kContent, format::content_key(r.content_id));
    if (!cv) return cv.error();
    if (*cv) {
      core::Content c;
      uint64_t refs = 0;
      if (auto d = s_.codec.decode(**cv, &c, &refs); !d || refs <= 1) {
        if (auto del = txn_.del(Table::kContent, format::content_key(r.content_id)); !del) {
          return del.error();
        }
      } else {
        auto put = txn_.put(Table::kContent, format::content_key(r.content_id),
                            s_.codec.encode(c, refs - 1));
        if (!put) return put;
      }
    }
    s_.counters.add(r.status, r.destination, -1);
    ++op.purged;
  }
  return {};
}

}  // namespace queue::detail
