// The storage seam: files in one directory, for the Raft log. transport/ will implement
// it over POSIX files; sim/disk over a simulated disk that loses what was not synced
// when its node crashes. Like leveldb's Env, the contract says exactly what survives.
//
// Contract:
// - write() and truncate() are visible to read_all() at once and durable only after a
//   sync() of that file returns OK.
// - open(create), rename() and remove() change the directory at once; the change is
//   durable only after sync_directory() returns OK (a file whose creation was not made
//   durable may vanish in a crash, even if its contents were synced: etcd #6368).
// - After a crash, what was durable is there; of the rest, any part may be there or
//   not, and a write may be torn at 512-byte sectors (some of its sectors there, others
//   not).
// - A sync() or sync_directory() that fails leaves the state unknown: the caller must
//   stop using the disk (PostgreSQL's "fsyncgate": a retried fsync can report success
//   for data the kernel already dropped). Errors are kDataLoss then.
// - Names are plain file names (is_plain_file_name): kInvalidArgument otherwise.
// - Errors: kFailedPrecondition for a missing file or a handle from before a crash,
//   kResourceExhausted for a full disk, kDataLoss for a failed sync.
//
// Thread safety: one caller at a time (the node's executor).
#ifndef DISTKIT_CORE_SEAM_DISK_H_
#define DISTKIT_CORE_SEAM_DISK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"

namespace distkit {

// Not empty, not "." or "..", no '/' and no NUL: a name inside the directory.
[[nodiscard]] inline bool is_plain_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

class File {
 public:
  virtual ~File() = default;
  [[nodiscard]] virtual Result<std::string> read_all() = 0;
  // Writes `bytes` at `offset`, extending the file (with zeros before it if needed).
  [[nodiscard]] virtual Status write(std::uint64_t offset, std::string_view bytes) = 0;
  [[nodiscard]] virtual Status truncate(std::uint64_t size) = 0;
  [[nodiscard]] virtual Task<Status> sync() = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;
  // The file `name`; with `create`, made empty if it does not exist.
  [[nodiscard]] virtual Result<std::unique_ptr<File>> open(const std::string& name,
                                                           bool create) = 0;
  // The names in the directory, sorted.
  [[nodiscard]] virtual std::vector<std::string> list() const = 0;
  [[nodiscard]] virtual Status remove(const std::string& name) = 0;
  // Replaces `to` if it exists.
  [[nodiscard]] virtual Status rename(const std::string& from, const std::string& to) = 0;
  [[nodiscard]] virtual Task<Status> sync_directory() = 0;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_DISK_H_
