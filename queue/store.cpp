// queue/store.cpp: what every Store implementation shares.
#include "queue/store.h"

namespace queue {

// Persisted: these are the LMDB sub-database names. Renaming one orphans the
// data stored under the old name, so they are frozen like the enum values.
std::string_view table_name(Table t) noexcept {
  switch (t) {
    case Table::kMessages:
      return "messages";
    case Table::kContent:
      return "content";
    case Table::kDue:
      return "due";
    case Table::kEvents:
      return "events";
    case Table::kIdempotency:
      return "idempotency";
    case Table::kLeases:
      return "leases";
    case Table::kFinished:
      return "finished";
    case Table::kCounters:
      return "counters";
    case Table::kMeta:
      return "meta";
    case Table::kTemplates:
      return "templates";
    case Table::kRefs:
      return "refs";
    case Table::kSuppressions:
      return "suppressions";
    case Table::kSoftBounces:
      return "soft_bounces";
    case Table::kInbound:
      return "inbound";
  }
  return "unknown";
}

}  // namespace queue
