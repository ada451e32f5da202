// queue/spool_receipts.cpp: provider receipts moving delivered messages
// forward (Spool::apply_receipts, queue.h).
//
// Providers send receipts late, twice, and out of order (WhatsApp and
// Twilio say so in their docs), so every update is checked against what the
// record already knows and applied only when it moves the message forward:
// none -> delivered to the device -> read, and a failure only before any of
// them. Duplicates therefore need no table of seen event ids: the record's
// receipt_state is the de-duplication.
#include "queue/spool_internal.h"

namespace queue::detail {

using core::MessageStatus;

core::Status TxnOps::apply_receipts(ReceiptOp& op) {
  for (const ReceiptUpdate& u : op.updates) {
    const std::string key = ref_key(u.channel, u.provider_ref);
    auto idv = txn_.get(Table::kRefs, key);
    if (!idv) return idv.error();
    if (u.provider_ref.empty() || !*idv || (*idv)->size() != 16) {
      ++op.stats.ignored;
      continue;
    }
    const core::Id id = core::Id::from_bytes(**idv);
    auto loaded = load(id);
    if (!loaded) return loaded.error();
    if (!*loaded || (*loaded)->status != MessageStatus::kDelivered ||
        (*loaded)->provider_ref != u.provider_ref) {
      ++op.stats.ignored;
      continue;
    }
    core::MessageRecord& r = **loaded;
    const std::optional<core::Channel> channel = current_channel(r);
    switch (u.kind) {
      case ReceiptUpdate::Kind::kDelivered:
      case ReceiptUpdate::Kind::kRead: {
        const uint8_t state = u.kind == ReceiptUpdate::Kind::kDelivered ? 1 : 2;
        if (r.receipt_state >= state) {
          ++op.stats.ignored;
          continue;
        }
        r.receipt_state = state;
        if (auto st = add_event(r, MessageStatus::kDelivered, u.detail, 0, channel); !st) return st;
        if (auto st = store_record(r); !st) return st;
        ++op.stats.applied;
        continue;
      }
      case ReceiptUpdate::Kind::kFailed:
        break;
    }
    // A failure after acceptance: only before the device got it.
    if (r.receipt_state >= 1) {
      ++op.stats.ignored;
      continue;
    }
    if (r.finished_at) {
      const format::TimeIdKey fk = format::time_id_key(core::to_unix_ms(*r.finished_at), r.id);
      if (auto d = txn_.del(Table::kFinished, fk.view()); !d) return d.error();
    }
    if (auto d = txn_.del(Table::kRefs, key); !d) return d.error();
    const std::string before_dest = r.destination;
    r.provider_ref.clear();
    if (u.fallback_channel_index && u.from_channel_index == r.channel_index &&
        *u.fallback_channel_index < r.request.channels.size() &&
        *u.fallback_channel_index > r.channel_index) {
      r.finished_at.reset();
      r.status = MessageStatus::kSending;
      r.channel_index = *u.fallback_channel_index;
      r.destination = u.fallback_destination;
      r.channel_attempt_base = r.attempts;
      r.due_at = now_;
      if (auto st = add_event(r, MessageStatus::kSending, u.detail, 0, channel); !st) return st;
      if (auto st = put_due(r); !st) return st;
    } else {
      if (auto st = finish(r, MessageStatus::kFailed); !st) return st;
      if (u.bounce) r.bounce = u.bounce;
      if (u.bounce) r.last_reply = u.bounce->reply;
      if (auto st = add_event(r, MessageStatus::kFailed, u.detail, 0, channel); !st) return st;
    }
    if (auto st = store_record(r); !st) return st;
    s_.counters.add(MessageStatus::kDelivered, before_dest, -1);
    s_.counters.add(r.status, r.destination, 1);
    ++op.stats.applied;
  }
  return {};
}

}  // namespace queue::detail
