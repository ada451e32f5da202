// queue/spool_feedback.cpp: what happens after sending (issue #7) —
// suppressions, soft-bounce counts, messages that bounce or draw a
// complaint after delivery, and inbound reports waiting to be processed
// (Spool::apply_feedback, queue.h).
//
// Suppression key: tenant '\0' channel '\0' address '\0' category. One
// lookup for a message is at most four point reads (its channel or "*",
// its category or "*"), and usually none: SuppressionFilter knows in memory
// which (tenant, channel, address) have any entry at all. The filter only
// ever says "maybe"; the store has the answer.
#include <algorithm>
#include <string>

#include "queue/spool_internal.h"
#include "vestnik/spool/v1/records.pb.h"

namespace queue::detail {

namespace pb = ::vestnik::spool::v1;
using core::MessageStatus;

// ---- the filter -------------------------------------------------------------

uint64_t SuppressionFilter::key_hash(std::string_view tenant, std::string_view channel,
                                     std::string_view address) noexcept {
  // FNV-1a over the three fields with a separator: no allocation.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  mix(tenant);
  mix(channel);
  mix(address);
  return h;
}

bool SuppressionFilter::maybe(uint64_t h) const {
  std::lock_guard lock(mu_);
  return counts_.contains(h);
}

void SuppressionFilter::apply(const std::vector<std::pair<uint64_t, int>>& deltas) {
  std::lock_guard lock(mu_);
  for (const auto& [h, d] : deltas) {
    if (d > 0) {
      counts_[h] += static_cast<uint32_t>(d);
    } else if (auto it = counts_.find(h); it != counts_.end()) {
      const uint32_t minus = static_cast<uint32_t>(-d);
      if (it->second <= minus) {
        counts_.erase(it);
      } else {
        it->second -= minus;
      }
    }
  }
  size_.store(counts_.size(), std::memory_order_release);
}

size_t SuppressionFilter::size() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}

// ---- records ----------------------------------------------------------------

namespace {

core::Error corrupt(std::string_view what) {
  return core::make_error(core::Errc::kCorruption,
                          "spool suppression does not decode: " + std::string(what));
}

std::string encode_suppression(const core::Suppression& s) {
  pb::SuppressionRecord m;
  m.set_reason(static_cast<uint32_t>(s.reason));
  m.set_created_at_ms(core::to_unix_ms(s.created_at));
  m.set_detail(s.detail);
  if (s.message_id) m.set_message_id(std::string(s.message_id->bytes()));
  std::string out(1, static_cast<char>(format::kRecordVersion));
  m.AppendToString(&out);
  return out;
}

// Splits "a\0b\0c..." into exactly n fields.
bool split_key(std::string_view key, std::string_view* out, size_t n) {
  for (size_t i = 0; i + 1 < n; ++i) {
    const size_t z = key.find('\0');
    if (z == std::string_view::npos) return false;
    out[i] = key.substr(0, z);
    key.remove_prefix(z + 1);
  }
  out[n - 1] = key;
  return true;
}

std::string soft_key(std::string_view tenant, std::string_view channel, std::string_view address) {
  std::string k;
  k.reserve(tenant.size() + channel.size() + address.size() + 2);
  k.append(tenant).push_back('\0');
  k.append(channel).push_back('\0');
  k.append(address);
  return k;
}

std::string encode_inbound(const InboundReport& r) {
  pb::InboundRecord m;
  m.set_received_at_ms(core::to_unix_ms(r.received_at));
  m.set_mail_from(r.mail_from);
  for (const std::string& rcpt : r.rcpt_to) m.add_rcpt_to(rcpt);
  m.set_client_ip(r.client_ip);
  m.set_helo(r.helo);
  m.set_data(r.data);
  m.set_attempts(r.attempts);
  std::string out(1, static_cast<char>(format::kRecordVersion));
  m.AppendToString(&out);
  return out;
}

core::Result<InboundReport> decode_inbound(std::string_view key, std::string_view value) {
  if (key.size() != 16) return corrupt("inbound key length");
  if (value.empty() || static_cast<uint8_t>(value[0]) != format::kRecordVersion)
    return corrupt("unknown inbound record version");
  pb::InboundRecord m;
  if (!m.ParseFromArray(value.data() + 1, static_cast<int>(value.size() - 1)))
    return corrupt("malformed inbound protobuf");
  InboundReport r;
  r.id = core::Id::from_bytes(key);
  r.received_at = core::from_unix_ms(m.received_at_ms());
  r.mail_from = m.mail_from();
  r.rcpt_to.assign(m.rcpt_to().begin(), m.rcpt_to().end());
  r.client_ip = m.client_ip();
  r.helo = m.helo();
  r.data = m.data();
  r.attempts = m.attempts();
  return r;
}

}  // namespace

