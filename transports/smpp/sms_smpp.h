// transports/smpp/sms_smpp.h: the SMS channel over SMPP 3.4 (issue #6);
// the public header of vestnik_smpp.
//
// An SmppTransport owns one transceiver bind (transports/smpp/session.h) to
// one SMSC and serves core::Channel::kSms. send() turns each Delivery's
// rendered text into submit_sm PDUs (transports/smpp/segments.h: GSM-7
// unpacked or UCS-2, concatenated with a UDH when longer than one SMS) to
// record->request.to.phone (E.164 without '+', dest_addr_ton 1, npi 1).
//
// What an answer means (the reply convention of transports/providers/codec.h;
// text "smpp status 0x58 ESME_RTHROTTLED"):
//   every part accepted                delivered 250 2.0.0, provider_ref = the
//                                      parts' message ids joined by ','
//   0x58 throttled, 0x14 queue full    transient 451 4.7.0 (after the session's
//                                      own paced retries), blames the connection
//   0x08, 0x04, 0x05, other codes      transient 451 4.3.0
//   0x45, 0x64, 0xFF                   transient 451 4.3.0, blames the message
//   0x0B invalid destination           permanent 550 5.1.1
//   0x01-0x03, 0x43, 0x50, 0x51, 0x61,
//   0x62, 0x65, 0x66, 0xC0-0xC4        permanent 554 5.6.0 (our payload)
//   0x0A, 0x48, 0x49, 0x0D-0x0F        transient 451 4.3.5 (CONFIG: sender id,
//                                      credentials; logged at error level)
//   no response in time, lost link     transient 451 4.3.0 "outcome unknown":
//                                      the SMSC may have it; a retry may duplicate
//   not connected / not bound          transient 451 4.3.0 (or 4.3.5 when the
//                                      bind was refused)
// A multi-part message takes the verdict of its first failed part (a
// permanent one first); parts already accepted may be sent again on retry.
//
// Delivery receipts (deliver_sm with esm_class & 0x3C == 0x04) become
// providers::Receipt values given to the ReceiptHandler: DELIVRD ->
// kDelivered (once every part of the message is delivered); UNDELIV and
// REJECTD -> kFailed, failure kRecipient (550 5.1.1); EXPIRED and DELETED ->
// kFailed, failure kRetry (451 4.3.0); ACCEPTD, ENROUTE, UNKNOWN -> nothing.
// A receipt's provider_ref is the provider_ref of the SendResult it is about
// (the joined ids), found by any part's id, hex and decimal forms alike
// (dlr.h); for an id we did not send (or no longer remember) it is the id
// as received. recipient is the phone with '+'. The transport remembers the
// last `max_tracked` submitted messages for this.
//
// Threading: send() may be called from any thread; outcomes and receipts are
// delivered on the session's strand. stop() unbinds and closes; the
// destructor stops too (without waiting).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "transports/providers/codec.h"
#include "transports/smpp/dlr.h"
#include "transports/smpp/session.h"
#include "transports/transport.h"

namespace transports::smpp {

// The session's settings plus what every submit_sm carries.
struct SmppOptions : SessionOptions {
  std::string name = "default";  // destination() is "sms:<name>"
  std::string source_addr;       // sender id: digits or alphanumeric (max 20 octets)
  uint8_t source_addr_ton = 5;   // 5 alphanumeric, 1 international
  uint8_t source_addr_npi = 0;   // 0 unknown, 1 E.164
  uint8_t registered_delivery = 0x01;  // receipt on final success or failure
  std::string service_type;      // max 5 octets; usually ""
  size_t max_tracked = 100'000;  // submitted messages remembered for receipts
};

using ReceiptHandler = std::function<void(providers::Receipt)>;

// What a submit's result means, by the table above. `ids` is the joined
// message ids for an accepted message. Pure.
providers::SendResult classify_submit(const SubmitResult& result, std::string ids = {});

// What a receipt means: nullopt for a non-final state. provider_ref and
// recipient are left to the caller. Pure.
std::optional<providers::Receipt> receipt_from_dlr(const DeliveryReceipt& dlr);

class SmppTransport final : public Transport {
 public:
  // Starts connecting and binding at once (no I/O in the constructor
  // itself). `on_receipt` may be empty. Errors (kInvalidArgument naming the
  // option): system_id, password, system_type, source_addr or service_type
  // too long, window 0, tps negative.
  static core::Result<std::shared_ptr<SmppTransport>> create(boost::asio::any_io_executor executor,
                                                             SmppOptions options,
                                                             ReceiptHandler on_receipt);
  ~SmppTransport() override;

  std::string_view name() const noexcept override { return "smpp"; }
  bool serves(core::Channel channel) const noexcept override { return channel == core::Channel::kSms; }
  // "sms:<name>": one SMSC account is one destination, whatever the number.
  std::string destination(const core::MessageRecord& record, core::Channel channel) const override;
  void send(std::vector<Delivery> batch, SendDone done) override;

  // Unbinds and closes; queued work is answered transient. `stopped` is
  // called (on the strand) when the session is down. Idempotent.
  void stop(std::function<void()> stopped = {});

  const SessionStats& stats() const noexcept;

  struct Impl;

 private:
  explicit SmppTransport(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace transports::smpp
