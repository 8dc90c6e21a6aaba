// ByteLink: all a driver implements to run a ConnectionMachine: open a byte stream,
// write bytes in order, close it, and report what happened. transport/ implements it
// over Asio sockets, sim/ over the simulated network.
#ifndef DISTKIT_CORE_CONN_BYTE_LINK_H_
#define DISTKIT_CORE_CONN_BYTE_LINK_H_

#include <string>
#include <string_view>

#include "distkit/core/conn/connection_machine.h"

namespace distkit::conn {

// What a link reports. Every call names the attempt it belongs to.
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
  virtual void on_opened(Attempt attempt) = 0;
  virtual void on_open_failed(Attempt attempt, std::string why) = 0;
  virtual void on_bytes(Attempt attempt, std::string_view bytes) = 0;
  virtual void on_write_done(Attempt attempt) = 0;
  // End of stream, reset or an I/O error: the link is gone.
  virtual void on_closed(Attempt attempt, std::string why) = 0;
};

// Contract for implementations:
// - Events are delivered on the owner's executor and never inline from open(),
//   write() or close(), so the machine is never re-entered.
// - open(a) starts a new link for attempt `a` (a previous one, if any, was closed
//   first); exactly one of on_opened / on_open_failed follows, unless closed first.
// - write(a, bytes): the bytes are written in order after everything written before on
//   this link; `bytes` stays valid until on_write_done (or close). At most one write is
//   outstanding.
// - close(a) ends attempt `a`'s link (or abandons its opening); after it no event of
//   `a` is delivered. Closing a link that already reported on_closed is harmless.
class ByteLink {
 public:
  virtual ~ByteLink() = default;
  virtual void open(Attempt attempt, LinkEvents& events) = 0;
  virtual void write(Attempt attempt, std::string_view bytes) = 0;
  virtual void close(Attempt attempt) = 0;
};

}  // namespace distkit::conn

#endif  // DISTKIT_CORE_CONN_BYTE_LINK_H_
