// PosixDisk: the storage seam (core/seam/disk.h) over a directory of POSIX files, for
// a Raft member's log and snapshots (the WAL is the simulator's, unchanged).
//
// - write() is pwrite() at the offset: visible at once through the page cache.
// - sync() is fdatasync() and sync_directory() is fsync() of the directory, both run
//   on a sync thread of the disk's own so the executor's thread never blocks on the
//   device; the awaiting coroutine resumes on the executor.
// - A failed sync is kDataLoss and fail-stop: every later sync fails too, since after
//   a failed fsync the kernel may have dropped the data and report a retry as a success
//   (fsyncgate). Reopen the directory after a restart.
// - Names are plain file names: kInvalidArgument for one with '/', "." or "..".
// - open() creates the directory if needed and makes its creation durable (the parent
//   directories are synced), so a member's first acknowledgement cannot vanish with
//   its directory (etcd #6368).
// - Errors: kFailedPrecondition for a missing file and for what the operator must fix
//   (permissions, a read-only file system, a path that is not a directory),
//   kResourceExhausted for a full disk (ENOSPC, EDQUOT) or too many open files, and
//   kDataLoss for a failed sync or another I/O error (EIO).
//
// Thread safety: as the seam's (one caller at a time, on `executor`). Lifetime: a frame
// waiting in sync() must be destroyed before its file and the disk (an owner destroys
// its loops first); it is then never resumed, and the sync still running finishes on
// the sync thread. Destroy files and the disk on the executor's thread.
#ifndef DISTKIT_TRANSPORT_POSIX_DISK_H_
#define DISTKIT_TRANSPORT_POSIX_DISK_H_

#include <memory>
#include <string>
#include <vector>

#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/seam/disk.h"

namespace distkit::transport {

class SyncThread;

class PosixDisk final : public Disk {
 public:
  // The disk of `directory`, created (with its parents) if missing. Errors as above.
  [[nodiscard]] static Result<std::unique_ptr<PosixDisk>> open(Executor& executor,
                                                               std::string directory);
  ~PosixDisk() override;
  PosixDisk(const PosixDisk&) = delete;
  PosixDisk& operator=(const PosixDisk&) = delete;

  Result<std::unique_ptr<File>> open(const std::string& name, bool create) override;
  std::vector<std::string> list() const override;
  Status remove(const std::string& name) override;
  Status rename(const std::string& from, const std::string& to) override;
  Task<Status> sync_directory() override;

  [[nodiscard]] const std::string& directory() const { return directory_; }

 private:
  PosixDisk(Executor& executor, std::string directory, int directory_fd);
  [[nodiscard]] std::string path(const std::string& name) const;

  Executor& executor_;
  std::string directory_;
  int directory_fd_;
  std::shared_ptr<SyncThread> syncs_;
};

}  // namespace distkit::transport

#endif  // DISTKIT_TRANSPORT_POSIX_DISK_H_