std::string suppression_key(std::string_view tenant, std::string_view channel,
                            std::string_view address, std::string_view category) {
  std::string k = soft_key(tenant, channel, address);
  k.push_back('\0');
  k.append(category);
  return k;
}

core::Result<core::Suppression> decode_suppression(std::string_view key, std::string_view value) {
  std::string_view f[4];
  if (!split_key(key, f, 4)) return corrupt("key");
  if (value.empty() || static_cast<uint8_t>(value[0]) != format::kRecordVersion)
    return corrupt("unknown record version");
  pb::SuppressionRecord m;
  if (!m.ParseFromArray(value.data() + 1, static_cast<int>(value.size() - 1)))
    return corrupt("malformed protobuf");
  if (m.reason() < 1 || m.reason() > 4) return corrupt("unknown reason");
  core::Suppression s;
  s.tenant = std::string(f[0]);
  s.channel = std::string(f[1]);
  s.address = std::string(f[2]);
  s.category = std::string(f[3]);
  s.reason = static_cast<core::SuppressionReason>(m.reason());
  s.created_at = core::from_unix_ms(m.created_at_ms());
  s.detail = m.detail();
  if (m.message_id().size() == 16) s.message_id = core::Id::from_bytes(m.message_id());
  return s;
}

core::Status load_suppression_filter(ReadTxn& txn, SuppressionFilter& filter) {
  std::vector<std::pair<uint64_t, int>> deltas;
  auto st = txn.scan(Table::kSuppressions, {}, {}, [&](std::string_view k, std::string_view) {
    std::string_view f[4];
    if (split_key(k, f, 4)) deltas.emplace_back(SuppressionFilter::key_hash(f[0], f[1], f[2]), 1);
    return true;
  });
  if (!st) return st;
  filter.apply(deltas);
  return {};
}

core::Result<std::optional<core::Suppression>> read_suppression(const Store& store,
                                                                const SuppressionFilter& filter,
                                                                std::string_view tenant,
                                                                std::string_view channel,
                                                                std::string_view address,
                                                                std::string_view category) {
  const bool on_channel = filter.maybe(SuppressionFilter::key_hash(tenant, channel, address));
  const bool on_any =
      filter.maybe(SuppressionFilter::key_hash(tenant, core::kAnyChannel, address));
  if (!on_channel && !on_any) return std::optional<core::Suppression>{};
  std::optional<core::Suppression> out;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    for (int i = 0; i < 4; ++i) {
      const bool any_channel = i >= 2;
      if (any_channel ? !on_any : !on_channel) continue;
      const std::string_view cat = (i % 2 == 0) ? category : core::kAnyCategory;
      const std::string key =
          suppression_key(tenant, any_channel ? core::kAnyChannel : channel, address, cat);
      auto v = txn.get(Table::kSuppressions, key);
      if (!v) return v.error();
      if (!*v) continue;
      auto s = decode_suppression(key, **v);
      if (!s) return s.error();
      out = std::move(*s);
      return {};
    }
    return {};
  });
  if (!st) return st.error();
  return out;
}

