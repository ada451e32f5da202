// queue/spool_enqueue.cpp: storing new messages.
//
// The work is split in two on purpose. prepare_batch() runs on the thread
// that calls Spool::enqueue (an API thread): it assigns ids, builds each
// record and its first event and serializes everything into one buffer.
// TxnOps::enqueue() runs on the single writer thread and only checks
// idempotency keys and puts ready-made bytes. The writer is the serial part
// of the pipeline, so everything that can be done in parallel is done
// before it.
#include "core/log.h"
#include "queue/spool_internal.h"

namespace queue::detail {

namespace {

thread_local format::RecordCodec tls_codec;

bool valid_priority(core::Priority p) {
  const auto v = static_cast<int>(p);
  return v >= 1 && v <= 3;
}

bool content_empty(const core::Content& c) noexcept {
  return c.template_id.empty() && c.subject.empty() && c.html.empty() && c.text.empty() &&
         c.template_version == 0 && c.preheader.empty() && c.buttons_json.empty() &&
         c.raw.empty();
}

std::optional<core::Error> check_item(const NewMessage& m) {
  if (m.initial_status != core::MessageStatus::kQueued &&
      m.initial_status != core::MessageStatus::kForbidden) {
    return core::invalid_argument("initial_status", "must be queued or forbidden");
  }
  if (!valid_priority(m.request.priority)) {
    return core::invalid_argument("priority", "unknown priority");
  }
  if (!m.request.channels.empty() && m.channel_index >= m.request.channels.size()) {
    return core::invalid_argument("channels", "channel_index out of range");
  }
  return std::nullopt;
}

}  // namespace

PreparedBatch prepare_batch(std::string tenant, std::vector<NewMessage> batch, core::TimePoint now,
                            core::IdGenerator& ids, std::optional<core::Duration> lease_for) {
  PreparedBatch out;
  out.tenant = std::move(tenant);
  out.items.resize(batch.size());
  if (lease_for) {
    out.leased_records.resize(batch.size());
    out.contents.resize(batch.size());
    out.lease_until_ms = core::to_unix_ms(now + *lease_for);
  }
  size_t estimate = 0;
  for (const NewMessage& m : batch) {
    const core::Content& c = m.request.content;
    estimate += c.html.size() + c.text.size() + c.subject.size() + c.template_id.size() +
                c.raw.size() + m.request.variables_json.size() + m.request.idempotency_key.size() +
                out.tenant.size() + 512;
  }
  out.blob.reserve(estimate);

  // First pass: refuse bad items, and resolve content sharing, so that an
  // owner's refs are known before its content is encoded. A sharer of a
  // sharer uses the first owner's content.
  for (size_t i = 0; i < batch.size(); ++i) {
    const NewMessage& m = batch[i];
    PreparedItem& item = out.items[i];
    item.content_owner = static_cast<uint32_t>(i);
    item.error = check_item(m);
    if (item.error || !m.content_of) continue;
    const uint32_t j = *m.content_of;
    if (j >= i) {
      item.error = core::invalid_argument("content_of", "must name an earlier item of the batch");
    } else if (out.items[j].error) {
      item.error = core::invalid_argument(
          "content_of", "names item " + std::to_string(j) + ", which was refused");
    } else if (!content_empty(m.request.content)) {
      item.error =
          core::invalid_argument("content_of", "a message sharing content must carry none itself");
    } else {
      item.content_owner = out.items[j].content_owner;
      ++out.items[item.content_owner].content_refs;
      out.shares_content = true;
    }
  }

  format::RecordCodec& codec = tls_codec;
  core::MessageRecord r;
  core::Event ev;
  for (size_t i = 0; i < batch.size(); ++i) {
    NewMessage& m = batch[i];
    PreparedItem& item = out.items[i];
    if (item.error) continue;

    item.id = ids.next();
    item.status = m.initial_status;
    item.priority = static_cast<uint8_t>(m.request.priority);

    // A message owns its content unless it shares another's: the content
    // id is the owner's message id.
    size_t at = out.blob.size();
    if (item.content_owner == i) {
      item.content = {at, codec.append(m.request.content, item.content_refs, &out.blob)};
      r.content_id = item.id;
      if (lease_for) {
        out.contents[i] = std::make_shared<const core::Content>(std::move(m.request.content));
      }
    } else {
      r.content_id = out.items[item.content_owner].id;
      if (lease_for) out.contents[i] = out.contents[item.content_owner];
    }
    m.request.content = core::Content{};

    r.id = item.id;
    r.tenant = out.tenant;
    r.request = std::move(m.request);
    r.created_at = now;
    r.status = m.initial_status;
    r.attempts = 0;
    r.channel_index = m.channel_index;
    r.destination = std::move(m.destination);
    r.due_at = r.request.send_at.value_or(now);
    r.lease_gen = 0;
    r.lease_until.reset();
    r.last_reply.reset();
    r.bounce.reset();
    r.finished_at.reset();
    if (core::is_final(r.status)) r.finished_at = now;
    r.event_count = 1;  // the event below
    item.time_ms = core::to_unix_ms(r.finished_at ? *r.finished_at : r.due_at);

    at = out.blob.size();
    item.record = {at, codec.append(r, &out.blob)};

    ev.at = now;
    ev.status = r.status;
    ev.detail = std::move(m.detail);
    ev.attempt = 0;
    ev.channel = current_channel(r);
    at = out.blob.size();
    item.event = {at, codec.append(ev, &out.blob)};

    if (!r.request.idempotency_key.empty()) {
      at = out.blob.size();
      out.blob.append(out.tenant);
      out.blob.push_back('\0');
      out.blob.append(r.request.idempotency_key);
      item.idempotency = {at, out.blob.size() - at};
    }

    // Leased at once if the writer's DirectLease::admit agrees: what
    // TxnOps::lease_one would make of it, encoded here, off the writer.
    item.direct_ok = lease_for && r.status == core::MessageStatus::kQueued &&
                     r.due_at <= now && !(r.request.expires_at && *r.request.expires_at <= now);
    // `r` itself becomes the leased record (every field of it is set again
    // for the next item), so nothing is copied.
    if (item.direct_ok) {
      r.status = core::MessageStatus::kSending;
      r.lease_gen = 1;
      r.lease_until = core::from_unix_ms(out.lease_until_ms);
      r.event_count = 2;
      at = out.blob.size();
      item.leased_record = {at, codec.append(r, &out.blob)};
      ev.at = now;
      ev.status = core::MessageStatus::kSending;
      ev.detail.clear();
      ev.attempt = 1;
      ev.channel = current_channel(r);
      at = out.blob.size();
      item.leased_event = {at, codec.append(ev, &out.blob)};
      item.destination = r.destination;
      out.leased_records[i] = std::move(r);
      continue;
    }
    item.destination = std::move(r.destination);
  }
  return out;
}

// Hot path: per message one or two lookups and five puts, no allocation
// beyond the per-op result vector (keys live on the stack). Shared content
// adds one put per owner at the end, and an allocation only in the rare
// case that some of its sharers were duplicates (the refs change).
core::Status TxnOps::enqueue(EnqueueOp& op) {
  PreparedBatch& b = op.batch;
  op.results.clear();
  op.results.reserve(b.items.size());
  op.leased_items.clear();
  if (b.shares_content) {
    for (PreparedItem& item : b.items) item.refs_stored = 0;  // the txn may run twice
  }
  for (size_t i = 0; i < b.items.size(); ++i) {
    PreparedItem& item = b.items[i];
    if (item.error) {
      op.results.emplace_back(*item.error);
      continue;
    }
    const std::string_view id = item.id.bytes();
    if (item.idempotency.len > 0) {
      const std::string_view ikey = b.at(item.idempotency);
      auto known = txn_.get(Table::kIdempotency, ikey);
      if (!known) return known.error();
      if (*known) {
        // A retry of a request we already hold (or a duplicate inside this
        // batch): answer with the first message and store nothing.
        if ((*known)->size() != core::Id::kBytes) {
          return core::make_error(core::Errc::kCorruption, "spool idempotency entry is not an id");
        }
        const core::Id first = core::Id::from_bytes(**known);
        auto rec = load(first);
        if (!rec) return rec.error();
        EnqueueOutcome o{first, core::MessageStatus::kQueued, true};
        if (*rec) o.status = (*rec)->status;
        op.results.emplace_back(o);
        continue;
      }
      if (auto st = txn_.put(Table::kIdempotency, ikey, id); !st) return st;
    }
    // New ids are time-ordered, so these keys usually go at the end.
    if (item.content_owner == i && item.content_refs == 1) {
      if (auto st = txn_.put_append(Table::kContent, id, b.at(item.content)); !st) return st;
    } else {
      ++b.items[item.content_owner].refs_stored;  // written below, once
    }
    bool lease = false;
    if (item.direct_ok && op.direct.admit) {
      if (item.admitted < 0) {
        item.admitted = op.direct.admit(item.destination) ? 1 : 0;
        op.admitted += static_cast<size_t>(item.admitted);
      }
      lease = item.admitted == 1;
    }
    const std::string_view record = b.at(lease ? item.leased_record : item.record);
    if (auto st = txn_.put_append(Table::kMessages, id, record); !st) return st;
    if (core::is_final(item.status)) {
      const format::TimeIdKey k = format::time_id_key(item.time_ms, item.id);
      if (auto st = txn_.put(Table::kFinished, k.view(), {}); !st) return st;
    } else if (lease) {
      // FORMAT.md: sending and leased -> exactly one kLeases entry.
      const format::TimeIdKey lk = format::time_id_key(b.lease_until_ms, item.id);
      const format::Be64 gen = format::be64_value(1);
      if (auto st = txn_.put(Table::kLeases, lk.view(), gen.view()); !st) return st;
    } else {
      const format::DueKey k = format::due_key(item.priority, item.time_ms, item.id);
      if (auto st = txn_.put(Table::kDue, k.view(), item.destination); !st) return st;
    }
    const format::EventKey ek = format::event_key(item.id, 0);
    if (auto st = txn_.put_append(Table::kEvents, ek.view(), b.at(item.event)); !st) return st;
    if (lease) {
      const format::EventKey ek1 = format::event_key(item.id, 1);
      if (auto st = txn_.put_append(Table::kEvents, ek1.view(), b.at(item.leased_event)); !st) {
        return st;
      }
      s_.counters.add(core::MessageStatus::kSending, item.destination, 1);
      s_.counters.add_leased(1);
      op.leased_items.push_back(static_cast<uint32_t>(i));
    } else {
      s_.counters.add(item.status, item.destination, 1);
    }
    op.results.emplace_back(EnqueueOutcome{item.id, item.status, false});
  }
  if (!b.shares_content) return {};

  // Shared content goes in once per owner, with refs = the messages really
  // stored with it (FORMAT.md invariant 6). Idempotency duplicates store
  // nothing, so that may be fewer than prepared: the value is then encoded
  // again (rare). When the owner itself was a duplicate, the content still
  // goes in under its (otherwise unused) id for the sharers that were
  // stored; when none was, nothing does.
  for (size_t i = 0; i < b.items.size(); ++i) {
    const PreparedItem& item = b.items[i];
    if (item.error || item.content_owner != i || item.content_refs == 1 || item.refs_stored == 0) {
      continue;
    }
    std::string_view value = b.at(item.content);
    if (item.refs_stored != item.content_refs) {
      core::Content c;
      if (auto st = s_.codec.decode(value, &c, nullptr); !st) return st;
      value = s_.codec.encode(c, item.refs_stored);
    }
    if (auto st = txn_.put_append(Table::kContent, item.id.bytes(), value); !st) return st;
  }
  return {};
}

}  // namespace queue::detail
