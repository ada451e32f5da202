// transports/email_job.h: what the email transport's parts share (PRIVATE
// to transports/: email.cpp queues and sends jobs, email_dkim.cpp signs
// them).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/id.h"
#include "core/message.h"
#include "dkim/signing_table.h"
#include "transports/transport.h"

namespace transports::email_detail {

// The outcomes of one send(), settled job by job from any session.
struct BatchState {
  std::vector<Outcome> outcomes;
  std::atomic<size_t> remaining{0};
  SendDone done;
  // Keeps the deliveries (and what they point to) alive for the jobs.
  std::vector<Delivery> deliveries;

  void settle(size_t i, Outcome o) {
    outcomes[i] = std::move(o);
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      SendDone d = std::move(done);
      d(std::move(outcomes));
    }
  }
};

struct Job {
  std::shared_ptr<BatchState> batch;
  size_t index = 0;
  std::string mail_from;
  std::string rcpt;
  std::string owned;      // the composed message
  std::string_view data;  // `owned`, or injected content (alive until the batch is done)
  core::Id content_id;
  bool groupable = false;  // injected: recipients with one content may share a transaction
  bool eight_bit = false;
  bool smtputf8 = false;
  uint8_t requeued = 0;
  // Set while the job waits for its DKIM signature (points into the table
  // the signing task holds).
  const dkim::SigningTable::Domain* dkim = nullptr;
};

// ASCII letters lowercased, other bytes as they are.
std::string lower_ascii(std::string_view s);

// The address with its domain in A-labels (see email.cpp).
std::string a_label_address(const std::string& address);

// The domain (lowercase, A-labels) of the sender a composed message is
// written with; empty when the address has none.
std::string from_domain_of(const core::MessageRecord& r);

// Puts the DKIM-Signature fields above each job's message (the jobs whose
// `dkim` is set). A job that must be signed and cannot be is settled
// transient and removed (never sent unsigned); one whose domain does not
// require it goes unsigned. Injected content shared by several recipients
// is signed once. Runs on the signing pool.
void sign_jobs(const dkim::SigningTable& table, std::vector<Job>& jobs);

}  // namespace transports::email_detail