core::Result<std::vector<core::Suppression>> read_suppressions(const Store& store,
                                                               const SuppressionQuery& q) {
  std::vector<core::Suppression> out;
  // The narrowest key prefix the filter allows; the rest is checked per entry.
  std::string prefix = q.tenant;
  prefix.push_back('\0');
  if (!q.channel.empty()) {
    prefix.append(q.channel).push_back('\0');
    if (!q.address.empty()) prefix.append(q.address).push_back('\0');
  }
  std::string from = prefix;
  if (q.after) {
    std::string k = suppression_key(q.after->tenant, q.after->channel, q.after->address,
                                    q.after->category);
    k.push_back('\0');  // the first key after it
    if (k > from) from = std::move(k);
  }
  std::string to = prefix;
  to.back() = '\1';
  const size_t limit = std::max<size_t>(1, q.limit);
  core::Status inner;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    return txn.scan(Table::kSuppressions, from, to, [&](std::string_view k, std::string_view v) {
      auto s = decode_suppression(k, v);
      if (!s) {
        inner = s.error();
        return false;
      }
      if ((!q.address.empty() && s->address != q.address) ||
          (!q.category.empty() && s->category != q.category)) {
        return true;
      }
      out.push_back(std::move(*s));
      return out.size() < limit;
    });
  });
  if (!st) return st.error();
  if (!inner) return inner.error();
  return out;
}

core::Result<std::vector<InboundReport>> read_inbound(const Store& store, size_t max) {
  std::vector<InboundReport> out;
  core::Status inner;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    return txn.scan(Table::kInbound, {}, {}, [&](std::string_view k, std::string_view v) {
      auto r = decode_inbound(k, v);
      if (!r) {
        inner = r.error();
        return false;
      }
      out.push_back(std::move(*r));
      return out.size() < max;
    });
  });
  if (!st) return st.error();
  if (!inner) return inner.error();
  return out;
}

// ---- the transaction --------------------------------------------------------

core::Status TxnOps::feedback(FeedbackOp& op) {
  op.outcomes.assign(op.items.size(), FeedbackOutcome{});
  op.filter_deltas.clear();
  for (size_t i = 0; i < op.items.size(); ++i) {
    const Feedback& f = op.items[i];
    FeedbackOutcome& out = op.outcomes[i];
    core::Status st;
    switch (f.kind) {
      case Feedback::Kind::kSuppress:
        st = suppress(f.suppression, op, out);
        break;
      case Feedback::Kind::kUnsuppress:
        st = unsuppress(f, op, out);
        break;
      case Feedback::Kind::kSoftBounce:
        st = soft_bounce(f, op, out);
        break;
      case Feedback::Kind::kBounced:
      case Feedback::Kind::kComplained:
      case Feedback::Kind::kNote:
        st = message_feedback(f, out);
        break;
      case Feedback::Kind::kInboundStore: {
        out.id = f.inbound.id;
        const std::string value = encode_inbound(f.inbound);
        st = txn_.put(Table::kInbound, f.inbound.id.bytes(), value);
        out.applied = st.has_value();
        break;
      }
      case Feedback::Kind::kInboundDone: {
        auto d = txn_.del(Table::kInbound, f.id.bytes());
        if (!d) return d.error();
        out.applied = *d;
        break;
      }
    }
    if (!st) return st;
  }
  return {};
}

core::Status TxnOps::suppress(const core::Suppression& s, FeedbackOp& op, FeedbackOutcome& out) {
  const std::string key = suppression_key(s.tenant, s.channel, s.address, s.category);
  auto existing = txn_.get(Table::kSuppressions, key);
  if (!existing) return existing.error();
  // A reason an operator or the recipient gave outranks what we inferred:
  // a complaint or manual entry is not turned into a later hard bounce,
  // which would make it look removable by a resubscribe.
  if (*existing) {
    auto old = decode_suppression(key, **existing);
    if (old && old->reason != core::SuppressionReason::kUnsubscribed &&
        s.reason == core::SuppressionReason::kHardBounce) {
      return {};
    }
  }
  if (auto st = txn_.put(Table::kSuppressions, key, encode_suppression(s)); !st) return st;
  if (!*existing) {
    op.filter_deltas.emplace_back(SuppressionFilter::key_hash(s.tenant, s.channel, s.address), 1);
  }
  out.applied = true;
  return {};
}

