// queue/spool_templates.cpp: stored templates, one record per version.
//
// Key: tenant '\0' id '\0' version(4 BE), so one prefix scan yields every
// version of a template in order, and the last one is the template. Nothing
// is ever overwritten: a message accepted with version 3 renders version 3
// even after the author saved version 4 or deleted the template (a tombstone
// version). Templates are few and small; the scans are bounded by the number
// of versions of one template (or of one tenant's templates, for list).
#include <string>

#include "queue/spool_internal.h"
#include "vestnik/spool/v1/records.pb.h"

namespace queue::detail {

namespace {

namespace pb = ::vestnik::spool::v1;

constexpr size_t kVersionBytes = 4;

std::string template_prefix(std::string_view tenant, std::string_view id) {
  std::string k;
  k.reserve(tenant.size() + id.size() + 2 + kVersionBytes);
  k.append(tenant).push_back('\0');
  k.append(id).push_back('\0');
  return k;
}

std::string template_key(std::string_view tenant, std::string_view id, uint32_t version) {
  std::string k = template_prefix(tenant, id);
  char b[kVersionBytes];
  format::put_be32(b, version);
  k.append(b, kVersionBytes);
  return k;
}

core::Error corrupt(std::string_view what) {
  return core::make_error(core::Errc::kCorruption,
                          "spool template does not decode: " + std::string(what));
}

std::string encode(const StoredTemplate& t) {
  pb::TemplateRecord m;
  m.set_channel(t.source.channel ? static_cast<pb::Channel>(*t.source.channel)
                                 : pb::CHANNEL_UNSPECIFIED);
  m.set_subject(t.source.subject);
  m.set_html(t.source.html);
  m.set_text(t.source.text);
  m.set_preheader(t.source.preheader);
  m.set_buttons_json(t.source.buttons_json);
  m.set_strict(t.source.strict);
  m.set_locale(t.source.locale);
  m.set_time_zone(t.source.time_zone);
  m.set_created_at_ms(core::to_unix_ms(t.created_at));
  m.set_deleted(t.deleted);
  std::string out(1, static_cast<char>(format::kRecordVersion));
  m.AppendToString(&out);
  return out;
}

// `key` is a full template key (prefix + version) whose prefix the caller
// has checked.
core::Result<StoredTemplate> decode(std::string_view key, size_t prefix_len,
                                    std::string_view value) {
  if (key.size() != prefix_len + kVersionBytes) return corrupt("key length");
  if (value.empty() || static_cast<uint8_t>(value[0]) != format::kRecordVersion)
    return corrupt("unknown record version");
  pb::TemplateRecord m;
  if (!m.ParseFromArray(value.data() + 1, static_cast<int>(value.size() - 1)))
    return corrupt("malformed protobuf");
  StoredTemplate t;
  // The id sits between the tenant's '\0' and the version's '\0'.
  const size_t id_at = key.find('\0') + 1;
  t.id = std::string(key.substr(id_at, prefix_len - 1 - id_at));
  t.version = format::get_be32(key.data() + prefix_len);
  t.created_at = core::from_unix_ms(m.created_at_ms());
  t.deleted = m.deleted();
  if (m.channel() != pb::CHANNEL_UNSPECIFIED) {
    if (m.channel() < 1 || m.channel() > 6) return corrupt("unknown channel");
    t.source.channel = static_cast<core::Channel>(m.channel());
  }
  t.source.subject = m.subject();
  t.source.html = m.html();
  t.source.text = m.text();
  t.source.preheader = m.preheader();
  t.source.buttons_json = m.buttons_json();
  t.source.strict = m.strict();
  t.source.locale = m.locale();
  t.source.time_zone = m.time_zone();
  return t;
}

// The latest version stored under `prefix`, or nullopt.
core::Result<std::optional<StoredTemplate>> latest(ReadTxn& txn, const std::string& prefix) {
  std::optional<std::pair<std::string, std::string>> last;
  std::string upper = prefix;
  upper.back() = '\1';  // every key with this prefix sorts below prefix-with-'\1'
  auto st = txn.scan(Table::kTemplates, prefix, upper, [&](std::string_view k, std::string_view v) {
    last.emplace(std::string(k), std::string(v));
    return true;
  });
  if (!st) return st.error();
  if (!last) return std::optional<StoredTemplate>{};
  auto t = decode(last->first, prefix.size(), last->second);
  if (!t) return t.error();
  return std::optional<StoredTemplate>(std::move(*t));
}

}  // namespace

core::Status TxnOps::put_template(TemplateOp& op) {
  op.result = StoredTemplate{};
  const std::string prefix = template_prefix(op.tenant, op.id);
  auto prev = latest(txn_, prefix);
  if (!prev) return prev.error();
  const bool live = *prev && !(*prev)->deleted;
  if (!op.source && !live) {
    op.result = core::make_error(core::Errc::kNotFound, "template '" + op.id + "' does not exist",
                                 "id");
    return {};
  }
  StoredTemplate t;
  t.id = op.id;
  t.version = *prev ? (*prev)->version + 1 : 1;
  t.created_at = now_;
  if (op.source) {
    t.source = *op.source;
  } else {
    t.deleted = true;
  }
  if (auto s = txn_.put(Table::kTemplates, template_key(op.tenant, op.id, t.version), encode(t));
      !s) {
    return s;
  }
  op.result = std::move(t);
  return {};
}

core::Result<std::optional<StoredTemplate>> read_template(const Store& store,
                                                          std::string_view tenant,
                                                          std::string_view id, uint32_t version) {
  std::optional<StoredTemplate> out;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    const std::string prefix = template_prefix(tenant, id);
    if (version == 0) {
      auto t = latest(txn, prefix);
      if (!t) return t.error();
      out = std::move(*t);
      return {};
    }
    const std::string key = template_key(tenant, id, version);
    auto v = txn.get(Table::kTemplates, key);
    if (!v) return v.error();
    if (!*v) return {};
    auto t = decode(key, prefix.size(), **v);
    if (!t) return t.error();
    out = std::move(*t);
    return {};
  });
  if (!st) return st.error();
  return out;
}

core::Result<std::vector<StoredTemplate>> read_templates(const Store& store,
                                                         std::string_view tenant) {
  std::vector<StoredTemplate> out;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    std::string from(tenant);
    from.push_back('\0');
    std::string to(tenant);
    to.push_back('\1');
    // Keys of one template are adjacent and in version order: keep the
    // last key seen for each prefix.
    std::string last_key, last_value;
    size_t last_prefix = 0;
    core::Status inner;
    auto flush = [&]() -> core::Status {
      if (last_key.empty()) return {};
      auto t = decode(last_key, last_prefix, last_value);
      if (!t) return t.error();
      if (!t->deleted) out.push_back(std::move(*t));
      return {};
    };
    auto s = txn.scan(Table::kTemplates, from, to, [&](std::string_view k, std::string_view v) {
      if (k.size() < from.size() + 1 + kVersionBytes) {
        inner = corrupt("key length");
        return false;
      }
      const size_t prefix_len = k.size() - kVersionBytes;
      if (!last_key.empty() &&
          (prefix_len != last_prefix || k.substr(0, prefix_len) != std::string_view(last_key).substr(0, last_prefix))) {
        if (inner = flush(); !inner) return false;
      }
      last_key.assign(k);
      last_value.assign(v);
      last_prefix = prefix_len;
      return true;
    });
    if (!s) return s;
    if (!inner) return inner;
    return flush();
  });
  if (!st) return st.error();
  return out;
}

}  // namespace queue::detail
