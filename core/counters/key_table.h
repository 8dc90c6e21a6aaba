// KeyTable<Entry>: the lock-free, insert-only table of per-key entries behind the lax
// counters' inc(). Lookups and inserts take no lock; entries live until the table
// does, at stable addresses, so callers keep plain pointers to them.
//
// Entry needs `explicit Entry(std::string_view key)` and a `const std::string key`.
// Entries are also listed in insertion order (for flushers): at(i) for i < size(),
// null while a concurrent insert is still publishing slot i.
#ifndef DISTKIT_CORE_COUNTERS_KEY_TABLE_H_
#define DISTKIT_CORE_COUNTERS_KEY_TABLE_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "distkit/core/base/status.h"

namespace distkit {

template <typename Entry>
class KeyTable {
 public:
  // At most `max_keys` entries (a few more under concurrent inserts).
  explicit KeyTable(std::size_t max_keys) : max_keys_(max_keys) {
    capacity_ = 16;
    while (capacity_ < 2 * max_keys_)
      capacity_ *= 2;
    // Value-initialised: every slot starts null (C++20 atomics).
    slots_ = std::make_unique<std::atomic<Entry*>[]>(capacity_);
    // As large as the table: concurrent inserts may pass max_keys by a few entries.
    order_ = std::make_unique<std::atomic<Entry*>[]>(capacity_);
  }
  ~KeyTable() {
    for (std::size_t i = 0, n = size_.load(); i < n; ++i)
      delete order_[i].load();
  }
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  [[nodiscard]] Entry* find(std::string_view key) const {
    const std::size_t mask = capacity_ - 1;
    for (std::size_t i = std::hash<std::string_view>{}(key)&mask, probes = 0; probes < capacity_;
         i = (i + 1) & mask, ++probes) {
      Entry* e = slots_[i].load(std::memory_order_acquire);
      if (e == nullptr) return nullptr;
      if (e->key == key) return e;
    }
    return nullptr;
  }

  // The key must have been validated. kResourceExhausted once the table is full.
  [[nodiscard]] Result<Entry*> find_or_insert(std::string_view key) {
    if (Entry* e = find(key)) return e;
    const std::size_t mask = capacity_ - 1;
    std::unique_ptr<Entry> fresh;
    for (std::size_t i = std::hash<std::string_view>{}(key)&mask;; i = (i + 1) & mask) {
      Entry* e = slots_[i].load(std::memory_order_acquire);
      if (e == nullptr) {
        if (size_.load() >= max_keys_) {
          return resource_exhausted_error("a lax counter holds at most " +
                                          std::to_string(max_keys_) + " keys");
        }
        if (!fresh) fresh = std::make_unique<Entry>(key);
        if (slots_[i].compare_exchange_strong(e, fresh.get(), std::memory_order_acq_rel)) {
          order_[size_.fetch_add(1)].store(fresh.get(), std::memory_order_release);
          return fresh.release();
        }
        // Lost the race for this slot: `e` now holds the winner; fall through.
      }
      if (e->key == key) return e;
    }
  }

  [[nodiscard]] std::size_t size() const { return size_.load(); }
  [[nodiscard]] Entry* at(std::size_t i) const { return order_[i].load(std::memory_order_acquire); }

 private:
  std::size_t max_keys_;
  std::size_t capacity_ = 0;
  std::unique_ptr<std::atomic<Entry*>[]> slots_;
  std::unique_ptr<std::atomic<Entry*>[]> order_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace distkit

#endif  // DISTKIT_CORE_COUNTERS_KEY_TABLE_H_