core::Status TxnOps::unsuppress(const Feedback& f, FeedbackOp& op, FeedbackOutcome& out) {
  const core::Suppression& s = f.suppression;
  std::vector<std::string> keys;
  if (!s.category.empty()) {
    keys.push_back(suppression_key(s.tenant, s.channel, s.address, s.category));
  } else {
    std::string prefix = soft_key(s.tenant, s.channel, s.address);
    prefix.push_back('\0');
    std::string to = prefix;
    to.back() = '\1';
    auto st = txn_.scan(Table::kSuppressions, prefix, to, [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return keys.size() < 10'000;
    });
    if (!st) return st;
  }
  for (const std::string& key : keys) {
    if (f.only_reason) {
      auto v = txn_.get(Table::kSuppressions, key);
      if (!v) return v.error();
      if (!*v) continue;
      auto old = decode_suppression(key, **v);
      if (!old || old->reason != *f.only_reason) continue;
    }
    auto d = txn_.del(Table::kSuppressions, key);
    if (!d) return d.error();
    if (*d) {
      ++out.removed;
      op.filter_deltas.emplace_back(SuppressionFilter::key_hash(s.tenant, s.channel, s.address),
                                    -1);
    }
  }
  out.applied = out.removed > 0;
  return {};
}

core::Status TxnOps::soft_bounce(const Feedback& f, FeedbackOp& op, FeedbackOutcome& out) {
  const core::Suppression& s = f.suppression;
  const std::string key = soft_key(s.tenant, s.channel, s.address);
  auto v = txn_.get(Table::kSoftBounces, key);
  if (!v) return v.error();
  pb::SoftBounceRecord m;
  if (*v && !(*v)->empty() && static_cast<uint8_t>((**v)[0]) == format::kRecordVersion) {
    if (!m.ParseFromArray((*v)->data() + 1, static_cast<int>((*v)->size() - 1))) m.Clear();
  }
  const int64_t window_ms = f.soft_window.count();
  if (m.count() == 0 || now_ms_ - m.window_start_ms() > window_ms) {
    m.set_count(0);
    m.set_window_start_ms(now_ms_);
  }
  m.set_count(m.count() + 1);
  out.applied = true;
  if (m.count() >= std::max<uint32_t>(1, f.soft_limit)) {
    if (auto d = txn_.del(Table::kSoftBounces, key); !d) return d.error();
    out.suppressed = true;
    return suppress(s, op, out);
  }
  std::string value(1, static_cast<char>(format::kRecordVersion));
  m.AppendToString(&value);
  return txn_.put(Table::kSoftBounces, key, value);
}

core::Status TxnOps::message_feedback(const Feedback& f, FeedbackOutcome& out) {
  auto loaded = load(f.id);
  if (!loaded) return loaded.error();
  if (!*loaded) return {};
  core::MessageRecord& r = **loaded;
  out.tenant = r.tenant;
  out.status = r.status;
  const std::optional<core::Channel> channel = current_channel(r);
  const MessageStatus before = r.status;
  MessageStatus to = before;
  if (f.kind == Feedback::Kind::kBounced && before == MessageStatus::kDelivered) {
    to = MessageStatus::kFailed;
  } else if (f.kind == Feedback::Kind::kComplained &&
             (before == MessageStatus::kDelivered || before == MessageStatus::kFailed)) {
    to = MessageStatus::kComplained;
  }
  if (to == before) {
    // Not a move forward: a second DSN, a delay notice, a complaint about
    // a message still being retried. The history still says it came.
    if (f.kind != Feedback::Kind::kNote && core::is_final(before) &&
        before != MessageStatus::kDelivered) {
      return {};  // already failed or complained: nothing new to say
    }
    if (auto st = add_event(r, before, f.detail, 0, channel); !st) return st;
    if (auto st = store_record(r); !st) return st;
    out.applied = true;
    return {};
  }
  // Delivered (or failed) to complained / failed: the message stays
  // finished where it was; only its status, bounce and history change.
  r.status = to;
  if (f.bounce && to == MessageStatus::kFailed) {
    r.bounce = f.bounce;
    r.last_reply = f.bounce->reply;
  }
  if (!r.provider_ref.empty() && channel) {
    if (auto d = txn_.del(Table::kRefs, ref_key(*channel, r.provider_ref)); !d) return d.error();
    r.provider_ref.clear();
  }
  if (auto st = add_event(r, to, f.detail, 0, channel); !st) return st;
  if (auto st = store_record(r); !st) return st;
  s_.counters.add(before, r.destination, -1);
  s_.counters.add(to, r.destination, 1);
  out.status = to;
  out.applied = true;
  return {};
}

}  // namespace queue::detail
