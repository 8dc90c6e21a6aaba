// Sliding-window limiting, trypema's absolute strategy (reference/seeds.md B.5, B.8),
// as a pure decision over a key's buckets, taking `now` (milliseconds).
//
// A key keeps buckets (start, count), oldest first. An increment at `now` joins the
// newest bucket if 0 <= now - start <= bucket, else opens a bucket at `now`. A bucket
// has expired once start < now - window. A request of `count` is allowed iff the live
// total plus `count` stays within `limit` (count-aware everywhere; trypema's local
// provider ignored the count). Expired buckets are dropped on every call, so a key
// never holds more than window / bucket + 2 buckets (trypema evicted only when over the
// limit: buckets and totals grew without bound, then its Lua unpack failed).
// The limit is the caller's on every call (trypema's first limit stuck to a key).
//
// Bound: in any interval of (window - bucket) milliseconds, at most `limit` are
// allowed (a bucket's increments may be up to `bucket` younger than its start, so
// they expire up to `bucket` early). tests/contract/sliding_window_test.cc checks it.
#ifndef DISTKIT_CORE_LIMITERS_SLIDING_WINDOW_H_
#define DISTKIT_CORE_LIMITERS_SLIDING_WINDOW_H_

#include <cstdint>
#include <deque>

#include "distkit/core/async/clock.h"
#include "distkit/core/base/status.h"

namespace distkit {

struct SlidingWindowLimit {
  std::int64_t limit = 1;                      // per window, at least 0
  Duration window = std::chrono::seconds(10);  // whole milliseconds
  Duration bucket = std::chrono::milliseconds(100);

  // 0 <= limit < 2^53; window and bucket whole milliseconds, 1 ms <= bucket <= window,
  // and window / bucket <= 1000 (the bucket count bounds each script's work).
  [[nodiscard]] Status validate() const;
  [[nodiscard]] std::int64_t window_ms() const;
  [[nodiscard]] std::int64_t bucket_ms() const;
};

struct WindowBucket {
  std::int64_t start_ms = 0;
  std::int64_t count = 0;
  friend bool operator==(const WindowBucket&, const WindowBucket&) = default;
};

struct WindowDecision {
  bool allowed = false;
  std::int64_t total = 0;  // live total after the call
  // When rejected: until the oldest bucket expires, and what could be taken then.
  Duration retry_after{0};
  std::int64_t remaining_after_waiting = 0;
  friend bool operator==(const WindowDecision&, const WindowDecision&) = default;
};

// Decides `count` (0: a read) at `now_ms` and updates `buckets` (expired ones dropped;
// the increment added when allowed). `committed` is added first, unconditionally: what
// a hybrid limiter already granted locally (it happened; it must count).
// REQUIRES: limit.validate().ok(), count >= 0, committed >= 0.
WindowDecision sliding_window_decide(std::deque<WindowBucket>& buckets,
                                     const SlidingWindowLimit& limit, std::int64_t now_ms,
                                     std::int64_t count, std::int64_t committed = 0);

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_SLIDING_WINDOW_H_
